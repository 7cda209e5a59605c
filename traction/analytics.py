"""The analysts' database: a read-only copy refreshed after each run, with documented views.

DuckDB allows one writing process and no other process beside it, so analysts never
open the worker's database. The copy lives in two files next to `analytics.duckdb`
(`analytics.a.duckdb` and `analytics.b.duckdb`), and `analytics.duckdb` is a symbolic
link to the one last completed. A refresh brings the other file up to date and then swaps the link
atomically: a reader opens the old copy or the new one, never one being written, and one
that has a copy open keeps reading it undisturbed. Bringing a file up to date appends
only the rows added since it was last refreshed (new runs' observations, scores and
quarantined records; new snapshot documents), rewrites the small tables (runs, prices,
which are stored on change, catalog, daily values, captures, price changes, listings,
presence), and rewrites a table whose rows were deleted or replaced (retention); it falls
back to a full copy when the file is missing, was written by another schema version, or is
still held open by a reader.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

import duckdb

import store

log = logging.getLogger("traction.analytics")

# Copied as they are; the raw archive stays behind (large, and not analysis material).
# `presence` is a view over `presence_spans` in the worker's database, copied as a table.
TABLES = [
    "runs",
    "observations",
    "daily_values",
    "captures",
    "prices",
    "price_changes",
    "catalog",
    "quarantine",
    "scores",
    "listings",
    "presence",
]

VIEWS = {
    "daily_signals": """
        SELECT source, model_id, metric, day, value,
               value - prev_value AS change,
               CASE WHEN prev_value > 0
                    THEN (value - prev_value) / prev_value * 100 END AS change_pct
        FROM daily_values
    """,
    # `scores` holds a model's row when its score changed: a model's score in the newest
    # snapshot is its row of the greatest version up to it, for every model it lists.
    "latest_scores": """
        WITH latest AS (SELECT version, body FROM snapshot_documents
                        ORDER BY version DESC LIMIT 1),
             listed AS (SELECT unnest(json_extract_string(body, '$.models[*].key')) AS model_key
                        FROM latest)
        SELECT s.model_key, s.rank, s.score, s.confidence, s.trend, s.computed_at,
               s.momentum_score, s.cost_points, s.blended_usd_per_mtok
        FROM listed JOIN (
            SELECT * FROM scores WHERE version <= (SELECT version FROM latest)
            QUALIFY row_number() OVER (PARTITION BY model_key ORDER BY version DESC) = 1
        ) s USING (model_key)
        ORDER BY s.rank
    """,
    "top_movers": """
        SELECT source, model_id, metric,
               arg_min(value, day) AS first_value, arg_max(value, day) AS last_value,
               min(day) AS since, max(day) AS until, count(*) AS days,
               CASE WHEN arg_min(value, day) > 0
                    THEN (arg_max(value, day) - arg_min(value, day)) / arg_min(value, day) * 100
               END AS growth_pct
        FROM daily_signals
        WHERE day > (SELECT max(day) FROM daily_signals) - INTERVAL 7 DAY
        GROUP BY ALL HAVING count(*) >= 2
        ORDER BY growth_pct DESC NULLS LAST
    """,
    "price_history": """
        SELECT source, model_id, provider, observed_at, confirmed_at, prompt_usd_per_mtok,
               completion_usd_per_mtok, discount, quantization, uptime_last_1d
        FROM prices ORDER BY source, model_id, provider, observed_at
    """,
    "snapshots": """
        SELECT version, generated_at, published_at, content_hash,
               json_array_length(body -> '$.models') AS models,
               body ->> '$.policy' AS policy,
               body ->> '$.models[0].key' AS top_model
        FROM snapshot_documents ORDER BY version
    """,
}


# Tables appended to by run: a refresh adds the rows of runs the copy does not have yet.
BY_RUN = ["observations", "scores", "quarantine"]
# Small, or updated in place: rewritten at every refresh. (`price_changes` is re-derived
# after a back-filled price, its rows keeping their earlier runs: not appendable by run;
# `daily_values` holds one row per series and day, updated by each capture of the day.
# `prices` is stored on change: a capture repeating a price moves an earlier run's row's
# `confirmed_at`, and a back-fill can move or split rows, so it is rewritten too; it holds
# a row per price change, not per capture.)
REWRITTEN = [t for t in TABLES if t not in BY_RUN]
META = "_traction_refresh"  # the worker's schema version the copy was made for


def refresh(con: duckdb.DuckDBPyConnection, target: str | os.PathLike[str]) -> Path:
    """Bring the copy not in use up to date and point `target` at it (atomically)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    slots = [target.with_name(f"{target.stem}.{name}{target.suffix}") for name in ("a", "b")]
    active = os.readlink(target) if target.is_symlink() else None
    slot = slots[1] if active == slots[0].name else slots[0]
    schema = store.scalar(con, "SELECT max(version) FROM schema_version")
    if not _append(con, slot, schema):
        _full_copy(con, slot, schema)
    link = target.with_name(f".{target.name}.link")
    link.unlink(missing_ok=True)
    os.symlink(slot.name, link)
    os.replace(link, target)
    return target


