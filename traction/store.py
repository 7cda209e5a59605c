"""The DuckDB store: numbered migrations, and the few writes and reads the stages share.

One writer at a time (DuckDB's rule), so every stage opens the database, does its
work inside a transaction and closes it.
"""

from __future__ import annotations

import gzip
import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from schemas.rows import SourceResult

if TYPE_CHECKING:  # ingest imports this module, not the other way round
    from ingest.http import Fetched


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def naive_utc(moment: datetime) -> datetime:
    """The store keeps naive UTC; aware datetimes are converted, naive ones taken as UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def insert_many(
    con: duckdb.DuckDBPyConnection,
    statement: str,
    values: list[list],
    suffix: str = "",
    chunk: int = 500,
) -> None:
    """`statement` ending in VALUES, run as multi-row inserts: executemany runs one
    statement per row, which costs seconds for a few thousand prices."""
    if not values:
        return
    width = len(values[0])
    row = "(" + ", ".join("?" * width) + ")"
    for start in range(0, len(values), chunk):
        part = values[start : start + chunk]
        con.execute(
            f"{statement} {', '.join([row] * len(part))} {suffix}",
            [value for item in part for value in item],
        )


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    """Every row, fetched to the end: DuckDB 2 refuses new work on a half-read result."""
    return con.execute(sql, params or []).fetchall()


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    found = rows(con, sql, params)
    return found[0][0] if found else None


def new_run_id() -> str:
    return utcnow().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files("traction.migrations").iterdir():
        if entry.name.endswith(".sql"):
            number = int(entry.name.split("_", 1)[0])
            found.append((number, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every migration newer than the database; returns the resulting schema version."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version "
        "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    current = scalar(con, "SELECT coalesce(max(version), 0) FROM schema_version") or 0
    for number, name, sql in _migrations():
        if number <= current:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_version VALUES (?, ?, ?)", [number, name, utcnow()])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        current = number
    return current


class DatabaseBusy(Exception):
    """Another process has the DuckDB file open in a way that excludes this one (DuckDB
    allows one writing process, or any number of readers, never both)."""


BUSY_WAIT = 10.0  # seconds a writer waits for a reader's (brief) hold on the file


def _open(path: Path, read_only: bool, wait: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                holder = re.search(r"PID (\d+)", str(exc))
                who = f"process {holder[1]}" if holder else "another process"
                raise DatabaseBusy(
                    f"the database {path} is busy: {who} has it open"
                    f" ({'writing' if read_only else 'reading or writing'}); try again shortly"
                ) from None
            time.sleep(0.05)


@contextmanager
def connect(
    path: str | Path, read_only: bool = False, wait: float = BUSY_WAIT
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open (creating and migrating if needed) and always close the database. While another
    process holds the file, retry for `wait` seconds, then raise DatabaseBusy (never
    DuckDB's lock error)."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(path, read_only, wait)
    try:
        if not read_only:
            migrate(con)
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


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


def archive(con: duckdb.DuckDBPyConnection, run_id: str, source: str, pages: list[Fetched]) -> None:
    """Keep every fetched body, gzip-compressed, once per distinct content."""
    for seq, page in enumerate(pages):
        digest = page.content_hash
        con.execute(
            "INSERT OR IGNORE INTO raw_bodies VALUES (?, 'gzip', ?, ?)",
            [digest, gzip.compress(page.body, mtime=0), len(page.body)],
        )
        con.execute(
            "INSERT INTO raw_pages VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                seq,
                source,
                page.url,
                page.status,
                json.dumps(page.headers),
                digest,
                naive_utc(page.fetched_at),
            ],
        )


def archived_pages(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple]:
    """(url, status, headers JSON, body bytes) of a run's pages, in fetch order."""
    found = rows(
        con,
        "SELECT p.url, p.status, p.headers, b.body FROM raw_pages p"
        " JOIN raw_bodies b USING (content_hash) WHERE p.run_id = ? ORDER BY p.seq",
        [run_id],
    )
    return [(url, status, headers, gzip.decompress(body)) for url, status, headers, body in found]


def prune_archive(con: duckdb.DuckDBPyConnection, retention_days: int) -> int:
    """Drop archived pages past retention, then bodies no page refers to any more."""
    cutoff = utcnow() - timedelta(days=retention_days)
    with transaction(con):
        dropped = scalar(con, "SELECT count(*) FROM raw_pages WHERE fetched_at < ?", [cutoff])
        con.execute("DELETE FROM raw_pages WHERE fetched_at < ?", [cutoff])
        con.execute(
            "DELETE FROM raw_bodies WHERE content_hash NOT IN"
            " (SELECT DISTINCT content_hash FROM raw_pages)"
        )
    return dropped or 0


