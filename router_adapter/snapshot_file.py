"""Read the snapshot file only when it changed, and say plainly when it cannot be trusted.

The request path calls `current()`: at most one `os.stat` per `check_interval`, and
a re-read only when the file's identity (mtime, size, inode) changed. Everything
the ranking needs is precomputed into a dict lookup when the file is loaded.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pydantic import ValidationError

from schemas.snapshot import Snapshot


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
    match_cache: dict[str, str | None] = field(default_factory=dict)

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


class SnapshotReader:
    """Last state of one snapshot file: a view, or the reason there is none."""

    def __init__(self, path: str | os.PathLike[str], check_interval: float = 1.0):
        self.path = Path(path)
        self.location = str(self.path)
        self.check_interval = check_interval
        self._lock = threading.Lock()
        self._identity: tuple[int, int, int] | None = None
        self._checked_at = float("-inf")
        self._view: SnapshotView | None = None
        self._problem: str | None = "missing"
        self.loads = 0

    def current(self) -> tuple[SnapshotView | None, str | None]:
        """(view, None) when a valid snapshot is loaded, else (None, why not)."""
        now = time.monotonic()
        if now - self._checked_at >= self.check_interval:
            self._refresh(now)
        return self._view, self._problem

    def _refresh(self, now: float) -> None:
        with self._lock:
            if now - self._checked_at < self.check_interval:
                return
            self._checked_at = now
            try:
                st = os.stat(self.path)
            except OSError:
                self._identity, self._view, self._problem = None, None, "missing"
                return
            identity = (st.st_mtime_ns, st.st_size, st.st_ino)
            if identity == self._identity:
                return
            self._identity = identity
            self.loads += 1
            try:
                data = self.path.read_bytes()
                snapshot = Snapshot.model_validate_json(data)
            except OSError as exc:
                self._view, self._problem = None, f"unreadable: {exc.strerror or exc}"
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "document"
                self._view, self._problem = None, f"invalid: {where}: {first['msg']}"
            else:
                self._view, self._problem = SnapshotView.from_snapshot(snapshot), None


def is_stale(view: SnapshotView, max_age: float | None, now: datetime | None = None) -> bool:
    now = now or datetime.now(timezone.utc)
    if now >= view.stale_after:
        return True
    return max_age is not None and (now - view.generated_at).total_seconds() > max_age
