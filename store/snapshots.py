"""Published snapshots: `snapshots` (each document as published) and `scores` (its
models, one row each)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import duckdb

from .connection import delete_counted, naive_utc, rows, scalar, utcnow


def thin_snapshots(con: duckdb.DuckDBPyConnection, older_than_days: int) -> int:
    """Keep one published snapshot per day (the day's last) once it is older than this,
    with its scores; returns how many snapshots went. A worker publishing hourly with a
    large catalogue otherwise stores a megabyte or more per hour, forever, while "what did
    the router believe then" needs minute precision only for recent history."""
    return delete_counted(
        con,
        "snapshots",
        [
            "DELETE FROM snapshots s WHERE s.generated_at < ? AND s.version <"
            " (SELECT max(i.version) FROM snapshots i"
            "  WHERE i.generated_at::DATE = s.generated_at::DATE)",
            "DELETE FROM scores WHERE computed_at < ?"
            " AND run_id NOT IN (SELECT run_id FROM snapshots)",
        ],
        utcnow() - timedelta(days=older_than_days),
    )


def last_snapshot_version(con: duckdb.DuckDBPyConnection) -> int:
    """The newest snapshot version this database recorded (0: none yet)."""
    return scalar(con, "SELECT coalesce(max(version), 0) FROM snapshots")


def latest_snapshot(con: duckdb.DuckDBPyConnection) -> tuple[int, datetime] | None:
    """(version, generated_at) of the newest recorded snapshot, or None."""
    found = rows(con, "SELECT version, generated_at FROM snapshots ORDER BY version DESC LIMIT 1")
    return found[0] if found else None


def latest_snapshot_summary(
    con: duckdb.DuckDBPyConnection, table: str = "snapshots"
) -> tuple | None:
    """(version, generated_at, published_at, content_hash, path, model count) of the newest
    snapshot, or None. `table`: `snapshots`, or `snapshot_documents` in the analytics copy."""
    if table not in ("snapshots", "snapshot_documents"):
        raise ValueError(f"not a snapshot table: {table!r}")
    found = rows(
        con,
        "SELECT version, generated_at, published_at, content_hash, path,"
        f" json_array_length(body -> '$.models') FROM {table}"
        " ORDER BY version DESC LIMIT 1",
    )
    return found[0] if found else None


def snapshot_body_at(con: duckdb.DuckDBPyConnection, at: datetime | None) -> str | None:
    """The document of the latest snapshot generated at or before `at` (the newest version
    of equal ones), or without `at` the newest recorded; None if there is none."""
    if at is None:
        found = rows(con, "SELECT body FROM snapshots ORDER BY version DESC LIMIT 1")
    else:
        found = rows(
            con,
            "SELECT body FROM snapshots WHERE generated_at <= ?"
            " ORDER BY generated_at DESC, version DESC LIMIT 1",
            [naive_utc(at)],
        )
    return found[0][0] if found else None


def latest_model_keys(con: duckdb.DuckDBPyConnection) -> set[str] | None:
    """The model keys of the newest recorded snapshot (None: none, or it had no models)."""
    found = rows(
        con,
        "SELECT json_extract_string(body, '$.models[*].key') FROM snapshots"
        " ORDER BY version DESC LIMIT 1",
    )
    if not found or not found[0][0]:
        return None
    keys = found[0][0]
    return set(json.loads(keys) if isinstance(keys, str) else keys)


def snapshot_hash(con: duckdb.DuckDBPyConnection, version: int) -> str | None:
    """The content hash recorded for a snapshot version, or None if none was recorded."""
    return scalar(con, "SELECT content_hash FROM snapshots WHERE version = ?", [version])


def record_snapshot(
    con: duckdb.DuckDBPyConnection,
    version: int,
    run_id: str,
    generated_at: datetime,
    published_at: datetime,
    content_hash: str,
    path: str,
    body: str,
) -> None:
    con.execute(
        "INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            version,
            run_id,
            naive_utc(generated_at),
            naive_utc(published_at),
            content_hash,
            path,
            body,
        ],
    )


def record_scores(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    computed_at: datetime,
    keys: list[str],
    ranks: list[int],
    scores: list[float],
    confidences: list[str],
    trends: list[str],
    components: list[str],
) -> None:
    """A snapshot's models, one row each. One statement, a list per column: binding 8
    parameters a row costs seconds at 20k."""
    con.execute(
        "INSERT INTO scores SELECT ?, ?, unnest(?::VARCHAR[]), unnest(?::INTEGER[]),"
        " unnest(?::DOUBLE[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]),"
        " unnest(?::VARCHAR[])::JSON",
        [run_id, naive_utc(computed_at), keys, ranks, scores, confidences, trends, components],
    )


def top_ranked_openrouter_ids(con: duckdb.DuckDBPyConnection, limit: int) -> list[str]:
    """The OpenRouter ids (variants left out) of the newest snapshot's best-ranked models,
    best first."""
    found = rows(
        con,
        "SELECT c.model_id FROM scores s"
        " JOIN catalog c ON c.source = 'openrouter' AND c.model_id NOT LIKE '%:%'"
        "  AND s.model_key = lower(coalesce(c.hugging_face_id, c.model_id))"
        " WHERE s.run_id = (SELECT run_id FROM snapshots ORDER BY version DESC LIMIT 1)"
        " ORDER BY s.rank LIMIT ?",
        [limit],
    )
    return [row[0] for row in found]
