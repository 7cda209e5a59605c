"""Presence: what each source's complete lists named (`listings`, `presence_spans`; the
`listed` and `presence` views), and which offers and ids are present at a time."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

from schemas.rows import SourceResult

from .connection import insert_many, naive_utc, rows
from .daily import CAPTURED_WITHIN

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
