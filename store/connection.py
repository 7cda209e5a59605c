"""Opening the DuckDB store: numbered migrations, transactions, and a busy file.

One writer at a time (DuckDB's rule), so every stage opens the database, does its
work inside a transaction and closes it. Migrations are `store/migrations/NNN_*.sql`,
applied in order; the versions applied are kept in `schema_version`.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal
from importlib import resources
from pathlib import Path

import duckdb
import numpy

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
) -> None:
    """Run `statement`, which ends in VALUES, with `values` as its rows (then `suffix`,
    e.g. an ON CONFLICT clause), in one statement.

    The rows go in as a registered scan of NumPy object columns (DuckDB reads every value,
    so a column whose first thousand rows are NULL still gets its type), and the trailing
    VALUES becomes `SELECT * FROM` that scan. Why: `executemany` runs one statement per
    row (seconds for a few thousand prices) and multi-row VALUES statements with a bound
    parameter per value still cost ~40 us a value to bind and plan (2.4 s of a 4.4 s
    landing in the growth benchmark); the scan costs ~2 us a value."""
    if not values:
        return
    head = statement.rstrip()
    if not head.upper().endswith("VALUES"):
        raise ValueError(f"insert_many needs a statement ending in VALUES: {statement!r}")
    columns = {}
    for index, column in enumerate(zip(*values, strict=True)):
        if any(isinstance(value, Decimal) for value in column):
            # The scan would type the column DECIMAL(w, s) from the first values it reads
            # and fail on a larger one; as text, each is cast exactly to the column's type.
            column = tuple(None if value is None else str(value) for value in column)
        columns[f"c{index}"] = numpy.fromiter(column, dtype=object, count=len(column))
    name = f"_insert_many_{id(columns):x}"
    con.register(name, columns)
    try:
        con.execute(f"{head[: -len('VALUES')]} SELECT * FROM {name} {suffix}")
    finally:
        con.unregister(name)


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


def compact(path: str | Path) -> tuple[int, int]:
    """Rewrite the database into a fresh file and swap it in; (bytes before, after).

    Why: DuckDB reuses the blocks that deletes free but never gives them back, and rows
    landed a few at a time leave partly filled blocks behind, so a file that retention
    keeps at a steady amount of data still grows (on the growth benchmark, blocks in use
    grew 2.6x faster than the data they held). `COPY FROM DATABASE` writes every table,
    view and constraint densely into a new file; the rename is atomic, so a crash leaves
    the old file whole (and a stray `.compact` file the next compaction removes). The
    caller holds the data-directory lock: no other process has the file open."""
    path = Path(path)
    fresh = path.with_name(f".{path.name}.compact")
    for stale in (fresh, Path(f"{fresh}.wal")):
        stale.unlink(missing_ok=True)
    with connect(path) as con:
        con.execute("CHECKPOINT")
        before = path.stat().st_size
        name = scalar(con, "SELECT current_database()")
        quoted = str(fresh).replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS traction_compacted")
        try:
            con.execute(f'COPY FROM DATABASE "{name}" TO traction_compacted')
        finally:
            con.execute("DETACH traction_compacted")
    # A write-ahead log beside either file would be replayed onto the wrong one: never
    # expected after the checkpoints above, but then the old file stays as it was.
    if any(Path(f"{p}.wal").exists() for p in (path, fresh)):
        for stale in (fresh, Path(f"{fresh}.wal")):
            stale.unlink(missing_ok=True)
        return before, before
    shutil.copymode(path, fresh)  # the operator's permissions on the file stay
    os.replace(fresh, path)
    return before, path.stat().st_size


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
