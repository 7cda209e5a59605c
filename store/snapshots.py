"""Published snapshots: `snapshots` (each document as published, for the last
`ingest.snapshot_history_days`), `snapshot_archive` (the day's last of older days; both
read through the `published_snapshots` view, migration 009) and `scores` (a model's row
each time its rank, score, confidence or trend changed; its score at a snapshot is its
latest row at or before it)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import duckdb

from .connection import naive_utc, rows, scalar, transaction, utcnow


def thin_snapshots(con: duckdb.DuckDBPyConnection, older_than_days: int) -> int:
    """Keep one published snapshot per day (the day's last) once it is older than this,
    with its scores; returns how many snapshots went. A worker publishing hourly with a
    large catalogue otherwise stores a megabyte or more per hour, forever, while "what did
    the router believe then" needs minute precision only for recent history. The kept ones
    move to `snapshot_archive`, so `snapshots`, which every publish appends to (and
    DuckDB rewrites at each checkpoint), stays at about `older_than_days` of publishes."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    with transaction(con):
        before = scalar(con, "SELECT count(*) FROM published_snapshots")
        con.execute(
            "INSERT INTO snapshot_archive SELECT * FROM snapshots s WHERE s.generated_at < ?"
            " AND s.version = (SELECT max(i.version) FROM published_snapshots i"
            "  WHERE i.generated_at::DATE = s.generated_at::DATE)",
            [cutoff],
        )
        con.execute("DELETE FROM snapshots WHERE generated_at < ?", [cutoff])
        # A row is stored when the model's score changed, and stands for every later
        # snapshot until its next row: it goes only once no kept snapshot falls in that
        # span (its own snapshot thinned, superseded before the day's last).
        con.execute(
            "DELETE FROM scores s WHERE s.computed_at < ?"
            " AND s.run_id NOT IN (SELECT run_id FROM published_snapshots)"
            " AND NOT EXISTS (SELECT 1 FROM published_snapshots p WHERE p.version >= s.version"
            "  AND p.version < coalesce((SELECT min(n.version) FROM scores n"
            "   WHERE n.model_key = s.model_key AND n.version > s.version), 2147483647))",
            [cutoff],
        )
        return before - scalar(con, "SELECT count(*) FROM published_snapshots")


# The newest snapshot, found from the versions alone: its body is then read from one row,
# not sorted out of every stored document.
_NEWEST = "version = (SELECT max(version) FROM {table})"
_NEWEST_PUBLISHED = _NEWEST.format(table="published_snapshots")


def last_snapshot_version(con: duckdb.DuckDBPyConnection) -> int:
    """The newest snapshot version this database recorded (0: none yet)."""
    return scalar(con, "SELECT coalesce(max(version), 0) FROM published_snapshots")


def latest_snapshot(con: duckdb.DuckDBPyConnection) -> tuple[int, datetime] | None:
    """(version, generated_at) of the newest recorded snapshot, or None."""
    found = rows(
        con, "SELECT version, generated_at FROM published_snapshots ORDER BY version DESC LIMIT 1"
    )
    return found[0] if found else None


def latest_snapshot_summary(
    con: duckdb.DuckDBPyConnection, table: str = "published_snapshots"
) -> tuple | None:
    """(version, generated_at, published_at, content_hash, path, model count) of the newest
    snapshot, or None. `table`: `published_snapshots`, or `snapshot_documents` in the
    analytics copy."""
    if table not in ("published_snapshots", "snapshot_documents"):
        raise ValueError(f"not a snapshot table: {table!r}")
    found = rows(
        con,
        "SELECT version, generated_at, published_at, content_hash, path,"
        f" json_array_length(body -> '$.models') FROM {table} WHERE {_NEWEST.format(table=table)}",
    )
    return found[0] if found else None


def snapshot_body_at(con: duckdb.DuckDBPyConnection, at: datetime | None) -> str | None:
    """The document of the latest snapshot generated at or before `at` (the newest version
    of equal ones), or without `at` the newest recorded; None if there is none."""
    if at is None:
        found = rows(con, f"SELECT body FROM published_snapshots WHERE {_NEWEST_PUBLISHED}")
    else:
        found = rows(
            con,
            "SELECT body FROM published_snapshots WHERE version = (SELECT version"
            " FROM published_snapshots WHERE generated_at <= ?"
            " ORDER BY generated_at DESC, version DESC LIMIT 1)",
            [naive_utc(at)],
        )
    return found[0][0] if found else None


def latest_model_keys(con: duckdb.DuckDBPyConnection) -> set[str] | None:
    """The model keys of the newest recorded snapshot (None: none, or it had no models)."""
    found = rows(
        con,
        "SELECT json_extract_string(body, '$.models[*].key') FROM published_snapshots"
        f" WHERE {_NEWEST_PUBLISHED}",
    )
    if not found or not found[0][0]:
        return None
    keys = found[0][0]
    return set(json.loads(keys) if isinstance(keys, str) else keys)


def snapshot_hash(con: duckdb.DuckDBPyConnection, version: int) -> str | None:
    """The content hash recorded for a snapshot version, or None if none was recorded."""
    return scalar(con, "SELECT content_hash FROM published_snapshots WHERE version = ?", [version])


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


SCORE_TERMS = (
    "momentum_score",
    "cost_points",
    "blended_usd_per_mtok",
    "agreement",
    "confidence_weight",
)


def record_scores(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    version: int,
    computed_at: datetime,
    keys: list[str],
    ranks: list[int],
    scores: list[float],
    confidences: list[str],
    trends: list[str],
    components: list[str],
) -> int:
    """A snapshot's models whose rank, score, confidence or trend changed since the model's
    previous stored row (its greatest `version`), one row each, the scalar terms typed;
    returns how many. One statement, a list per column: binding 8 parameters a row
    costs seconds at 20k."""
    terms = ", ".join(f"TRY_CAST(n.components ->> '$.{term}' AS DOUBLE)" for term in SCORE_TERMS)
    inserted = con.execute(
        "INSERT INTO scores (run_id, version, computed_at, model_key, rank, score,"
        f" confidence, trend, components, {', '.join(SCORE_TERMS)})"
        f" SELECT n.run_id, n.version, n.computed_at, n.model_key, n.rank, n.score, n.confidence,"
        f" n.trend, n.components, {terms} FROM ("
        "  SELECT ? AS run_id, ?::INTEGER AS version, ?::TIMESTAMP AS computed_at,"
        "   unnest(?::VARCHAR[]) AS model_key, unnest(?::INTEGER[]) AS rank,"
        "   unnest(?::DOUBLE[]) AS score, unnest(?::VARCHAR[]) AS confidence,"
        "   unnest(?::VARCHAR[]) AS trend, unnest(?::VARCHAR[])::JSON AS components) n"
        " LEFT JOIN (SELECT model_key, rank, score, confidence, trend FROM scores"
        "  QUALIFY row_number() OVER (PARTITION BY model_key"
        "   ORDER BY version DESC NULLS LAST, computed_at DESC) = 1) p"
        "  ON p.model_key = n.model_key"
        " WHERE p.model_key IS NULL OR p.rank <> n.rank OR p.score <> n.score"
        "  OR p.confidence <> n.confidence OR p.trend <> n.trend",
        [
            run_id,
            version,
            naive_utc(computed_at),
            keys,
            ranks,
            scores,
            confidences,
            trends,
            components,
        ],
    ).fetchone()
    return inserted[0] if inserted else 0


def top_ranked_openrouter_ids(con: duckdb.DuckDBPyConnection, limit: int) -> list[str]:
    """The OpenRouter ids (variants left out) of the newest snapshot's best-ranked models,
    best first. Read from the snapshot: `scores` holds only the rows that changed."""
    found = rows(
        con,
        "WITH latest AS (SELECT body FROM published_snapshots"
        f"  WHERE {_NEWEST_PUBLISHED}),"
        " s AS (SELECT m ->> 'key' AS model_key, (m ->> 'rank')::INTEGER AS rank"
        "  FROM (SELECT unnest(json_extract(body, '$.models[*]')) AS m FROM latest))"
        " SELECT c.model_id FROM s"
        " JOIN catalog c ON c.source = 'openrouter' AND c.model_id NOT LIKE '%:%'"
        "  AND s.model_key = lower(coalesce(c.hugging_face_id, c.model_id))"
        " ORDER BY s.rank LIMIT ?",
        [limit],
    )
    return [row[0] for row in found]
