"""The analysts' database: a read-only copy refreshed after each run, with documented views.

DuckDB allows one writing process and no other process beside it, so analysts never
open the worker's database. The copy lives in two files next to `analytics.duckdb`
(`analytics.a.duckdb` and `analytics.b.duckdb`), and `analytics.duckdb` is a symbolic
link to the one last completed. A refresh brings the other file up to date and then swaps the link
atomically: a reader opens the old copy or the new one, never one being written, and one
that has a copy open keeps reading it undisturbed. Bringing a file up to date compares
each table partition by partition (mostly a day; see PARTITIONS) and copies again only
the partitions that differ, so a refresh writes about what changed since, whatever the
history holds; it falls back to a full copy when the file is missing, was written by
another schema version, or is still held open by a reader.
"""

from __future__ import annotations

import contextlib
import hashlib
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
    # Every published snapshot's document: the worker keeps the recent ones and each
    # older day's last apart (store/migrations/009), and so does the copy.
    "snapshot_documents": """
        SELECT * FROM recent_snapshot_documents
        UNION ALL SELECT * FROM archived_snapshot_documents
    """,
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


# How each copied table splits into partitions that a refresh compares one by one (row
# count and a checksum of the rows, against those kept from the last refresh) and copies
# again only where they differ. Tables that grow through the day split by the hour, so a
# refresh rewrites the hours since the last one (and a back-filled hour), not the day so
# far, let alone the history; `daily_values` and `prices` change rows of their day in
# place (each capture of a day, a price's `confirmed_at`), the catalogue and presence are
# small. Every change is caught whatever the split (it decides only how much is copied
# again): a run's row when it finishes, the catalog's `last_seen_at`, price changes
# re-derived after a back-fill, retention's deletes.
PARTITIONS = {
    "runs": "date_trunc('hour', started_at)",
    "observations": "date_trunc('hour', observed_at)",
    "daily_values": "day",
    "captures": "date_trunc('hour', observed_at)",
    "prices": "observed_at::DATE",
    "price_changes": "changed_at::DATE",
    "catalog": "source",
    "quarantine": "date_trunc('hour', quarantined_at)",
    "scores": "date_trunc('hour', computed_at)",
    "listings": "date_trunc('hour', observed_at)",
    "presence": "source",
}
# The worker's snapshot tables, each copied as a table of its own, by version.
SNAPSHOT_TABLES = {
    "recent_snapshot_documents": "snapshots",
    "archived_snapshot_documents": "snapshot_archive",
}
# What a row's checksum covers: the whole row, but for a published snapshot, whose body
# (~200 KB of JSON) never changes once stored and is named by its content hash.
_SNAPSHOT_HASH = "hash(t.version, t.run_id, t.generated_at, t.published_at, t.content_hash, t.path)"
ROW_HASH = {main: _SNAPSHOT_HASH for main in SNAPSHOT_TABLES.values()}
# Each time-split table's column that its partition key never exceeds (the hour, day or
# version its rows fall in), and that column's type: a refresh deletes and copies again
# only rows at or after the earliest partition that changed, so DuckDB skips the row
# groups of older history (their min/max) instead of computing every row's key.
SINCE = {
    "runs": ("started_at", "TIMESTAMP"),
    "observations": ("observed_at", "TIMESTAMP"),
    "daily_values": ("day", "DATE"),
    "captures": ("observed_at", "TIMESTAMP"),
    "prices": ("observed_at", "TIMESTAMP"),
    "price_changes": ("changed_at", "TIMESTAMP"),
    "quarantine": ("quarantined_at", "TIMESTAMP"),
    "scores": ("computed_at", "TIMESTAMP"),
    "listings": ("observed_at", "TIMESTAMP"),
    **{copy: ("version", "BIGINT") for copy in SNAPSHOT_TABLES},
}
META = "_traction_refresh"  # the worker's schema version, and the LAYOUT, of the copy
# A copy made with other partitions or checksums cannot be compared with: copied whole.
LAYOUT = hashlib.sha256(repr((PARTITIONS, ROW_HASH, SNAPSHOT_TABLES)).encode()).hexdigest()[:16]
DIGESTS = "_traction_digests"  # each partition's row count and checksum when last copied


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
        for copy, main in SNAPSHOT_TABLES.items():
            con.execute(f"CREATE TABLE analytics_copy.{copy} AS FROM main.{main}")
        con.execute(
            f"CREATE TABLE analytics_copy.{META} AS SELECT ?::INTEGER AS schema, ? AS layout",
            [schema, LAYOUT],
        )
        con.execute(
            f"CREATE TABLE analytics_copy.{DIGESTS} (copy VARCHAR, p VARCHAR, n BIGINT, h UBIGINT)"
        )
        for copy, main, partition in _synced():
            con.execute(
                f"INSERT INTO analytics_copy.{DIGESTS}"
                f" SELECT '{copy}', p, n, h FROM ({_digest(partition, f'main.{main}')})"
            )
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
        if not store.scalar(
            con,
            "SELECT count(*) FROM duckdb_columns() WHERE database_name = 'analytics_copy'"
            " AND table_name = ? AND column_name = 'layout'",
            [META],
        ):  # a copy from before its layout (and the digests, made with it) were kept
            return False
        found = store.rows(con, f"SELECT max(schema), max(layout) FROM analytics_copy.{META}")
        if found[0] != (schema, LAYOUT):  # another schema, or partitioned otherwise
            return False
        con.execute("BEGIN TRANSACTION")
        _sync(con)
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


