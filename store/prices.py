"""Prices: `prices`, stored on change (a row is quoted from `observed_at` through
`confirmed_at`), and `price_changes`, derived from consecutive rows."""

from __future__ import annotations

from datetime import datetime

import duckdb

from schemas.rows import Price

from .connection import insert_many, naive_utc, rows

# What a price row says beyond its offer and time: a capture repeating all of it stores
# no row, only confirms the previous one.
PRICE_VALUES = (
    "prompt_usd_per_mtok",
    "completion_usd_per_mtok",
    "discount",
    "context_length",
    "quantization",
    "uptime_last_30m",
    "uptime_last_1d",
)
_PRICE_COLUMNS = "source, model_id, provider, observed_at, run_id, " + ", ".join(PRICE_VALUES)
_OFFER = "{a}.source = {b}.source AND {a}.model_id = {b}.model_id AND {a}.provider = {b}.provider"


def _same(a: str, b: str) -> str:
    return "NOT (" + " OR ".join(f"{a}.{c} IS DISTINCT FROM {b}.{c}" for c in PRICE_VALUES) + ")"


def land_prices(
    con: duckdb.DuckDBPyConnection, run_id: str, prices: list[Price]
) -> list[tuple[str, str, str]]:
    """Store prices on change; returns the offer of each row stored.

    Per offer (source, model, provider) the rows are the price's changes: a row is stored
    where the price differs from the one quoted before it, and `confirmed_at` is the last
    capture that quoted it before the next row. A capture landing in any order leaves
    the rows in-order ingestion would: after a row's span it confirms the row (same price)
    or starts one (or moves the next row back to it, if that row has its price); inside a
    span with another price (a back-fill) it splits the span, and the part after it is
    stored again from the first complete list after it that named the offer."""
    first: dict[tuple[str, str, str, datetime], Price] = {}
    for p in prices:
        first.setdefault((p.source, p.model_id, p.provider, naive_utc(p.observed_at)), p)
    passes: list[list[tuple[tuple[str, str, str, datetime], Price]]] = []
    seen: dict[tuple[str, str, str], int] = {}
    for key in sorted(first):
        n = seen[key[:3]] = seen.get(key[:3], -1) + 1
        if n == len(passes):
            passes.append([])
        passes[n].append((key, first[key]))
    return [offer for batch in passes for offer in _land_price_pass(con, run_id, batch)]


