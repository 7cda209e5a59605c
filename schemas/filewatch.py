"""Has a file changed? The one "re-read when mtime, size or inode change" check that the
caches of the snapshot file (worker and adapter) and of the analytics copy share.
Standard library only: the adapter imports it too."""

from __future__ import annotations

import os
import stat
from pathlib import Path

_FORGOTTEN = (-1, -1, -1)  # differs from every identity and from None: the next check changes


class FileWatch:
    """A file's identity (mtime, size, inode) as of the last `changed()`."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.identity: tuple[int, int, int] | None = None
        self.present = False
        self.regular = False  # a FIFO or a device is present but not regular: reads block

    def changed(self) -> bool:
        """One `os.stat`: True when the identity differs from the last call's (the file
        appeared, went, or was replaced or rewritten). The identity is None while the
        file is missing or not a regular file."""
        identity = None
        try:
            st = os.stat(self.path)
        except OSError:
            self.present = self.regular = False
        else:
            self.present, self.regular = True, stat.S_ISREG(st.st_mode)
            if self.regular:
                identity = (st.st_mtime_ns, st.st_size, st.st_ino)
        changed = identity != self.identity
        self.identity = identity
        return changed

    def forget(self) -> None:
        """Make the next `changed()` say True (a read failed: try again next time)."""
        self.identity = _FORGOTTEN
