"""Opening the DuckDB store: numbered migrations, transactions, and a busy file.

One writer at a time (DuckDB's rule), so every stage opens the database, does its
work inside a transaction and closes it. Migrations are `store/migrations/NNN_*.sql`,
applied in order; the versions applied are kept in `schema_version`.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
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


class _InUse(TractionError):
    """This process has the file open read-only; a writer waits as for another process."""


class _Attached:
    """A database file attached to the process's instance, and how many opens share it."""

    def __init__(self, alias: str, read_only: bool):
        self.alias = alias
        self.read_only = read_only
        self.users = 0


class _Instance:
    """The process's one DuckDB instance: an in-memory database that files are attached
    to while they are open, and detached from (which checkpoints the file and releases its
    lock, as closing a connection did) when the last user is done.

    Why: DuckDB builds a whole instance (buffer manager, thread pool, catalogue) for each
    `duckdb.connect`, 15-25 ms whatever the file, and tears it down at close; the worker
    opens its database once per source cycle, 78 times a day at the defaults. An attach and
    detach on a kept instance costs 3-10 ms (the growth benchmark's OpenRouter and GitHub
    cycles went from 164 and 151 ms to 143 and 135). Each open gets a cursor of its own (its
    own transaction, temporary tables and registered scans) with the file as its default
    database; opens of one file from several threads share the attachment. A forked child
    builds its own instance."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = -1
        self._base: duckdb.DuckDBPyConnection | None = None
        self._files: dict[str, _Attached] = {}
        self._serial = 0

    def _ready(self) -> duckdb.DuckDBPyConnection:
        if self._base is None or self._pid != os.getpid():
            self._base, self._pid, self._files = duckdb.connect(), os.getpid(), {}
        return self._base

    def open(self, path: Path, read_only: bool) -> tuple[duckdb.DuckDBPyConnection, str]:
        """A cursor on `path` (attached if it is not yet); DuckDB's lock error when another
        process holds the file, `_InUse` when this one has it open read-only and a writer
        asks (it waits for the readers, as for another process's)."""
        key = str(path.resolve())
        with self._lock:
            base = self._ready()
            attached = self._files.get(key)
            if attached is None:
                self._serial += 1
                alias = f"traction_{self._serial}"
                quoted = key.replace("'", "''")
                base.execute(f"ATTACH '{quoted}' AS {alias}{' (READ_ONLY)' if read_only else ''}")
                attached = self._files[key] = _Attached(alias, read_only)
            elif attached.read_only and not read_only:
                raise _InUse(f"{key} is open read-only in this process")
            attached.users += 1
            try:
                cursor = base.cursor()
                cursor.execute(f"USE {attached.alias}")
            except BaseException:
                self._done(key)
                raise
            return cursor, key

    def attached(self, path: Path) -> bool:
        """Whether some open in this process still has `path` attached."""
        with self._lock:
            return self._pid == os.getpid() and str(path.resolve()) in self._files

    def close(self, cursor: duckdb.DuckDBPyConnection, key: str) -> None:
        cursor.close()  # rolls back what it left open
        with self._lock:
            self._done(key)

    def _done(self, key: str) -> None:
        attached = self._files[key]
        attached.users -= 1
        if not attached.users:
            del self._files[key]
            if self._base is not None and self._pid == os.getpid():
                self._base.execute(f"DETACH {attached.alias}")


_INSTANCE = _Instance()


def _open(path: Path, read_only: bool, wait: float) -> tuple[duckdb.DuckDBPyConnection, str]:
    deadline = time.monotonic() + wait
    while True:
        try:
            return _INSTANCE.open(path, read_only)
        except (duckdb.IOException, _InUse) as exc:
            if isinstance(exc, duckdb.IOException) and "lock" not in str(exc).lower():
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
    con, key = _open(path, read_only, wait)
    if read_only and _behind(con):
        # A database an older traction wrote: readers (score, backtest, show...) would meet
        # tables it lacks. Migrate it once, as any writer would, then read.
        _INSTANCE.close(con, key)
        with connect(path, read_only=False, wait=wait):
            pass
        con, key = _open(path, read_only, wait)
    try:
        if not read_only:
            migrate(con)
        yield con
    finally:
        _INSTANCE.close(con, key)


def checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    """Write the WAL into the database file (and give freed space back)."""
    con.execute("CHECKPOINT")


def compact(path: str | Path) -> tuple[int, int] | None:
    """Rewrite the database into a fresh file and swap it in; (bytes before, after), or
    None when the swap would have lost something and the old file stays as it was.

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
    # A write-ahead log beside either file would be replayed onto the wrong one, and an
    # open that still has the file attached in this process would go on writing to the
    # replaced one: neither is expected (checkpoints above, the caller's lock), but then
    # the old file stays as it was.
    if _INSTANCE.attached(path) or any(Path(f"{p}.wal").exists() for p in (path, fresh)):
        for stale in (fresh, Path(f"{fresh}.wal")):
            stale.unlink(missing_ok=True)
        return None
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
