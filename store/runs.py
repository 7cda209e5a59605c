"""The `runs` table: every ingest and publish run, its status and its counts. All the
SQL that reads or writes `runs` is here."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import duckdb

from .connection import naive_utc, scalar, transaction, utcnow


def new_run_id() -> str:
    return utcnow().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def start_run(
    con: duckdb.DuckDBPyConnection, kind: str, source: str | None, started_at: datetime
) -> str:
    run_id = new_run_id()
    con.execute(
        "INSERT INTO runs (run_id, kind, source, started_at, status)"
        " VALUES (?, ?, ?, ?, 'running')",
        [run_id, kind, source, naive_utc(started_at)],
    )
    return run_id


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    status: str,
    *,
    error: str | None = None,
    vintage: str | None = None,
    fetched: int = 0,
    stored: int = 0,
    quarantined: int = 0,
    payload_hash: str | None = None,
) -> None:
    con.execute(
        "UPDATE runs SET finished_at = ?, status = ?, error = ?, vintage = ?, records_fetched = ?,"
        " records_stored = ?, records_quarantined = ?, payload_hash = ? WHERE run_id = ?",
        [utcnow(), status, error, vintage, fetched, stored, quarantined, payload_hash, run_id],
    )


def close_interrupted(con: duckdb.DuckDBPyConnection) -> int:
    """Mark every run still `running` as `interrupted`: call it holding the data-directory
    lock, when no run of a live process can be in progress. Returns how many."""
    with transaction(con):
        count = scalar(con, "SELECT count(*) FROM runs WHERE status = 'running'") or 0
        con.execute(
            "UPDATE runs SET status = 'interrupted', finished_at = ?,"
            " error = coalesce(error, 'the process ended before the run finished')"
            " WHERE status = 'running'",
            [utcnow()],
        )
    return count


def last_payload_hash(con: duckdb.DuckDBPyConnection, source: str) -> str | None:
    return scalar(
        con,
        "SELECT payload_hash FROM runs WHERE kind = 'ingest' AND source = ? AND payload_hash"
        " IS NOT NULL AND status IN ('ok', 'degraded', 'unchanged')"
        " ORDER BY started_at DESC LIMIT 1",
        [source],
    )


GOOD_STATUSES = ("ok", "unchanged", "degraded")


def last_success(con: duckdb.DuckDBPyConnection, source: str) -> datetime | None:
    """When the source last delivered a usable payload (naive UTC)."""
    return scalar(
        con,
        "SELECT max(started_at) FROM runs WHERE kind = 'ingest' AND source = ?"
        " AND status IN ('ok', 'unchanged', 'degraded')",
        [source],
    )


def last_status(con: duckdb.DuckDBPyConnection, source: str) -> str | None:
    return scalar(
        con,
        "SELECT status FROM runs WHERE kind = 'ingest' AND source = ?"
        " ORDER BY started_at DESC LIMIT 1",
        [source],
    )


def record_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    source: str,
    started_at: datetime,
    status: str,
    *,
    error: str | None,
    vintage: str | None,
    fetched: int,
    quarantined: int,
    duplicates: int,
    ignored: int,
    payload_hash: str | None,
    requests: int,
    origin: str,
    replay_of: str | None,
    reasons: dict[str, int],
) -> None:
    """An ingest run's row, written in the same transaction as its facts."""
    con.execute(
        "INSERT INTO runs (run_id, kind, source, started_at, finished_at, status, vintage,"
        " records_fetched, records_stored, records_quarantined, payload_hash, error, requests,"
        " replay_of, origin, quarantine_reasons, records_duplicate, records_ignored)"
        " VALUES (?, 'ingest', ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            source,
            naive_utc(started_at),
            utcnow(),
            status,
            vintage,
            fetched,
            quarantined,
            payload_hash,
            error,
            requests,
            replay_of,
            origin,
            json.dumps(reasons),
            duplicates,
            ignored,
        ],
    )


def set_stored(con: duckdb.DuckDBPyConnection, run_id: str, stored: int) -> None:
    con.execute("UPDATE runs SET records_stored = ? WHERE run_id = ?", [stored, run_id])
