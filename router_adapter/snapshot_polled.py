"""What the two polled transports (HTTP and Redis) share: a daemon thread that fetches the
snapshot off the request path, the last good copy it keeps, and how it is stopped.

The request path (`current()`) only reads the last good view: a slow, dead or poisoned
server never delays or fails a request, it only lets the data age until the usual stale
fallback (`max_age`, `stale_after`) applies. A document that is invalid or refused never
replaces the last good one.
"""

from __future__ import annotations

import logging
import threading
from typing import Literal

from pydantic import ValidationError

from schemas.snapshot import Snapshot

from .snapshot_file import (
    SnapshotRefused,
    SnapshotView,
    count_refusal,
    describe_invalid,
    load_snapshot,
)
from .snapshot_source import SnapshotSource

log = logging.getLogger("traction.adapter")

Outcome = Literal["loaded", "refused", "invalid"]


class PolledSource(SnapshotSource):
    """A snapshot fetched every `refresh_interval` seconds by a background thread.

    A subclass sets `location`, then calls `_start(thread name)`; the thread runs `_run`,
    which by default calls `refresh()` every `refresh_interval` seconds (Redis replaces
    it with its subscription). `refresh` hands each document it fetches to `_take`."""

    # what an invalid document's warning says the location did with it
    invalid_verb = "served"

    def __init__(self, refresh_interval: float, timeout: float, key: bytes | None):
        self.refresh_interval = refresh_interval
        self.timeout = timeout
        self.key = key
        self.loads = 0
        self.refused = 0
        self.view: SnapshotView | None = None
        self._problem: str | None = "missing"
        self._stop = threading.Event()
        self._first = threading.Event()

    def _start(self, name: str) -> None:
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def current(self) -> tuple[SnapshotView | None, str | None]:
        """No I/O: the last good view, or why there is none."""
        return self.view, (None if self.view else self._problem)

    def wait_first(self, timeout: float) -> bool:
        """For tests and start-up scripts: block until the first fetch attempt finished."""
        return self._first.wait(timeout)

    def close(self) -> None:
        self._stop.set()

    def refresh(self) -> None:
        """One fetch; on any failure the last good view stays."""
        raise NotImplementedError  # pragma: no cover

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception:  # the refresher must outlive any surprise
                log.exception("traction: snapshot refresh failed")
            self._first.set()
            self._stop.wait(self.refresh_interval)

    def _admit(self, snapshot: Snapshot) -> None:
        """Raise SnapshotRefused for a valid snapshot this transport must not route on."""

    def _take(self, data: bytes) -> Outcome:
        """Validate `data` and make it the view in use, unless it is invalid or refused
        (then the last good view stays, and the problem says why when there is none)."""
        try:
            snapshot = load_snapshot(data, self.key)
            self._admit(snapshot)
        except SnapshotRefused as exc:
            self.refused += 1
            self._problem = f"refused: {exc}"
            count_refusal(self.location, exc, self.view)
            return "refused"
        except ValidationError as exc:
            self._problem = describe_invalid(exc)
            log.warning(
                "traction: %s %s an invalid snapshot (%s); keeping the last good one",
                self.location,
                self.invalid_verb,
                self._problem,
            )
            return "invalid"
        self.view = SnapshotView.from_snapshot(snapshot)
        self._problem = None
        self.loads += 1
        return "loaded"
