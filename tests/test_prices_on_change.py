"""Prices stored on change (issue 13): a capture repeating an offer's price confirms the
stored row instead of storing another, and presence keeps its meaning without every
capture's price rows. Each test replays OpenRouter /api/v1/models bodies in the real shape
through `ingest_files` into a real DuckDB file, in order and shuffled, or through a
database written by the migrations before 008."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb

import store
from ingest.runner import ingest_files
from ingest.sources import build_sources
from schemas.config import TractionConfig
from traction.analytics import refresh

from helpers import openrouter_models
from payloads import endpoints_body

T0 = datetime(2025, 6, 1, 12, tzinfo=timezone.utc)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def at(n: float) -> datetime:
    """The stored form of `day(n)` (naive UTC)."""
    return day(n).replace(tzinfo=None)


A = {"prompt": 1, "completion": 2}
B = {"prompt": 3, "completion": 4}
# Seven daily catalogues: acme/a goes A -> B -> A over spans of captures; acme/b is
# delisted on days 2-3 and relisted at its old price; acme/c arrives on day 1 and never
# changes; acme/d quotes B for one capture between As (a back-fill of day 3 lands inside
# a stored A span); acme/e changes only its completion price.
DAYS: list[list[dict[str, Any]]] = [
    [{"id": "acme/a", **A}, {"id": "acme/b", **A}, {"id": "acme/d", **A}, {"id": "acme/e", **A}],
    [{"id": "acme/a", **A}, {"id": "acme/b", **A}, {"id": "acme/c"}, {"id": "acme/d", **A}],
    [{"id": "acme/a", **B}, {"id": "acme/c"}, {"id": "acme/d", **A}, {"id": "acme/e", **A}],
    [{"id": "acme/a", **B}, {"id": "acme/c"}, {"id": "acme/d", **B}, {"id": "acme/e", **A}],
    [{"id": "acme/a", **A}, {"id": "acme/b", **A}, {"id": "acme/c"}, {"id": "acme/d", **A}],
    [{"id": "acme/a", **A}, {"id": "acme/b", **A}, {"id": "acme/c"}, {"id": "acme/d", **A}],
    [
        {"id": "acme/a", **A},
        {"id": "acme/b", **A},
        {"id": "acme/c"},
        {"id": "acme/e", "completion": 9},
    ],
]


def ingest(config: TractionConfig, order: list[int]) -> None:
    folder = Path(config.storage.database).parent
    with store.connect(config.storage.database) as con:
        for n in order:
            path = folder / f"openrouter-{n}.json"
            path.write_text(json.dumps(openrouter_models(DAYS[n])))
            outcome = ingest_files(con, config, "openrouter", [path], day(n))
            assert outcome.status == "ok", outcome.error


def tables(database: Path) -> dict[str, Any]:
    """What an analyst and the snapshot read, minus run ids (a back-fill runs under others)."""
    with store.connect(database, read_only=True) as con:
        found: dict[str, Any] = {
            table: store.rows(con, f"SELECT * EXCLUDE (run_id) FROM {table} ORDER BY ALL")
            for table in ("prices", "price_changes", "listings")
        }
        found["presence"] = store.rows(con, "SELECT * FROM presence ORDER BY ALL")
        found["listed"] = store.rows(con, "SELECT * FROM listed ORDER BY ALL")
        for n in (0.5, 1.5, 2.5, 3.5, 4.5, 6.5):
            found[f"present_prices@{n}"] = store.present_prices(con, day(n), 86400)
            found[f"present_ids@{n}"] = store.present_ids(con, day(n), 86400)
    return found


def offer_rows(found: dict[str, Any], model_id: str) -> list[tuple]:
    """(observed_at, confirmed_at, prompt, completion) of the model's stored prices."""
    return sorted((r[5], r[-1], r[3], r[4]) for r in found["prices"] if r[1] == model_id)


