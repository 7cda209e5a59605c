"""The published snapshot file as `traction serve` serves it: the last valid snapshot,
re-read and validated only when the file's identity (mtime, size, inode) changed. A file
that turns invalid or unreadable is logged and the last valid snapshot is kept; a removed
file is taken as deliberate: nothing to serve until a snapshot is published again."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from schemas.filewatch import FileWatch
from schemas.snapshot import Snapshot

log = logging.getLogger("traction.serve")


@dataclass(frozen=True)
class LoadedSnapshot:
    """A validated snapshot and the exact bytes it was read from."""

    snapshot: Snapshot
    body: bytes

    @property
    def etag(self) -> str:
        return f'"{self.snapshot.content_hash}"'


class SnapshotFile:
    """The last valid snapshot at a path, re-read only when the file changed."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.loads = 0
        self._lock = threading.Lock()
        self._watch = FileWatch(self.path)
        self._good: LoadedSnapshot | None = None
        self._problem: str | None = "missing"

    def current(self) -> tuple[LoadedSnapshot | None, str | None]:
        """(the snapshot to serve or None, the file's problem if it has one).

        One `os.stat` per call; several request threads may ask at once, the lock makes
        one of them do the re-read.
        """
        with self._lock:
            was_file = self._watch.identity is not None
            changed = self._watch.changed()
            if not self._watch.present:
                if was_file or self._good is not None:
                    log.warning("snapshot %s is gone; serving none until republished", self.path)
                self._good, self._problem = None, "missing"
                return None, self._problem
            if not self._watch.regular:  # a FIFO or a device would block the read
                problem = "unreadable: not a regular file"
                if self._problem != problem:
                    log.warning("snapshot %s is not a regular file; serving none", self.path)
                self._good, self._problem = None, problem
                return None, self._problem
            if changed:
                self._load()
            return self._good, self._problem

    def _load(self) -> None:
        self.loads += 1
        try:
            body = self.path.read_bytes()
            snapshot = Snapshot.model_validate_json(body)
        except OSError as exc:
            self._problem = f"unreadable: {exc.strerror or exc}"
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "document"
            self._problem = f"invalid: {where}: {first['msg']}"
        else:
            self._good, self._problem = LoadedSnapshot(snapshot, body), None
            log.info("loaded snapshot v%d from %s", snapshot.version, self.path)
            return
        kept = f"keeping snapshot v{self._good.snapshot.version}" if self._good else "none to serve"
        log.warning("snapshot %s is %s; %s", self.path, self._problem, kept)
