"""Pick the snapshot transport for a spec: a file path, a `traction serve` URL, or a
fleet's `redis://` URL. Every transport is a `SnapshotSource` (`snapshot_source.py`)."""

from __future__ import annotations

from schemas.fleet import REDIS_SCHEMES
from schemas.signing import key_from_env

from .snapshot_file import SnapshotReader
from .snapshot_http import HttpSnapshotSource
from .snapshot_source import DEFAULTS, SnapshotSource


def open_source(
    location: str,
    check_interval: float = DEFAULTS.check_interval,
    refresh_interval: float = DEFAULTS.refresh_interval,
) -> SnapshotSource:
    """A file path, an http(s) URL served by `traction serve`, or a fleet's redis:// URL.

    With `TRACTION_SNAPSHOT_KEY` set, every transport refuses unsigned or wrongly signed
    snapshots (ValueError here if the key is too short to be safe)."""
    key = key_from_env()
    text = str(location)
    if text.startswith(REDIS_SCHEMES):
        from .snapshot_redis import RedisSnapshotSource  # redis-py only for redis:// users

        return RedisSnapshotSource(text, refresh_interval=refresh_interval, key=key)
    if text.startswith(("http://", "https://")):
        return HttpSnapshotSource(text, refresh_interval=refresh_interval, key=key)
    return SnapshotReader(text, check_interval=check_interval, key=key)
