"""The one interface every snapshot transport implements, as httpx's `BaseTransport` is
for its transports: the ranking only ever calls `current()` and reads `location`.

`SnapshotReader` (a file), `HttpSnapshotSource` (a `traction serve` URL) and
`RedisSnapshotSource` (a fleet's Redis) subclass it; `transports.open_source` picks one
by the snapshot's spec. The two polled transports share `PolledSource`
(`snapshot_polled.py`): the background thread, the interval and the last good copy.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from schemas.config import AdapterConfig

if TYPE_CHECKING:
    from .snapshot_file import SnapshotView

# The adapter's defaults (register, Ranker, the transports) are the [adapter] section's.
DEFAULTS = AdapterConfig()


class SnapshotSource:
    """Where the adapter gets its snapshot from.

    `current()` is on every request's path: it must answer from memory (the file reader
    at most stats the file once per `check_interval`), never block on the network."""

    location: str  # where the snapshot comes from, for logs (a password redacted)
    loads = 0  # valid snapshots taken in
    refused = 0  # documents refused (unsigned, wrongly signed, a replay)
    # The view `current()` answers with while nothing needs checking: the ranking's fast
    # path compares it by identity instead of calling `current()` on every request.
    view: SnapshotView | None = None

    def current(self) -> tuple[SnapshotView | None, str | None]:
        """(view, None) when a valid snapshot is loaded, else (None, why not)."""
        raise NotImplementedError  # pragma: no cover

    def recheck_at(self) -> float:
        """The `time.monotonic()` from which `current()` must be called again to notice a
        change (the file reader's next stat); a polled source's `view` changes on its own."""
        return math.inf

    def close(self) -> None:
        """Stop following the snapshot (a polled source's thread ends); idempotent."""

    def __enter__(self) -> SnapshotSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
