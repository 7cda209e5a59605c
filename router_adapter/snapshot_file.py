"""Read the snapshot file only when it changed, and say plainly when it cannot be trusted.

The request path calls `current()`: at most one `os.stat` per `check_interval`, and
a re-read only when the file's identity (mtime, size, inode) changed. Everything
the ranking needs is precomputed into a dict lookup when the file is loaded.

Every transport (this file, HTTP, Redis) checks a document with `load_snapshot`: the
contract, and, when `TRACTION_SNAPSHOT_KEY` is set in the adapter's environment, the
signature. A refused document (unsigned, wrongly signed) never replaces the last good
one: whoever can write the file or the cache must not be able to steer traffic.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pydantic import ValidationError

from schemas.errors import TractionError
from schemas.filewatch import FileWatch
from schemas.signing import verify
from schemas.snapshot import Snapshot

from .snapshot_source import DEFAULTS, SnapshotSource

log = logging.getLogger("traction.adapter")

_refusals: Counter[str] = Counter()
_refusals_lock = threading.Lock()


class SnapshotRefused(TractionError):
    """A valid document the adapter must not route on.

    `kind` is what `refusals()` counts: `unsigned`, `bad-signature` or `older` (a replay
    of a snapshot older than the one in use); the message says it in words."""

    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind


def refusals() -> dict[str, int]:
    """Snapshots refused since this process started, by reason, over every source."""
    with _refusals_lock:
        return dict(_refusals)


def count_refusal(location: str, refused: SnapshotRefused, kept: SnapshotView | None) -> None:
    """Count and log one refused document; the caller keeps `kept` (the last good view)."""
    with _refusals_lock:
        _refusals[refused.kind] += 1
    log.warning(
        "traction: refused a snapshot from %s: %s; %s",
        location,
        refused,
        f"keeping the last good one (v{kept.version})" if kept else "no good snapshot yet",
    )


def load_snapshot(data: bytes | str, key: bytes | None) -> Snapshot:
    """The validated snapshot in `data`. Raises ValidationError (not the contract) or
    SnapshotRefused (with a key configured: unsigned, or not signed with that key)."""
    snapshot = Snapshot.model_validate_json(data)
    if key is not None and (problem := verify(snapshot, key)):
        kind = "unsigned" if snapshot.signature is None else "bad-signature"
        raise SnapshotRefused(kind, problem)
    return snapshot


def describe_invalid(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "document"
    return f"invalid: {where}: {first['msg']}"


@dataclass(frozen=True)
class ModelView:
    key: str
    score: float
    rank: int
    confidence: str
    trend: str


@dataclass
class SnapshotView:
    """A validated snapshot, indexed by every lowercase alias of every model."""

    version: int
    content_hash: str
    generated_at: datetime
    stale_after: datetime
    by_alias: dict[str, ModelView]
    # generated_at and stale_after as POSIX timestamps, for the request path's age checks
    generated_ts: float = field(init=False)
    stale_after_ts: float = field(init=False)

    def __post_init__(self) -> None:
        self.generated_ts = self.generated_at.timestamp()
        self.stale_after_ts = self.stale_after.timestamp()

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> SnapshotView:
        index: dict[str, ModelView] = {}
        for model in snapshot.models:
            view = ModelView(model.key, model.score, model.rank, model.confidence, model.trend)
            for alias in (model.key, *model.aliases):
                index[alias.lower()] = view
        return cls(
            version=snapshot.version,
            content_hash=snapshot.content_hash,
            generated_at=snapshot.generated_at,
            stale_after=snapshot.stale_after,
            by_alias=index,
        )

    def age_seconds(self, now: float | None = None) -> float:
        return (now if now is not None else time.time()) - self.generated_at.timestamp()


class SnapshotReader(SnapshotSource):
    """Last state of one snapshot file: a view, or the reason there is none."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        check_interval: float = DEFAULTS.check_interval,
        key: bytes | None = None,
    ):
        self.path = Path(path)
        self.location = str(self.path)
        self.check_interval = check_interval
        self.key = key
        self.refused = 0
        self._lock = threading.Lock()
        self._watch = FileWatch(self.path)
        self._checked_at = float("-inf")
        self.view: SnapshotView | None = None
        self._problem: str | None = "missing"
        self.loads = 0

    def current(self) -> tuple[SnapshotView | None, str | None]:
        """(view, None) when a valid snapshot is loaded, else (None, why not)."""
        now = time.monotonic()
        if now - self._checked_at >= self.check_interval:
            self._refresh(now)
        return self.view, self._problem

    def recheck_at(self) -> float:
        return self._checked_at + self.check_interval

    def _refresh(self, now: float) -> None:
        with self._lock:
            if now - self._checked_at < self.check_interval:
                return
            self._checked_at = now
            changed = self._watch.changed()
            if not self._watch.present:
                self.view, self._problem = None, "missing"
                return
            if not self._watch.regular:  # a FIFO or a device would block the request
                self.view, self._problem = None, "unreadable: not a regular file"
                return
            if not changed:
                return
            self.loads += 1
            try:
                data = self.path.read_bytes()
                snapshot = load_snapshot(data, self.key)
            except OSError as exc:
                self.view, self._problem = None, f"unreadable: {exc.strerror or exc}"
            except ValidationError as exc:
                self.view, self._problem = None, describe_invalid(exc)
            except SnapshotRefused as exc:
                self.refused += 1
                count_refusal(self.location, exc, self.view)
                if self.view is None:
                    self._problem = f"refused: {exc}"
            else:
                self.view, self._problem = SnapshotView.from_snapshot(snapshot), None


def is_stale(view: SnapshotView, max_age: float | None, now: datetime | None = None) -> bool:
    now = now or datetime.now(timezone.utc)
    if now >= view.stale_after:
        return True
    return max_age is not None and (now - view.generated_at).total_seconds() > max_age
