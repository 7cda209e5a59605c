"""The analysts' database: a read-only copy refreshed after each run, with documented views.

DuckDB allows one writing process and no other process beside it, so analysts never
open the worker's database. After each cycle the worker writes a fresh copy next to a
temp name and renames it over `analytics.duckdb`: a reader sees the old copy or the new
one, and one that has the old file open keeps reading it undisturbed.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

import store

# Copied as they are; the raw archive stays behind (large, and not analysis material).
# `presence` is a view over prices and listings in the worker's database, copied as a table.
TABLES = [
    "runs",
    "observations",
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
               value - lag(value) OVER w AS change,
               CASE WHEN lag(value) OVER w > 0
                    THEN (value - lag(value) OVER w) / lag(value) OVER w * 100 END AS change_pct
        FROM (SELECT source, model_id, metric, observed_at::DATE AS day,
                     arg_max(value, observed_at) AS value
              FROM observations GROUP BY ALL)
        WINDOW w AS (PARTITION BY source, model_id, metric ORDER BY day)
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
        SELECT source, model_id, provider, observed_at, prompt_usd_per_mtok,
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


def refresh(con: duckdb.DuckDBPyConnection, target: str | os.PathLike[str]) -> Path:
    """Write a fresh analytics copy and rename it over `target`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    for leftover in (tmp, Path(f"{tmp}.wal")):
        leftover.unlink(missing_ok=True)
    con.execute(f"ATTACH '{tmp}' AS analytics_copy")
    try:
        for table in TABLES:
            con.execute(f"CREATE TABLE analytics_copy.{table} AS FROM main.{table}")
        con.execute("CREATE TABLE analytics_copy.snapshot_documents AS FROM main.snapshots")
    finally:
        con.execute("DETACH analytics_copy")
    with duckdb.connect(str(tmp)) as copy:  # views name tables unqualified: made in the file
        for name, sql in VIEWS.items():
            copy.execute(f"CREATE VIEW {name} AS {sql}")
        copy.execute("CHECKPOINT")
    os.replace(tmp, target)
    return target


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
