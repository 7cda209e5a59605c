"""Published snapshots: `snapshots` (each document as published) and `scores` (its
models, one row each)."""

from __future__ import annotations

from datetime import timedelta

import duckdb

from .connection import scalar, transaction, utcnow


def thin_snapshots(con: duckdb.DuckDBPyConnection, older_than_days: int) -> int:
    """Keep one published snapshot per day (the day's last) once it is older than this,
    with its scores; returns how many snapshots went. A worker publishing hourly with a
    large catalogue otherwise stores a megabyte or more per hour, forever, while "what did
    the router believe then" needs minute precision only for recent history."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    with transaction(con):
        before = scalar(con, "SELECT count(*) FROM snapshots")
        con.execute(
            "DELETE FROM snapshots s WHERE s.generated_at < ? AND s.version <"
            " (SELECT max(i.version) FROM snapshots i"
            "  WHERE i.generated_at::DATE = s.generated_at::DATE)",
            [cutoff],
        )
        con.execute(
            "DELETE FROM scores WHERE computed_at < ?"
            " AND run_id NOT IN (SELECT run_id FROM snapshots)",
            [cutoff],
        )
        return before - scalar(con, "SELECT count(*) FROM snapshots")
