"""Opening the DuckDB store: numbered migrations, transactions, and a busy file.

One writer at a time (DuckDB's rule), so every stage opens the database, does its
work inside a transaction and closes it. Migrations are `store/migrations/NNN_*.sql`,
applied in order; the versions applied are kept in `schema_version`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import duckdb

from schemas.errors import EXIT_LOCKED, TractionError


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


def migration_files() -> list[tuple[int, str, str]]:
    """(number, file name, SQL) of every migration this package ships, in order."""
    found = []
    for entry in resources.files("store.migrations").iterdir():
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
    for number, name, sql in migration_files():
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


class DatabaseBusy(TractionError):
    """Another process has the DuckDB file open in a way that excludes this one (DuckDB
    allows one writing process, or any number of readers, never both)."""

    exit_code = EXIT_LOCKED


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


def _behind(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the database lacks a migration this version of traction has. One without
    `schema_version` is no store's (the analytics copy, read by `status` while a writer
    holds the database): it is read as it is, never migrated."""
    latest = max((number for number, _, _ in migration_files()), default=0)
    try:
        current = scalar(con, "SELECT coalesce(max(version), 0) FROM schema_version") or 0
    except duckdb.CatalogException:
        return False
    return current < latest


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
    if read_only and _behind(con):
        # A database an older traction wrote: readers (score, backtest, show...) would meet
        # tables it lacks. Migrate it once, as any writer would, then read.
        con.close()
        with connect(path, read_only=False, wait=wait):
            pass
        con = _open(path, read_only, wait)
    try:
        if not read_only:
            migrate(con)
        yield con
    finally:
        con.close()


def checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    """Write the WAL into the database file (and give freed space back)."""
    con.execute("CHECKPOINT")


def delete_counted(con: duckdb.DuckDBPyConnection, table: str, deletes: list[str], cutoff) -> int:
    """Run `deletes` (each with the one parameter `cutoff`) in one transaction; returns how
    many rows of `table` went."""
    with transaction(con):
        before = scalar(con, f"SELECT count(*) FROM {table}")
        for statement in deletes:
            con.execute(statement, [cutoff])
        return before - scalar(con, f"SELECT count(*) FROM {table}")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
