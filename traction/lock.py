"""One traction writer per data directory.

DuckDB itself refuses a second writer only while the first holds the file, and the
daemon lets go of it between jobs (so analysts can read): without a lock of our own a
second daemon, or a cron run beside a daemon, would interleave runs. The lock is an
advisory `flock` on `<database>.lock`, released by the kernel when the process dies,
so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from schemas.errors import EXIT_LOCKED, TractionError


class DataDirLocked(TractionError):
    """Another traction process works on this database."""

    exit_code = EXIT_LOCKED


class DataDirLock:
    def __init__(self, database: str | os.PathLike[str]):
        self.path = Path(f"{database}.lock")
        self._handle = None

    def acquire(self) -> DataDirLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise DataDirLocked(
                f"another traction process (pid {holder}) is working on {self.path.parent}/;"
                " refusing to run beside it (stop it, or point --config at another database)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> DataDirLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