def test_a_repeated_price_confirms_its_row_and_a_to_b_to_a_stores_three(config: TractionConfig):
    ingest(config, list(range(len(DAYS))))
    found = tables(config.storage.database)

    assert offer_rows(found, "acme/a") == [
        (at(0), at(1), 1, 2),
        (at(2), at(3), 3, 4),
        (at(4), at(6), 1, 2),
    ]
    # relisted at its old price: one row, confirmed when it came back; presence has the gap
    assert offer_rows(found, "acme/b") == [(at(0), at(6), 1, 2)]
    assert offer_rows(found, "acme/c") == [(at(1), at(6), 1, 2)]
    assert offer_rows(found, "acme/d") == [
        (at(0), at(2), 1, 2),
        (at(3), at(3), 3, 4),
        (at(4), at(5), 1, 2),
    ]
    assert len(found["prices"]) == 10  # of 28 captured prices
    presence = [r for r in found["presence"] if r[1] in ("acme/b", "acme/d", "acme/e")]
    assert [(r[1], r[3], r[4]) for r in presence] == [
        ("acme/b", at(0), at(2)),
        ("acme/b", at(4), None),
        ("acme/d", at(0), at(6)),
        ("acme/e", at(0), at(1)),
        ("acme/e", at(2), at(4)),
        ("acme/e", at(6), None),
    ]
    changes = [(r[1], r[3], r[4], r[5], r[6], r[7]) for r in found["price_changes"]]
    assert changes == [
        ("acme/a", at(2), 1, 3, 2, 4),
        ("acme/a", at(4), 3, 1, 4, 2),
        ("acme/d", at(3), 1, 3, 2, 4),
        ("acme/d", at(4), 3, 1, 4, 2),
        ("acme/e", at(6), 1, 1, 2, 9),
    ]
    # the price quoted as of a time is the row covering it, and only while listed
    quoted = {r[1]: (r[3], r[4]) for r in found["present_prices@2.5"]}
    assert quoted == {"acme/a": (3, 4), "acme/c": (1, 2), "acme/d": (1, 2), "acme/e": (1, 2)}
    quoted = {r[1]: (r[3], r[4]) for r in found["present_prices@4.5"]}
    assert quoted == {"acme/a": (1, 2), "acme/b": (1, 2), "acme/c": (1, 2), "acme/d": (1, 2)}
    assert ("openrouter", "acme/b") not in found["present_ids@3.5"]
    assert ("openrouter", "acme/b") in found["present_ids@4.5"]


def test_back_fills_in_any_order_leave_the_tables_of_in_order_ingestion(
    tmp_path: Path, config: TractionConfig
):
    ingest(config, list(range(len(DAYS))))
    in_order = tables(config.storage.database)

    orders = [
        [0, 2, 4, 5, 6, 3, 1],  # day 3's B lands inside acme/d's stored A span
        [6, 5, 4, 3, 2, 1, 0],
        [3, 0, 6, 1, 5, 2, 4],
    ]
    orders += [random.Random(seed).sample(range(len(DAYS)), len(DAYS)) for seed in (13, 14)]
    for number, order in enumerate(orders):
        other = config.model_copy(deep=True)
        other.storage.database = tmp_path / f"backfill-{number}.duckdb"
        ingest(other, order)
        assert tables(other.storage.database) == in_order, order


