"""The facts: `observations`, `prices`, `price_changes`, `catalog`, `quarantine`, and
presence (`listings`, and which offers and ids are present at a time)."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

from schemas.rows import CatalogEntry, Price, SourceResult

from .connection import delete_counted, insert_many, naive_utc, rows, utcnow
from .daily import CAPTURED_WITHIN, record_observations


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


# Presence (migration 005). Sources whose payload is their whole list, and what one list
# covers: OpenRouter's catalogue and LiteLLM's price map list every model (scope ''), an
# OpenRouter endpoints page lists one model's providers (scope = the model). Hugging Face
# reports a top-N and GitHub a configured repo list: leaving those says nothing about a
# model, so they never delist; their ids count as present while observed within
# `identity.presence_window`.
FULL_LISTS = {"openrouter": False, "litellm_prices": False, "openrouter_endpoints": True}


def record_listing(
    con: duckdb.DuckDBPyConnection, run_id: str, result: SourceResult
) -> set[tuple[str, str, str]]:
    """Record that this run's prices were its source's complete list at their time, and
    move the offers' presence spans to match; returns the offers (source, model, provider)
    whose presence changed.

    Only for a complete run (status ok): a failed or partial one must never delist.
    An empty list delists nothing either (an upstream outage, not a catalogue), nor does
    an endpoints run that quarantined records (which model's page they were is lost).
    A catalogue-wide list names the offers of models it quarantined too (listed, only
    unreadable): those priced before it."""
    per_model = FULL_LISTS.get(result.source)
    if per_model is None or not result.prices:
        return set()
    if per_model and result.quarantined:
        return set()
    lists: dict[tuple[str, datetime], set[tuple[str, str]]] = {}
    for p in result.prices:
        scope = p.model_id if per_model else ""
        lists.setdefault((scope, naive_utc(p.observed_at)), set()).add((p.model_id, p.provider))
    unreadable = sorted({q.model_id for q in result.quarantined if q.model_id})
    if not per_model and unreadable:
        for (_, at), members in lists.items():
            members |= set(
                rows(
                    con,
                    "SELECT DISTINCT model_id, provider FROM prices WHERE source = ?"
                    " AND model_id IN (SELECT unnest(?)) AND observed_at < ?",
                    [result.source, unreadable, at],
                )
            )
    # A pass takes at most one list per scope (a run's lists are usually one per scope):
    # a later list of the same scope is placed among the lists the earlier one left.
    passes: list[dict[tuple[str, datetime], set[tuple[str, str]]]] = []
    seen: dict[str, int] = {}
    for (scope, at), members in sorted(lists.items()):
        n = seen[scope] = seen.get(scope, -1) + 1
        if n == len(passes):
            passes.append({})
        passes[n][(scope, at)] = members
    changed: set[tuple[str, str, str]] = set()
    for batch in passes:
        found = _record_lists(con, result.source, run_id, batch)
        changed |= {(result.source, model_id, provider) for model_id, provider in found}
    return changed


def _record_lists(
    con: duckdb.DuckDBPyConnection,
    source: str,
    run_id: str,
    lists: dict[tuple[str, datetime], set[tuple[str, str]]],
) -> set[tuple[str, str]]:
    """Complete lists (scope, time) -> the offers (model, provider) each named, one per
    scope: their `listings` rows, and the spans they extend, start, move or split. A list
    may land between two stored ones (a back-fill): the spans are then what in-order
    ingestion would have left. Set-based: an endpoints run lists hundreds of scopes."""
    con.execute("CREATE OR REPLACE TEMP TABLE fresh_lists (scope VARCHAR, list_at TIMESTAMP)")
    insert_many(con, "INSERT INTO fresh_lists VALUES", [list(key) for key in lists])
    con.execute(  # a list known already (the same capture landed again) changes nothing
        "DELETE FROM fresh_lists f USING listings l WHERE l.source = ? AND l.scope = f.scope"
        " AND l.observed_at = f.list_at",
        [source],
    )
    con.execute(
        "INSERT INTO listings (source, scope, observed_at, run_id)"
        " SELECT ?, scope, list_at, ? FROM fresh_lists",
        [source, run_id],
    )
    after = {
        (scope, at): nxt
        for scope, at, nxt in rows(
            con,
            "SELECT f.scope, f.list_at, min(l.observed_at) FROM fresh_lists f LEFT JOIN listings l"
            " ON l.source = ? AND l.scope = f.scope AND l.observed_at > f.list_at GROUP BY ALL",
            [source],
        )
    }
    covering: dict[tuple[str, datetime], dict[tuple[str, str], tuple]] = {k: {} for k in after}
    for scope, at, model_id, provider, listed_at, delisted_at in rows(
        con,
        "SELECT f.scope, f.list_at, s.model_id, s.provider, s.listed_at, s.delisted_at"
        " FROM fresh_lists f JOIN presence_spans s ON s.source = ? AND s.scope = f.scope"
        " AND s.listed_at < f.list_at AND (s.delisted_at IS NULL OR s.delisted_at > f.list_at)",
        [source],
    ):
        covering[(scope, at)][(model_id, provider)] = (listed_at, delisted_at)
    starting: dict[tuple[str, datetime], set[tuple[str, str]]] = {k: set() for k in after}
    for scope, at, model_id, provider in rows(
        con,
        "SELECT f.scope, f.list_at, s.model_id, s.provider FROM fresh_lists f"
        " JOIN (SELECT f2.scope, f2.list_at, min(l.observed_at) AS nxt FROM fresh_lists f2"
        "  JOIN listings l ON l.source = ? AND l.scope = f2.scope AND l.observed_at > f2.list_at"
        "  GROUP BY ALL) n"
        "  ON n.scope = f.scope AND n.list_at = f.list_at"
        " JOIN presence_spans s ON s.source = ? AND s.scope = f.scope AND s.listed_at = n.nxt",
        [source, source],
    ):
        starting[(scope, at)].add((model_id, provider))
    con.execute("DROP TABLE fresh_lists")
    new: list[list] = []
    moves: list[list] = []  # the span the next list started begins at this one
    ends: list[list] = []  # listed before this list, not on it: delisted here
    changed: set[tuple[str, str]] = set()
    for (scope, at), nxt in sorted(after.items()):
        members, spans = lists[(scope, at)], covering[(scope, at)]
        for offer in sorted(members - spans.keys()):
            if offer in starting[(scope, at)]:
                moves.append([at, source, *offer, nxt])
            else:
                new.append([source, scope, *offer, at, nxt])  # listed until the next list
            changed.add(offer)
        for offer, (listed_at, delisted_at) in sorted(spans.items()):
            if offer in members:
                continue
            ends.append([at, source, *offer, listed_at])
            if nxt is not None and delisted_at != nxt:  # back from the next list on
                new.append([source, scope, *offer, nxt, delisted_at])
            changed.add(offer)
    if moves:
        con.executemany(
            "UPDATE presence_spans SET listed_at = ? WHERE source = ? AND model_id = ?"
            " AND provider = ? AND listed_at = ?",
            moves,
        )
    if ends:
        con.executemany(
            "UPDATE presence_spans SET delisted_at = ? WHERE source = ? AND model_id = ?"
            " AND provider = ? AND listed_at = ?",
            ends,
        )
    insert_many(
        con,
        "INSERT INTO presence_spans (source, scope, model_id, provider, listed_at, delisted_at)"
        " VALUES",
        new,
    )
    return changed


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


# The offers present as of $1: each (source, model, provider)'s latest price at or before
# then, kept when its source's latest complete list by then (for its scope) named it
# (`presence_spans`), or when it was seen after that list (a partial run can list, never
# delist). Where no complete list exists yet, an offer seen since $2 counts. An endpoints
# offer needs its model on OpenRouter's list too (a model gone from the catalogue answers
# 404 there). A model its latest list named only in a quarantined record counts with $3
# (listed), not without (its price then is unreadable). Prices are stored on change: a
# row is quoted from `observed_at` through `confirmed_at`.
_PRESENT_OFFERS = """
WITH lists AS (
    SELECT source, scope, max(observed_at) AS at, arg_max(run_id, observed_at) AS run_id
    FROM listings WHERE observed_at <= $1 GROUP BY ALL
),
latest AS (
    SELECT source, model_id, provider, max(observed_at) AS at,
        arg_max(coalesce(confirmed_at, observed_at), observed_at) AS confirmed
    FROM prices WHERE observed_at <= $1 GROUP BY ALL
),
offers AS (
    SELECT s.source, s.model_id, s.provider, s.at FROM latest s
    LEFT JOIN lists l ON l.source = s.source
        AND l.scope = CASE WHEN s.source = 'openrouter_endpoints' THEN s.model_id ELSE '' END
    WHERE CASE WHEN l.at IS NULL THEN least(s.confirmed, $1) >= $2
        ELSE s.at > l.at OR (s.confirmed > l.at AND s.confirmed <= $1)
            OR (EXISTS (SELECT 1 FROM presence_spans m WHERE m.source = s.source
                    AND m.model_id = s.model_id AND m.provider = s.provider
                    AND m.listed_at <= l.at AND (m.delisted_at IS NULL OR m.delisted_at > l.at))
                AND ($3 OR NOT EXISTS (SELECT 1 FROM quarantine q
                    WHERE q.run_id = l.run_id AND q.model_id = s.model_id))) END
),
present AS (
    SELECT * FROM offers o WHERE o.source <> 'openrouter_endpoints'
        OR NOT EXISTS (SELECT 1 FROM lists WHERE source = 'openrouter')
        OR o.model_id IN (SELECT model_id FROM offers WHERE source = 'openrouter')
)
"""


def present_prices(
    con: duckdb.DuckDBPyConnection, now: datetime, window_seconds: int
) -> list[tuple]:
    """(source, model_id, provider, prompt, completion) of every offer present at `now`:
    what a snapshot scored then may quote. A delisted offer's last price is history."""
    now = naive_utc(now)
    return rows(
        con,
        _PRESENT_OFFERS + "SELECT o.source, o.model_id, o.provider, p.prompt_usd_per_mtok,"
        " p.completion_usd_per_mtok FROM present o JOIN prices p ON p.source = o.source"
        " AND p.model_id = o.model_id AND p.provider = o.provider AND p.observed_at = o.at"
        " ORDER BY 1, 2, 3",
        [now, now - timedelta(seconds=window_seconds), False],
    )


def present_ids(
    con: duckdb.DuckDBPyConnection, now: datetime, window_seconds: int
) -> set[tuple[str, str]]:
    """(source, model_id) of every id present at `now`: on its full-list source's latest
    list (quarantined records count: listed, only unreadable), or, for sources that list
    no catalogue, observed or catalogued within the window before `now`."""
    now = naive_utc(now)
    since = now - timedelta(seconds=window_seconds)
    found = rows(
        con,
        _PRESENT_OFFERS + "SELECT DISTINCT source, model_id FROM present"
        f" UNION {CAPTURED_WITHIN}"
        " UNION SELECT source, model_id FROM catalog"
        "  WHERE source NOT IN (SELECT unnest($4)) AND first_seen_at <= $1"
        "  AND last_seen_at >= $2",
        [now, since, True, sorted(FULL_LISTS)],
    )
    return {(source, model_id) for source, model_id in found}


def downsample(con: duckdb.DuckDBPyConnection, older_than_days: int) -> int:
    """Keep one observation per series per day (the day's last) once it is older than this;
    returns how many rows went. Day-level history is all scoring reads."""
    return delete_counted(
        con,
        "observations",
        [
            "DELETE FROM observations o WHERE o.observed_at < ? AND o.observed_at <"
            " (SELECT max(i.observed_at) FROM observations i WHERE i.source = o.source"
            "  AND i.model_id = o.model_id AND i.metric = o.metric"
            "  AND i.observed_at::DATE = o.observed_at::DATE)"
        ],
        utcnow() - timedelta(days=older_than_days),
    )


# A catalog row spans every observation of the model: first_seen_at the earliest,
# last_seen_at the latest, and the identity facts (and run_id) those of the newest
# observation, so back-filling an older dump never overwrites what a newer one said and
# dumps loaded in any order leave the same table. (SET expressions read the old row.)
_NEWEST_WINS = (
    "canonical_slug",
    "hugging_face_id",
    "display_name",
    "context_length",
    "alias_target",
    "run_id",
)
CATALOG_UPSERT = (
    "ON CONFLICT (source, model_id) DO UPDATE SET"
    " first_seen_at = least(catalog.first_seen_at, excluded.first_seen_at),"
    " last_seen_at = greatest(catalog.last_seen_at, excluded.last_seen_at), "
    + ", ".join(
        f"{column} = CASE WHEN excluded.last_seen_at >= catalog.last_seen_at"
        f" THEN excluded.{column} ELSE catalog.{column} END"
        for column in _NEWEST_WINS
    )
)


# A creation date is a fact that does not change: a report without one keeps the one known.
CATALOG_UPSERT += ", created_at = coalesce(excluded.created_at, catalog.created_at)"


def _catalog_rows(
    result: SourceResult, fallback: datetime
) -> list[tuple[CatalogEntry, datetime, datetime]]:
    """One (entry, first seen, last seen) per model, times in naive UTC: an upsert may not
    touch a row twice. A time is the entry's `observed_at`, else the latest time of the
    run's facts about the model, else `fallback` (the wall clock). The entry kept is the
    newest observation, and of equally new ones the last listed."""
    facts: dict[tuple[str, str], datetime] = {}
    for fact in (*result.observations, *result.prices):
        key, at = (fact.source, fact.model_id), naive_utc(fact.observed_at)
        facts[key] = max(at, facts.get(key, at))
    found: dict[tuple[str, str], tuple[CatalogEntry, datetime, datetime]] = {}
    for c in result.catalog:
        key = (c.source, c.model_id)
        at = naive_utc(c.observed_at) if c.observed_at else facts.get(key, fallback)
        if key not in found:
            found[key] = (c, at, at)
            continue
        entry, first, last = found[key]
        found[key] = (c if at >= last else entry, min(first, at), max(last, at))
    return list(found.values())


def land(
    con: duckdb.DuckDBPyConnection, run_id: str, result: SourceResult, complete: bool = False
) -> int:
    """Write a source run's facts; returns how many were new. Caller owns the transaction.
    `complete`: the run read its source's whole payload (status ok), so a full-list
    source's prices are its list at their time (`record_listing`). Prices are stored on
    change (`land_prices`): a capture that only confirms them stores none, and a run with
    nothing new does not call for a publish."""
    captured = record_observations(con, run_id, result)
    # Presence first: a back-filled price splitting a stored one finds the lists around it.
    changed = record_listing(con, run_id, result) if result.prices and complete else set()
    stored = land_prices(con, run_id, result.prices) if result.prices else []
    now = utcnow()
    if result.catalog:
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
                    first,
                    last,
                    run_id,
                    c.alias_target,
                    None if c.created_at is None else naive_utc(c.created_at),
                ]
                for c, first, last in _catalog_rows(result, now)
            ],
            suffix=CATALOG_UPSERT,
        )
    if stored:
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
    # New facts: observations, price rows, and offers listed or delisted at an unchanged
    # price (a capture that only confirms what is stored adds none).
    return captured + len(stored) + len(changed - set(stored))


