"""The facts: `observations` (with `daily.py`), `catalog` and `quarantine`, and landing a
run's facts in one place: `land` (prices in `prices.py`, presence in `presence.py`)."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

from schemas.rows import CatalogEntry, SourceResult

from .connection import delete_counted, insert_many, naive_utc, rows, utcnow
from .daily import record_observations
from .presence import record_listing
from .prices import land_prices, record_price_changes


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


def observed_ids(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(source, model_id) of every id ever observed, in order."""
    return rows(con, "SELECT DISTINCT source, model_id FROM observations ORDER BY ALL")


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