def test_a_database_migrated_to_008_keeps_its_history(tmp_path: Path, config: TractionConfig):
    """A database the migrations before 008 wrote, with every capture's price rows (as
    traction stored them then), migrates in place to the tables on-change ingestion makes."""
    ingest(config, list(range(len(DAYS))))
    expected = tables(config.storage.database)

    old = tmp_path / "before-008.duckdb"
    con = duckdb.connect(str(old))
    con.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL)"
    )
    for number, name, sql in store.migration_files():
        if number < 8:
            con.execute(sql)
            con.execute("INSERT INTO schema_version VALUES (?, ?, now())", [number, name])
    source = build_sources(config, only_enabled=False)["openrouter"]
    for n, models in enumerate(DAYS):
        result = source.parse([openrouter_models(models)], day(n))
        run = f"run-{n}"
        store.insert_many(
            con,
            "INSERT INTO prices (source, model_id, provider, prompt_usd_per_mtok,"
            " completion_usd_per_mtok, observed_at, run_id) VALUES",
            [
                [p.source, p.model_id, p.provider, p.prompt_usd_per_mtok]
                + [p.completion_usd_per_mtok, at(n), run]
                for p in result.prices
            ],
        )
        con.execute("INSERT INTO listings VALUES ('openrouter', '', ?, ?)", [at(n), run])
        store.record_price_changes(con, run)
    assert store.scalar(con, "SELECT count(*) FROM prices") == 28
    presence = store.rows(con, "SELECT * FROM presence ORDER BY ALL")
    changes = store.rows(con, "SELECT * EXCLUDE (run_id) FROM price_changes ORDER BY ALL")
    con.close()

    found = tables(old)  # opened read-only: migrated first, as any older database is
    assert found["presence"] == presence
    assert found["price_changes"] == changes
    assert len(found["prices"]) == 10  # the 28 rows' repeats gone, their captures confirmed
    assert found == expected


def test_the_analytics_copy_follows_confirmations_and_back_fills(
    tmp_path: Path, config: TractionConfig
):
    """A confirmation updates an old run's row and a back-fill moves one: the copy's prices
    follow, though no new run's rows carry the change."""
    target = tmp_path / "analytics.duckdb"
    with store.connect(config.storage.database) as con:
        refresh(con, target)  # an empty copy, then appended to
    for order in ([0, 2], [4], [3], [1]):
        ingest(config, order)
        with store.connect(config.storage.database) as con:
            refresh(con, target)
            refresh(con, target)  # both files of the pair brought up to date
            ours = store.rows(con, "SELECT * FROM prices ORDER BY ALL")
        with duckdb.connect(str(target), read_only=True) as copy:
            assert store.rows(copy, "SELECT * FROM prices ORDER BY ALL") == ours, order


# One model's providers (a list per model page): a provider leaves and returns at its old
# price, another goes 4 -> 5 -> 4.
OFFERS = [
    {"cheap": 1, "pricey": 4},
    {"pricey": 4},
    {"cheap": 1, "pricey": 5},
    {"cheap": 1, "pricey": 4},
    {"cheap": 2, "pricey": 4},
]


def test_provider_offers_back_filled_in_any_order_leave_the_same_tables(
    tmp_path: Path, config: TractionConfig
):
    def load(database: Path, order: list[int]) -> dict[str, Any]:
        other = config.model_copy(deep=True)
        other.storage.database = database
        with store.connect(database) as con:
            for n in order:
                for source, body in (
                    ("openrouter", openrouter_models([{"id": "acme/a"}])),
                    ("openrouter_endpoints", endpoints_body("acme/a", OFFERS[n])),
                ):
                    path = tmp_path / f"{source}-{n}.json"
                    path.write_text(json.dumps(body))
                    assert ingest_files(con, other, source, [path], day(n)).status == "ok"
        return tables(database)

    in_order = load(tmp_path / "in-order.duckdb", list(range(len(OFFERS))))
    pricey = [
        (r[5], r[-1], r[3])
        for r in sorted(in_order["prices"], key=lambda r: r[5])
        if r[2] == "pricey"
    ]
    assert pricey == [(at(0), at(1), 4), (at(2), at(2), 5), (at(3), at(4), 4)]
    cheap = [(r[3], r[4]) for r in in_order["presence"] if r[2] == "cheap"]
    assert cheap == [(at(0), at(1)), (at(2), None)]
    for number, order in enumerate([[4, 3, 2, 1, 0], [0, 3, 4, 2, 1], [2, 0, 4, 1, 3]]):
        found = load(tmp_path / f"backfill-{number}.duckdb", order)
        assert found == in_order, order