def _full_copy(con: duckdb.DuckDBPyConnection, path: Path, schema: int) -> None:
    for stale in (path, Path(f"{path}.wal")):  # a reader holding it keeps its own inode
        stale.unlink(missing_ok=True)
    con.execute(f"ATTACH '{path}' AS analytics_copy")
    try:
        for table in TABLES:
            con.execute(f"CREATE TABLE analytics_copy.{table} AS FROM main.{table}")
        con.execute("CREATE TABLE analytics_copy.snapshot_documents AS FROM main.snapshots")
        con.execute(f"CREATE TABLE analytics_copy.{META} AS SELECT ?::INTEGER AS schema", [schema])
    finally:
        con.execute("DETACH analytics_copy")
    with duckdb.connect(str(path)) as copy:  # views name tables unqualified: made in the file
        for name, sql in VIEWS.items():
            copy.execute(f"CREATE VIEW {name} AS {sql}")
        copy.execute("CHECKPOINT")


def _append(con: duckdb.DuckDBPyConnection, path: Path, schema: int) -> bool:
    """Append what `path` lacks; False when it cannot be (then a full copy is made)."""
    if not path.exists():
        return False
    try:
        con.execute(f"ATTACH '{path}' AS analytics_copy")
    except duckdb.Error:  # held open by a reader, or not a database
        return False
    try:
        made_for = store.scalar(con, f"SELECT max(schema) FROM analytics_copy.{META}")
        if made_for != schema:
            return False
        con.execute("BEGIN TRANSACTION")
        for table in BY_RUN:
            con.execute(
                f"INSERT INTO analytics_copy.{table} SELECT * FROM main.{table}"
                f" WHERE run_id NOT IN (SELECT DISTINCT run_id FROM analytics_copy.{table})"
            )
            _rewrite_if_different(con, table, table)
        con.execute(
            "DELETE FROM analytics_copy.snapshot_documents"
            " WHERE version NOT IN (SELECT version FROM main.snapshots)"
        )
        con.execute(
            "INSERT INTO analytics_copy.snapshot_documents SELECT * FROM main.snapshots"
            " WHERE version > (SELECT coalesce(max(version), -2147483648)"
            "  FROM analytics_copy.snapshot_documents)"
        )
        _rewrite_if_different(con, "snapshot_documents", "snapshots")
        for table in REWRITTEN:
            con.execute(f"CREATE OR REPLACE TABLE analytics_copy.{table} AS FROM main.{table}")
        con.execute("COMMIT")
        con.execute("CHECKPOINT analytics_copy")
        return True
    except duckdb.Error as exc:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        log.warning("analytics copy %s not appended to (%s): copying it whole", path, exc)
        return False
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute("DETACH analytics_copy")


def _rewrite_if_different(con: duckdb.DuckDBPyConnection, copy: str, main: str) -> None:
    """Rows deleted (retention) or replaced in the worker's table: copy it whole. Rows are
    compared by count and a checksum of their contents: a back-fill re-derives a series'
    observations (change points), and may put one under an earlier run in place of another,
    which a count alone would miss."""
    digest = "SELECT count(*), bit_xor(hash(t)) FROM {} t"
    ours = store.rows(con, digest.format(f"main.{main}"))
    theirs = store.rows(con, digest.format(f"analytics_copy.{copy}"))
    if ours != theirs:
        con.execute(f"CREATE OR REPLACE TABLE analytics_copy.{copy} AS FROM main.{main}")


def trends(
    con: duckdb.DuckDBPyConnection, days: int = 7, source: str | None = None, limit: int = 15
) -> list[tuple]:
    """Top movers over the last `days` days: (source, model, metric, first, last, growth %)."""
    return store.top_movers(con, days, source, limit)


def export_parquet(con: duckdb.DuckDBPyConnection, directory: str | os.PathLike[str]) -> list[Path]:
    """Hive-partitioned Parquet (`source=.../day=...`) for engines other than DuckDB."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for table, time_column in (
        ("observations", "observed_at"),
        ("prices", "observed_at"),
        ("scores", "computed_at"),
    ):
        path = out / table
        partition = "source, day" if table != "scores" else "day"
        con.execute(
            f"COPY (SELECT *, strftime({time_column}, '%Y-%m-%d') AS day FROM {table})"
            f" TO '{path}' (FORMAT parquet, PARTITION_BY ({partition}), OVERWRITE_OR_IGNORE)"
        )
        written.append(path)
    for table in ("runs", "catalog", "price_changes", "quarantine", "presence"):
        path = out / f"{table}.parquet"
        con.execute(f"COPY {table} TO '{path}' (FORMAT parquet)")
        written.append(path)
    return written