def _land_price_pass(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    batch: list[tuple[tuple[str, str, str, datetime], Price]],
) -> list[tuple[str, str, str]]:
    """One capture of distinct offers (see `land_prices`)."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE incoming_prices AS SELECT {_PRICE_COLUMNS} FROM prices"
        " LIMIT 0"
    )
    insert_many(
        con,
        f"INSERT INTO incoming_prices ({_PRICE_COLUMNS}) VALUES",
        [[*key, run_id, *(getattr(p, c) for c in PRICE_VALUES)] for key, p in batch],
    )
    found = rows(
        con,
        "SELECT i.source, i.model_id, i.provider, i.observed_at,"
        f" b.observed_at, coalesce(b.confirmed_at, b.observed_at), {_same('i', 'b')},"
        f" a.observed_at, coalesce(a.confirmed_at, a.observed_at), {_same('i', 'a')}"
        " FROM incoming_prices i"
        f" ASOF LEFT JOIN prices b ON {_OFFER.format(a='b', b='i')}"
        "  AND i.observed_at >= b.observed_at"
        f" ASOF LEFT JOIN prices a ON {_OFFER.format(a='a', b='i')}"
        "  AND i.observed_at < a.observed_at",
    )
    rows_new: list[list] = []  # (offer, time, confirmed_at) of each row to store
    for (
        source,
        model_id,
        provider,
        at,
        prev_at,
        prev_conf,
        prev_same,
        next_at,
        next_conf,
        next_same,
    ) in found:
        offer = [source, model_id, provider]
        if prev_at is not None and prev_same:
            continue  # the same price quoted again: confirmed below (if later)
        if prev_at is not None and at in (prev_at, prev_conf):
            continue  # another price for a capture already stored: the first one stands
        if prev_at is not None and at < prev_conf:
            _split(con, offer, prev_at, prev_conf, at)
            rows_new.append([offer, at, at])
        elif next_at is not None and next_same:
            # the next row quotes this price: it is quoted from here on
            con.execute(
                "DELETE FROM prices WHERE source = ? AND model_id = ? AND provider = ?"
                " AND observed_at = ?",
                [*offer, next_at],
            )
            rows_new.append([offer, at, next_conf])
        else:
            rows_new.append([offer, at, at])
    # One statement for the confirmations (most of a capture's prices): each offer quoting
    # its stored price again, after that row's last confirmation, moves it forward.
    con.execute(
        "UPDATE prices p SET confirmed_at = c.at FROM ("
        "  SELECT i.source, i.model_id, i.provider, b.observed_at AS row_at, i.observed_at AS at"
        "  FROM incoming_prices i"
        f" ASOF JOIN prices b ON {_OFFER.format(a='b', b='i')} AND i.observed_at >= b.observed_at"
        f"  WHERE {_same('i', 'b')}"
        "   AND i.observed_at > coalesce(b.confirmed_at, b.observed_at)) c"
        f" WHERE {_OFFER.format(a='p', b='c')} AND p.observed_at = c.row_at"
    )
    by_key = {tuple(offer) + (at,): until for offer, at, until in rows_new}
    insert_many(
        con,
        f"INSERT INTO prices ({_PRICE_COLUMNS}, confirmed_at) VALUES",
        [
            [*key, run_id, *(getattr(p, c) for c in PRICE_VALUES), by_key[key]]
            for key, p in batch
            if key in by_key
        ],
    )
    con.execute("DROP TABLE incoming_prices")
    return [tuple(offer) for offer, _, _ in rows_new]


def _split(
    con: duckdb.DuckDBPyConnection, offer: list, start: datetime, end: datetime, at: datetime
) -> None:
    """A price at `at` inside the span [start, end] of the row observed at `start`, which
    quoted another: the row ends at the last complete list before `at` that named the
    offer, and is stored again from the first after it (with that list's run), confirmed
    until `end`. Without such lists (a span only partial runs confirmed) the span's own
    ends stand in."""
    before, after, after_run = rows(
        con,
        "SELECT max(observed_at) FILTER (WHERE observed_at < $5),"
        " min(observed_at) FILTER (WHERE observed_at > $5),"
        " arg_min(run_id, observed_at) FILTER (WHERE observed_at > $5)"
        " FROM (SELECT l.observed_at, l.run_id FROM presence_spans s JOIN listings l"
        "  ON l.source = s.source AND l.scope = s.scope AND l.observed_at >= s.listed_at"
        "  AND (s.delisted_at IS NULL OR l.observed_at < s.delisted_at)"
        "  WHERE s.source = $1 AND s.model_id = $2 AND s.provider = $3)"
        " WHERE observed_at BETWEEN $4 AND $6",
        [*offer, start, at, end],
    )[0]
    con.execute(
        f"INSERT INTO prices ({_PRICE_COLUMNS}, confirmed_at)"
        " SELECT * REPLACE (?::TIMESTAMP AS observed_at, coalesce(?, run_id) AS run_id,"
        " ?::TIMESTAMP AS confirmed_at)"
        f" FROM (SELECT {_PRICE_COLUMNS}, confirmed_at FROM prices WHERE source = ?"
        "  AND model_id = ? AND provider = ? AND observed_at = ?)",
        [after or end, after_run, end, *offer, start],
    )
    con.execute(
        "UPDATE prices SET confirmed_at = ? WHERE source = ? AND model_id = ? AND provider = ?"
        " AND observed_at = ?",
        [before or start, *offer, start],
    )


def record_price_changes(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Compare each price this run stored with the one before it, per source, model and
    provider, and keep every difference.

    A back-filled observation can land between two stored ones: it changes what the
    later neighbour is compared with, so each series' changes from the run's earliest
    new observation on are re-derived, not appended. Observations loaded in any order
    then leave the changes in-order ingestion would. (A change's run is the run that
    stored the new price, as in-order ingestion records it.)"""
    touched = (
        "SELECT source, model_id, provider, min(observed_at) AS since FROM prices"
        " WHERE run_id = ? GROUP BY ALL"
    )
    con.execute(
        f"DELETE FROM price_changes c USING ({touched}) t WHERE c.source = t.source"
        " AND c.model_id = t.model_id AND c.provider = t.provider AND c.changed_at >= t.since",
        [run_id],
    )
    con.execute(
        "INSERT INTO price_changes SELECT source, model_id, provider, observed_at, prev_prompt,"
        " prompt_usd_per_mtok, prev_completion, completion_usd_per_mtok, run_id FROM ("
        "  SELECT p.*, t.since, lag(p.prompt_usd_per_mtok) OVER w AS prev_prompt,"
        "   lag(p.completion_usd_per_mtok) OVER w AS prev_completion,"
        "   lag(p.observed_at) OVER w AS prev_at"
        f"  FROM prices p JOIN ({touched}) t ON p.source = t.source"
        "   AND p.model_id = t.model_id AND p.provider = t.provider"
        "  WINDOW w AS (PARTITION BY p.source, p.model_id, p.provider ORDER BY p.observed_at))"
        " WHERE observed_at >= since AND prev_at IS NOT NULL"
        " AND (prompt_usd_per_mtok IS DISTINCT FROM prev_prompt"
        "  OR completion_usd_per_mtok IS DISTINCT FROM prev_completion)",
        [run_id],
    )
