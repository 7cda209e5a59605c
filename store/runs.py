"""The `runs` table: every ingest and publish run, its status and its counts. All the
SQL that reads or writes `runs` is here."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import duckdb

from schemas.rows import RunStatus

from .connection import naive_utc, rows, scalar, transaction, utcnow


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
    status: RunStatus,
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


# A run whose source delivered a usable payload.
GOOD_STATUSES = ("ok", "unchanged", "degraded")


def last_payload_hash(con: duckdb.DuckDBPyConnection, source: str) -> str | None:
    return scalar(
        con,
        "SELECT payload_hash FROM runs WHERE kind = 'ingest' AND source = ? AND payload_hash"
        f" IS NOT NULL AND status IN {GOOD_STATUSES}"
        " ORDER BY started_at DESC LIMIT 1",
        [source],
    )


def last_success(con: duckdb.DuckDBPyConnection, source: str) -> datetime | None:
    """When the source last delivered a usable payload (naive UTC)."""
    return scalar(
        con,
        "SELECT max(started_at) FROM runs WHERE kind = 'ingest' AND source = ?"
        f" AND status IN {GOOD_STATUSES}",
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
    status: RunStatus,
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


def last_started(con: duckdb.DuckDBPyConnection, source: str) -> datetime | None:
    """When the source's last ingest run started, whatever its outcome (naive UTC)."""
    return scalar(
        con, "SELECT max(started_at) FROM runs WHERE kind = 'ingest' AND source = ?", [source]
    )


def requests_since(
    con: duckdb.DuckDBPyConnection, since: datetime, sources: list[str]
) -> list[tuple[datetime, int]]:
    """(started_at, requests) of the ingest runs of `sources` since `since` that sent any."""
    return rows(
        con,
        "SELECT started_at, requests FROM runs WHERE kind = 'ingest' AND started_at >= ?"
        " AND requests > 0 AND source IN (SELECT unnest(?))",
        [since, sources],
    )


def ingest_run(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[str, datetime] | None:
    """(source, started_at) of an ingest run, or None if there is no such run."""
    found = rows(
        con, "SELECT source, started_at FROM runs WHERE run_id = ? AND kind = 'ingest'", [run_id]
    )
    return found[0] if found else None


def last_compaction(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the file was last rewritten (`store.compact`, recorded as a `compact` run)."""
    return scalar(con, "SELECT max(started_at) FROM runs WHERE kind = 'compact' AND status = 'ok'")


def set_note(con: duckdb.DuckDBPyConnection, run_id: str, note: str) -> None:
    con.execute("UPDATE runs SET note = ? WHERE run_id = ?", [note, run_id])


def publish_run_started_at(con: duckdb.DuckDBPyConnection, started_at: datetime) -> str | None:
    """The id of the publish run that started at `started_at`, if any."""
    return scalar(
        con,
        "SELECT run_id FROM runs WHERE kind = 'publish' AND started_at = ?"
        " ORDER BY started_at DESC LIMIT 1",
        [started_at],
    )


def stored_since_last_publish(con: duckdb.DuckDBPyConnection) -> int:
    """How many ingest runs stored facts after the last publish run that scored the store
    (published, or refused by a guard). By `finished_at`: the wall clock at commit."""
    return scalar(
        con,
        "SELECT count(*) FROM runs WHERE kind = 'ingest' AND records_stored > 0"
        " AND finished_at > coalesce((SELECT max(finished_at) FROM runs"
        "  WHERE kind = 'publish' AND status IN ('ok', 'refused')), '-infinity'::TIMESTAMP)",
    )


def latest_ingest_runs(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Each source's latest ingest run, as a dict of its columns, ordered by source."""
    cursor = con.execute(
        "SELECT source, run_id, status, started_at, finished_at, records_fetched,"
        " records_stored, records_quarantined, records_duplicate, records_ignored, vintage,"
        " error, requests, origin, replay_of, quarantine_reasons FROM ("
        "  SELECT *, row_number() OVER (PARTITION BY source ORDER BY started_at DESC) AS n"
        "  FROM runs WHERE kind = 'ingest') WHERE n = 1 ORDER BY source"
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def ingest_totals(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(source, status, runs, records stored, records quarantined) over every ingest run."""
    return rows(
        con,
        "SELECT source, status, count(*), sum(records_stored), sum(records_quarantined)"
        " FROM runs WHERE kind = 'ingest' GROUP BY ALL",
    )


def last_successes(con: duckdb.DuckDBPyConnection) -> list[tuple[str, datetime]]:
    """(source, when it last delivered a usable payload) of every source that ever did."""
    return rows(
        con,
        "SELECT source, max(started_at) FROM runs WHERE kind = 'ingest'"
        f" AND status IN {GOOD_STATUSES} GROUP BY source",
    )


def recent_runs(con: duckdb.DuckDBPyConnection, limit: int) -> list[dict]:
    """The latest `limit` runs of any kind, newest first, as dicts (source '-' if none)."""
    cursor = con.execute(
        "SELECT kind, coalesce(source, '-') AS source, status, started_at, finished_at,"
        " records_stored, records_quarantined, error FROM runs"
        " ORDER BY started_at DESC LIMIT ?",
        [limit],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
