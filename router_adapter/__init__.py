"""Rank a LiteLLM model group's healthy deployments by traction's published snapshot.

Thin on purpose: imports `schemas` and (lazily, inside `register`) litellm; never
duckdb, polars, httpx or apscheduler. Whenever the snapshot is missing, unreadable,
invalid or stale, it serves the first healthy deployment in configured order.

    from router_adapter import register
    register(router, snapshot="traction-data/snapshot.json")

`snapshot` may also be a `traction serve` URL or a fleet's `redis://` URL (redis-py is
imported only then). With `TRACTION_SNAPSHOT_KEY` set, unsigned or wrongly signed
snapshots are refused on every transport (`refusals()` counts them).
"""

from __future__ import annotations

from .matching import match_deployment
from .ranking import Ranker, stats
from .snapshot_file import SnapshotReader, SnapshotRefused, SnapshotView, refusals
from .snapshot_http import HttpSnapshotSource
from .snapshot_source import SnapshotSource
from .strategy import TractionStrategy, register
from .transports import open_source

__all__ = [
    "register",
    "Ranker",
    "HttpSnapshotSource",
    "open_source",
    "stats",
    "refusals",
    "SnapshotRefused",
    "TractionStrategy",
    "SnapshotReader",
    "SnapshotSource",
    "SnapshotView",
    "match_deployment",
]
