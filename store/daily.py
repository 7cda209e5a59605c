"""Observations stored on change, and the daily values scoring reads (migration 007).

Hugging Face refreshes its counts about once a day while traction captures them hourly, so
most captures repeat most values. A capture stores an `observations` row only where the
series' value differs from its previous one (by time); every capture still lands in
`captures` (one row per source, metric and time) and in `daily_values` (one row per series
and day: the day's last value and time, its first capture, its day number and the value of
the series' previous day). Scoring reads `daily_values` for the days it needs, never the
observations, so a publish costs what its window holds, not what the year holds.

A series counts as captured at each capture of its (source, metric) between its own first
and last capture of that day: that is what a repeated capture, which stores no row, leaves
to tell presence, freshness and an as-of time within a day. Back-fills in any order leave
the tables in-order ingestion leaves: a capture landing before a series' latest one
re-derives that series' change points from the change point before it on, and its daily
day numbers and previous values from its day on.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb

from schemas.rows import SourceResult

from .connection import insert_many, migration_files, naive_utc, rows, scalar

SERIES = ("source", "model_id", "metric")
_SAME_SERIES = " AND ".join(f"{{a}}.{c} = {{b}}.{c}" for c in SERIES)


def _same(a: str, b: str) -> str:
    return _SAME_SERIES.format(a=a, b=b)


def record_observations(con: duckdb.DuckDBPyConnection, run_id: str, result: SourceResult) -> int:
    """Land a run's observations: captures, daily values, and the change points among them.
    Returns how many captured values were new (a value at a time already captured is not)."""
    if not result.observations:
        return 0
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _incoming (source VARCHAR, model_id VARCHAR,"
        " metric VARCHAR, value DOUBLE, observed_at TIMESTAMP, i INTEGER)"
    )
    insert_many(
        con,
        "INSERT INTO _incoming VALUES",
        [
            [o.source, o.model_id, o.metric, o.value, naive_utc(o.observed_at), i]
            for i, o in enumerate(result.observations)
        ],
    )
    # A series reported twice at one time (a model listed twice): the first report counts.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _captured AS SELECT source, model_id, metric, value,"
        " observed_at, ?::VARCHAR AS run_id FROM _incoming QUALIFY row_number() OVER ("
        " PARTITION BY source, model_id, metric, observed_at ORDER BY i) = 1",
        [run_id],
    )
    con.execute("DROP TABLE _incoming")
    # Already known: a stored change point, or a capture the series was part of with the
    # value its change points give then (a replay after observations were lost re-stores).
    # Only a value no later than its source's last known one can be, so live ingestion
    # skips these lookups, which read the whole history.
    known_until = scalar(
        con,
        "SELECT max(m) FROM (SELECT max(observed_at) AS m FROM captures WHERE source IN"
        " (SELECT source FROM _captured) UNION ALL SELECT max(observed_at) FROM observations"
        " WHERE source IN (SELECT source FROM _captured))",
    )
    if known_until is not None:
        con.execute(
            "DELETE FROM _captured n WHERE n.observed_at <= ? AND (EXISTS (SELECT 1"
            f"  FROM observations o WHERE {_same('o', 'n')} AND o.observed_at = n.observed_at)"
            " OR (EXISTS (SELECT 1 FROM captures c WHERE c.source = n.source"
            "   AND c.metric = n.metric AND c.observed_at = n.observed_at)"
            "  AND EXISTS (SELECT 1 FROM daily_values d WHERE "
            + _same("d", "n")
            + "   AND d.day = n.observed_at::DATE"
            "   AND n.observed_at BETWEEN d.first_at AND d.observed_at)"
            "  AND n.value = (SELECT arg_max(o.value, o.observed_at) FROM observations o"
            f"   WHERE {_same('o', 'n')} AND o.observed_at <= n.observed_at)))",
            [known_until],
        )
    new = scalar(con, "SELECT count(*) FROM _captured")
    if not new:
        return 0
    # Per series: the earliest new capture; the latest known capture and its value (what a
    # live capture is compared with); the last known day before the earliest new capture
    # and its day number (where day numbers are counted on from).
    # First from the last few days only (rows are appended by day, so DuckDB skips the
    # older row groups): a series with a day shortly before its earliest new capture has
    # all it needs there, since every later row is in that window too. The rest (new
    # series, or ones back after a gap) are looked up in the whole history.
    window = scalar(con, "SELECT min(observed_at)::DATE - 3 FROM _captured")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _touched AS {_TOUCHED.format(only='')}", [window])
    if scalar(con, "SELECT count(*) FROM _touched WHERE before_day IS NULL"):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _unresolved AS SELECT source, model_id, metric"
            " FROM _touched WHERE before_day IS NULL"
        )
        con.execute("DELETE FROM _touched WHERE before_day IS NULL")
        only = "WHERE EXISTS (SELECT 1 FROM _unresolved u WHERE " + _same("u", "_captured") + ")"
        con.execute(f"INSERT INTO _touched {_TOUCHED.format(only=only)}", [date.min])
        con.execute("DROP TABLE _unresolved")
    _store_in_order(con)
    _rederive_backfilled(con)
    con.execute(
        "INSERT OR IGNORE INTO captures SELECT source, metric, observed_at, min(run_id)"
        " FROM _captured GROUP BY ALL"
    )
    _update_daily(con)
    con.execute("DROP TABLE _touched")
    con.execute("DROP TABLE _captured")
    return new


# Per touched series (the captures `only` names): the earliest new capture; the latest
# known capture and its value, the last known day before the earliest new capture and its
# day number, from the days on or after the parameter.
_TOUCHED = (
    "WITH t AS (SELECT source, model_id, metric, min(observed_at) AS since"
    "  FROM _captured {only} GROUP BY ALL),"
    " known AS (SELECT d.source, d.model_id, d.metric, max(d.observed_at) AS last_known,"
    "  arg_max(d.value, d.day) AS last_value, max(d.day) FILTER (d.day < t.since::DATE)"
    "  AS before_day, arg_max(d.day_number, d.day) FILTER (d.day < t.since::DATE)"
    "  AS before_number"
    "  FROM daily_values d JOIN t USING (source, model_id, metric) WHERE d.day >= ?"
    "  GROUP BY ALL)"
    " SELECT t.*, k.last_known, k.last_value, k.before_day, k.before_number,"
    "  k.last_known IS NULL OR t.since > k.last_known AS in_order"
    " FROM t LEFT JOIN known k USING (source, model_id, metric)"
)


def _store_in_order(con: duckdb.DuckDBPyConnection) -> None:
    """Series whose new captures all follow every known one (live ingestion): a capture is
    a change point where its value differs from the one before it."""
    con.execute(
        "INSERT INTO observations SELECT source, model_id, metric, value, observed_at, run_id"
        " FROM (SELECT *, value IS DISTINCT FROM lag(value) OVER ("
        "   PARTITION BY source, model_id, metric ORDER BY observed_at) AS changed, is_new"
        "  FROM (SELECT n.source, n.model_id, n.metric, n.value, n.observed_at, n.run_id,"
        "    true AS is_new FROM _captured n JOIN _touched t USING (source, model_id, metric)"
        "    WHERE t.in_order"
        "   UNION ALL SELECT source, model_id, metric, last_value, last_known, NULL, false"
        "    FROM _touched WHERE in_order AND last_known IS NOT NULL))"
        " WHERE is_new AND changed"
    )


def _rederive_backfilled(con: duckdb.DuckDBPyConnection) -> None:
    """Series with a new capture before a known one: their change points from the one
    before the earliest new capture on, from the known change points, the new captures and,
    after each new capture, the series' first known capture before the next of those (it
    repeated the old value: a change point again if the new capture differs)."""
    if not scalar(con, "SELECT count(*) FROM _touched WHERE NOT in_order"):
        return
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _back AS SELECT t.*, (SELECT max(o.observed_at)"
        f" FROM observations o WHERE {_same('o', 't')} AND o.observed_at < t.since) AS start_at"
        " FROM _touched t WHERE NOT t.in_order"
    )
    back = "SELECT * FROM _back"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _points AS"
        " SELECT o.source, o.model_id, o.metric, o.value, o.observed_at, o.run_id, false AS is_new"
        f" FROM observations o JOIN ({back}) t USING (source, model_id, metric)"
        " WHERE o.observed_at >= coalesce(t.start_at, t.since)"
        " UNION ALL SELECT n.source, n.model_id, n.metric, n.value, n.observed_at, n.run_id, true"
        f" FROM _captured n JOIN ({back}) t USING (source, model_id, metric)"
    )
    # After each new capture: the next point, and the first capture of the series between.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _resumed AS"
        " SELECT p.source, p.model_id, p.metric, ("
        "  SELECT min(c.observed_at) FROM captures c JOIN daily_values d"
        "   ON d.source = c.source AND d.metric = c.metric AND d.day = c.observed_at::DATE"
        "   AND c.observed_at BETWEEN d.first_at AND d.observed_at"
        "  WHERE c.source = p.source AND c.metric = p.metric AND d.model_id = p.model_id"
        "   AND c.observed_at > p.observed_at"
        "   AND (p.next_at IS NULL OR c.observed_at < p.next_at)) AS observed_at"
        " FROM (SELECT *, lead(observed_at) OVER ("
        "  PARTITION BY source, model_id, metric ORDER BY observed_at) AS next_at"
        "  FROM _points) p WHERE p.is_new"
    )
    con.execute(
        "INSERT INTO _points SELECT r.source, r.model_id, r.metric,"
        " (SELECT arg_max(o.value, o.observed_at) FROM observations o"
        f"  WHERE {_same('o', 'r')} AND o.observed_at <= r.observed_at),"
        " r.observed_at, c.run_id, false"
        " FROM (SELECT DISTINCT * FROM _resumed WHERE observed_at IS NOT NULL) r"
        " JOIN captures c ON c.source = r.source AND c.metric = r.metric"
        "  AND c.observed_at = r.observed_at"
    )
    con.execute(
        "DELETE FROM observations o USING _back t WHERE "
        + _same("o", "t")
        + " AND o.observed_at >= coalesce(t.start_at, t.since)"
    )
    con.execute(
        "INSERT INTO observations SELECT source, model_id, metric, value, observed_at, run_id"
        " FROM (SELECT *, value IS DISTINCT FROM lag(value) OVER ("
        "  PARTITION BY source, model_id, metric ORDER BY observed_at) AS changed"
        "  FROM _points WHERE value IS NOT NULL) WHERE changed"
    )
    for table in ("_points", "_resumed", "_back"):
        con.execute(f"DROP TABLE {table}")


def _update_daily(con: duckdb.DuckDBPyConnection) -> None:
    """Each touched day's last value, last and first capture; then day numbers and previous
    values of the touched series from their earliest new day on (a back-filled day shifts
    its later days' numbers and is its next day's previous value)."""
    con.execute(
        "INSERT INTO daily_values SELECT source, model_id, metric, observed_at::DATE,"
        " arg_max(value, observed_at), max(observed_at), min(observed_at), 0, NULL"
        " FROM _captured GROUP BY ALL"
        " ON CONFLICT DO UPDATE SET"
        " value = CASE WHEN excluded.observed_at > daily_values.observed_at"
        "  THEN excluded.value ELSE daily_values.value END,"
        " observed_at = greatest(daily_values.observed_at, excluded.observed_at),"
        " first_at = least(daily_values.first_at, excluded.first_at)"
    )
    # From the last day before the earliest new one (its number carries on) to the end
    # (the first day of all, as a constant, lets DuckDB skip the row groups before it).
    first = scalar(con, "SELECT min(coalesce(before_day, since::DATE)) FROM _touched")
    con.execute(
        "UPDATE daily_values d SET day_number = x.n, prev_value = x.prev FROM ("
        " SELECT d.source, d.model_id, d.metric, d.day, t.since,"
        "  coalesce(t.before_number, 1) - 1 + row_number() OVER w AS n,"
        "  lag(d.value) OVER w AS prev"
        " FROM daily_values d JOIN _touched t USING (source, model_id, metric)"
        " WHERE d.day >= ? AND (t.before_day IS NULL OR d.day >= t.before_day)"
        " WINDOW w AS (PARTITION BY d.source, d.model_id, d.metric ORDER BY d.day)) x"
        " WHERE " + _same("d", "x") + " AND d.day = x.day AND x.day >= x.since::DATE",
        [first],
    )


def derive_daily(con: duckdb.DuckDBPyConnection) -> None:
    """Captures and daily values for observations written straight into the table
    (benchmarks, an operator's bulk import), and those observations compacted to change
    points: what migration 007 does to a database's history, and what ingestion keeps.
    Days already in `daily_values` are kept."""
    con.execute(next(sql for number, _, sql in migration_files() if number == 7))


# What scoring reads ------------------------------------------------------------------

_DAILY_COLUMNS = "source, model_id, metric, day, value, observed_at, day_number, prev_value"


def daily_until(
    con: duckdb.DuckDBPyConnection,
    as_of: datetime,
    pairs: list[tuple[str, str]],
    since: dict[tuple[str, str], object] | None = None,
    sources: list[str] = (),
    models: list[str] | None = None,
    before: date | None = None,
) -> duckdb.DuckDBPyRelation:
    """(source, model_id, metric, day, value, observed_at, day_number, prev_value) of every
    series of the (source, metric) `pairs` and of the `sources` (every metric), each day
    from `since[pair]` (a date; absent: its first) up to `as_of`, as known at `as_of`.
    `models` and `before`: only these models' series of the pairs, only days before it.

    A day `as_of` falls within holds what was captured by then: its last value then is
    the series' change point at or before then, its time its source's last capture by
    then (a series counts as captured at its source's captures between its own first and
    last of that day)."""
    as_of = naive_utc(as_of)
    since = since or {}
    filters, params = [], []
    for source, metric in pairs:
        start = since.get((source, metric))
        filters.append("(source = ? AND metric = ?" + (" AND day >= ?)" if start else ")"))
        params += [source, metric] + ([start] if start else [])
    for source in sources:
        filters.append("(source = ?)")
        params.append(source)
    if not filters:
        filters.append("false")
    narrowed = ""
    if models is not None:
        narrowed += " AND list_contains(?::VARCHAR[], model_id)"
        params.append(list(models))
    if before is not None:
        narrowed += " AND day < ?"
        params.append(before)
    chosen = (
        f"SELECT * FROM daily_values WHERE ({' OR '.join(filters)}){narrowed}"
        " AND day <= ?::DATE AND first_at <= ?"
    )
    params += [as_of, as_of]
    partial_value = (
        "(SELECT arg_max(o.value, o.observed_at) FROM observations o"
        f" WHERE {_same('o', 'd')} AND o.observed_at <= ?)"
    )
    partial_at = (
        "(SELECT max(c.observed_at) FROM captures c WHERE c.source = d.source"
        " AND c.metric = d.metric AND c.observed_at BETWEEN d.first_at AND ?)"
    )
    return con.sql(
        f"WITH chosen AS ({chosen})"
        f" SELECT {_DAILY_COLUMNS} FROM chosen WHERE observed_at <= ?"
        f" UNION ALL SELECT d.source, d.model_id, d.metric, d.day, {partial_value},"
        f" {partial_at}, d.day_number, d.prev_value FROM chosen d WHERE d.observed_at > ?",
        params=params + [as_of, as_of, as_of, as_of],
    )


def unrefreshed_days(
    con: duckdb.DuckDBPyConnection,
    pair: tuple[str, str],
    since: date | None,
    before: date,
    share: float,
    min_series: int,
) -> list[tuple[str, str, date]]:
    """(source, metric, day) of the pair's days from `since` (None: its first) to before
    `before` on which at least `share` of at least `min_series` series repeat their
    previous day's value exactly (the source did not refresh them; the rule of
    `scoring.growth._refreshed`), judged on every series, in the database: scoring reads
    those days of a few series only."""
    source, metric = pair
    return rows(
        con,
        "SELECT source, metric, day FROM daily_values WHERE source = ? AND metric = ?"
        " AND day < ? AND day >= coalesce(?::DATE, DATE '0001-01-01')"
        " AND value IS NOT NULL AND prev_value IS NOT NULL GROUP BY ALL"
        " HAVING count(*) >= ? AND avg(CASE WHEN value = prev_value THEN 1.0 ELSE 0.0 END) >= ?",
        [source, metric, before, since, min_series, share],
    )


def daily_values(
    con: duckdb.DuckDBPyConnection, pairs: list[tuple[str, str]]
) -> duckdb.DuckDBPyRelation:
    """(source, model_id, metric, day, value): each series' last value of each day, for the
    (source, metric) `pairs` (at least one)."""
    values = ", ".join(["(?, ?)"] * len(pairs))
    return con.sql(
        "SELECT source, model_id, metric, day, value FROM daily_values"
        f" WHERE (source, metric) IN (VALUES {values})",
        params=[part for pair in pairs for part in pair],
    )


def top_movers(
    con: duckdb.DuckDBPyConnection, days: int, source: str | None, limit: int
) -> list[tuple]:
    """Top movers over the last `days` days: (source, model, metric, first, last, growth %)."""
    where = "AND source = ?" if source else ""
    params: list = [days] + ([source] if source else []) + [limit]
    return rows(
        con,
        f"""
        WITH daily AS (SELECT source, model_id, metric, day, value FROM daily_values)
        SELECT source, model_id, metric, arg_min(value, day), arg_max(value, day),
               (arg_max(value, day) - arg_min(value, day)) / arg_min(value, day) * 100 AS growth
        FROM daily
        WHERE day > (SELECT max(day) FROM daily) - to_days(CAST(? AS INTEGER)) {where}
        GROUP BY ALL HAVING count(*) >= 2 AND arg_min(value, day) > 0
        ORDER BY growth DESC LIMIT ?
        """,
        params,
    )


def last_days(con: duckdb.DuckDBPyConnection, as_of: datetime) -> dict[tuple[str, str], object]:
    """Each (source, metric)'s last captured day at or before `as_of`."""
    found = con.execute(
        "SELECT source, metric, max(observed_at)::DATE FROM captures WHERE observed_at <= ?"
        " GROUP BY ALL",
        [naive_utc(as_of)],
    ).fetchall()
    return {(source, metric): day for source, metric, day in found}


# (source, model_id) of every series captured within [$2, $1] (presence): a day's first
# or last capture in it, or a capture of its source in it between the two.
CAPTURED_WITHIN = (
    "SELECT DISTINCT d.source, d.model_id FROM daily_values d"
    " WHERE d.day BETWEEN $2::DATE AND $1::DATE AND d.first_at <= $1"
    " AND d.observed_at >= $2 AND (d.first_at >= $2 OR d.observed_at <= $1"
    "  OR EXISTS (SELECT 1 FROM captures c WHERE c.source = d.source"
    "   AND c.metric = d.metric AND c.observed_at BETWEEN $2 AND $1"
    "   AND c.observed_at BETWEEN d.first_at AND d.observed_at))"
)