def _synced() -> list[tuple[str, str, str]]:
    """(table in the copy, table in the worker's database, partition) of everything synced."""
    return [(table, table, PARTITIONS[table]) for table in TABLES] + [
        (copy, main, "version") for copy, main in SNAPSHOT_TABLES.items()
    ]


def _key(partition: str) -> str:
    return f"coalesce(CAST({partition} AS VARCHAR), '')"


def _digest(partition: str, table: str) -> str:
    row = ROW_HASH.get(table.rsplit(".", 1)[-1], "hash(t)")
    # Grouped on the partition's value, made text once per group rather than per row.
    return (
        f"SELECT {_key('k')} AS p, n, h FROM (SELECT {partition} AS k, count(*) AS n,"
        f" bit_xor({row}) AS h FROM {table} t GROUP BY k)"
    )


def _sync(con: duckdb.DuckDBPyConnection) -> None:
    """Copy again each partition whose rows differ from the copy's. The copy's side is
    read from the digests kept at the last refresh (the copy changes only here), so a
    refresh hashes the worker's tables once, not both sides; all tables are hashed and
    compared in two statements (a statement costs about a millisecond, and a refresh
    runs after every batch of cycles), then only the tables with a changed partition are
    touched."""
    digests = " UNION ALL ".join(
        f"SELECT '{copy}' AS copy, p, n, h FROM ({_digest(partition, f'main.{main}')})"
        for copy, main, partition in _synced()
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _digest AS {digests}")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _changed AS SELECT copy, p FROM _digest a"
        f" FULL JOIN analytics_copy.{DIGESTS} b USING (copy, p)"
        " WHERE a.n IS DISTINCT FROM b.n OR a.h IS DISTINCT FROM b.h"
    )
    synced = {copy: (main, partition) for copy, main, partition in _synced()}
    changed = [copy for (copy,) in store.rows(con, "SELECT DISTINCT copy FROM _changed")]
    for copy in sorted(changed):
        main, partition = synced[copy]
        where = f"{_key(partition)} IN (SELECT p FROM _changed WHERE copy = '{copy}')"
        since = _since(con, copy)
        if since is not None:
            column, kind = SINCE[copy]
            where = f"{column} >= CAST('{since}' AS {kind}) AND {where}"
        con.execute(f"DELETE FROM analytics_copy.{copy} WHERE {where}")
        con.execute(f"INSERT INTO analytics_copy.{copy} SELECT * FROM main.{main} WHERE {where}")
    if changed:
        con.execute(
            f"DELETE FROM analytics_copy.{DIGESTS}"
            " WHERE (copy, p) IN (SELECT (copy, p) FROM _changed)"
        )
        con.execute(
            f"INSERT INTO analytics_copy.{DIGESTS} SELECT copy, p, n, h FROM _digest"
            " WHERE (copy, p) IN (SELECT (copy, p) FROM _changed)"
        )
    con.execute("DROP TABLE _changed")
    con.execute("DROP TABLE _digest")


def _since(con: duckdb.DuckDBPyConnection, copy: str) -> str | None:
    """The earliest changed partition of `copy` as its SINCE column's value; None when the
    table has no such column or a changed key does not read as one (no rows are skipped)."""
    if copy not in SINCE:
        return None
    kind = SINCE[copy][1]
    found = store.rows(
        con,
        f"SELECT min(TRY_CAST(p AS {kind}))::VARCHAR, count(*) FILTER"
        f" (WHERE TRY_CAST(p AS {kind}) IS NULL) FROM _changed WHERE copy = ?",
        [copy],
    )[0]
    return found[0] if not found[1] else None


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