def observations_until(con: duckdb.DuckDBPyConnection, as_of: datetime) -> duckdb.DuckDBPyRelation:
    """(source, model_id, metric, value, observed_at) of every observation made by `as_of`."""
    return con.sql(
        "SELECT source, model_id, metric, value, observed_at FROM observations"
        " WHERE observed_at <= ?",
        params=[naive_utc(as_of)],
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


def observed_ids(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(source, model_id) of every id ever observed, in order."""
    return rows(con, "SELECT DISTINCT source, model_id FROM observations ORDER BY ALL")


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


def source_totals(con: duckdb.DuckDBPyConnection, source: str) -> tuple[int, int]:
    """(observations, quarantined records) the source ever stored."""
    return rows(
        con,
        "SELECT (SELECT count(*) FROM observations WHERE source = ?),"
        " (SELECT count(*) FROM quarantine WHERE source = ?)",
        [source, source],
    )[0]


def catalog_links(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(source, model_id, canonical_slug, hugging_face_id, alias_target) of every catalogued
    id that links ids (Hugging Face rows only date models: left out), in order."""
    return rows(
        con,
        "SELECT source, model_id, canonical_slug, hugging_face_id, alias_target FROM catalog"
        " WHERE source <> 'huggingface' ORDER BY 1, 2",
    )


def creation_dates(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """(source, model_id, created_at) of every catalogued id whose source dates it."""
    return con.sql("SELECT source, model_id, created_at FROM catalog WHERE created_at IS NOT NULL")