def record_price_changes(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Compare each price this run stored with the one before it, per source, model and
    provider, and keep every difference."""
    con.execute(
        "INSERT INTO price_changes SELECT source, model_id, provider, observed_at, prev_prompt,"
        " prompt_usd_per_mtok, prev_completion, completion_usd_per_mtok, run_id FROM ("
        "  SELECT *, lag(prompt_usd_per_mtok) OVER w AS prev_prompt,"
        "   lag(completion_usd_per_mtok) OVER w AS prev_completion,"
        "   lag(observed_at) OVER w AS prev_at"
        "  FROM prices WHERE (source, model_id, provider) IN"
        "   (SELECT source, model_id, provider FROM prices WHERE run_id = ?)"
        "  WINDOW w AS (PARTITION BY source, model_id, provider ORDER BY observed_at))"
        " WHERE run_id = ? AND prev_at IS NOT NULL"
        " AND (prompt_usd_per_mtok IS DISTINCT FROM prev_prompt"
        "  OR completion_usd_per_mtok IS DISTINCT FROM prev_completion)",
        [run_id, run_id],
    )


def downsample(con: duckdb.DuckDBPyConnection, older_than_days: int) -> int:
    """Keep one observation per series per day (the day's last) once it is older than this;
    returns how many rows went. Day-level history is all scoring reads."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    with transaction(con):
        before = scalar(con, "SELECT count(*) FROM observations")
        con.execute(
            "DELETE FROM observations o WHERE o.observed_at < ? AND o.observed_at <"
            " (SELECT max(i.observed_at) FROM observations i WHERE i.source = o.source"
            "  AND i.model_id = o.model_id AND i.metric = o.metric"
            "  AND i.observed_at::DATE = o.observed_at::DATE)",
            [cutoff],
        )
        return before - scalar(con, "SELECT count(*) FROM observations")


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


def land(con: duckdb.DuckDBPyConnection, run_id: str, result: SourceResult) -> int:
    """Write a source run's facts; returns how many were new. Caller owns the transaction."""
    count = "SELECT (SELECT count(*) FROM observations) + (SELECT count(*) FROM prices)"
    before = scalar(con, count)
    if result.observations:
        insert_many(
            con,
            "INSERT OR IGNORE INTO observations"
            " (source, model_id, metric, value, observed_at, run_id) VALUES",
            [
                [o.source, o.model_id, o.metric, o.value, naive_utc(o.observed_at), run_id]
                for o in result.observations
            ],
        )
    if result.prices:
        insert_many(
            con,
            "INSERT OR IGNORE INTO prices (source, model_id, provider, prompt_usd_per_mtok,"
            " completion_usd_per_mtok, observed_at, run_id, discount, context_length,"
            " quantization, uptime_last_30m, uptime_last_1d) VALUES",
            [
                [
                    p.source,
                    p.model_id,
                    p.provider,
                    p.prompt_usd_per_mtok,
                    p.completion_usd_per_mtok,
                    naive_utc(p.observed_at),
                    run_id,
                    p.discount,
                    p.context_length,
                    p.quantization,
                    p.uptime_last_30m,
                    p.uptime_last_1d,
                ]
                for p in result.prices
            ],
        )
    now = utcnow()
    if result.catalog:
        # One row per model: a source listing a model twice keeps the last.
        unique = {(c.source, c.model_id): c for c in result.catalog}.values()
        insert_many(
            con,
            "INSERT INTO catalog VALUES",
            [
                [
                    c.source,
                    c.model_id,
                    c.canonical_slug,
                    c.hugging_face_id,
                    c.display_name,
                    c.context_length,
                    now,
                    now,
                    run_id,
                    c.alias_target,
                ]
                for c in unique
            ],
            suffix="ON CONFLICT (source, model_id) DO UPDATE SET"
            " canonical_slug = excluded.canonical_slug, hugging_face_id = excluded.hugging_face_id,"
            " display_name = excluded.display_name, context_length = excluded.context_length,"
            " last_seen_at = excluded.last_seen_at, run_id = excluded.run_id,"
            " alias_target = excluded.alias_target",
        )
    if result.prices:
        record_price_changes(con, run_id)
    if result.quarantined:
        insert_many(
            con,
            "INSERT INTO quarantine VALUES",
            [
                [run_id, q.source, q.record_index, q.model_id, q.reason, q.raw, now]
                for q in result.quarantined
            ],
        )
    return scalar(con, count) - before


def dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)
