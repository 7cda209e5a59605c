"""Truth after long operation (issue 13): presence is a fact, as of the scoring time.

Each test replays a short series of OpenRouter /api/v1/models bodies in the real shape
through `ingest_files` (what `traction ingest --from-file --observed-at` runs) into a real
DuckDB file, then looks where a user would: the snapshot's prices, `traction resolve`,
the adapter's match, the price_changes and presence tables."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import store
from ingest.runner import ingest_files
from schemas.config import TractionConfig
from schemas.identity import match_deployment
from schemas.snapshot import ModelScore
from scoring.snapshot import build_snapshot
from traction.beliefs import resolve

from helpers import openrouter_models
from payloads import endpoints_body

T0 = datetime(2025, 3, 1, 12, tzinfo=timezone.utc)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


Series = list[tuple[datetime, list[dict[str, Any]]]]


def ingest(config: TractionConfig, series: Series, order: list[int] | None = None) -> None:
    """Each (time, models) of the series, as a dump observed then, in `order`."""
    folder = Path(config.storage.database).parent
    with store.connect(config.storage.database) as con:
        for index in order if order is not None else range(len(series)):
            when, models = series[index]
            path = folder / f"openrouter-{when:%Y%m%dT%H%M}.json"
            path.write_text(json.dumps(openrouter_models(models)))
            outcome = ingest_files(con, config, "openrouter", [path], when)
            assert outcome.status == "ok", outcome.error


def snapshot_at(config: TractionConfig, when: datetime) -> dict[str, ModelScore]:
    with store.connect(config.storage.database) as con:
        return {m.key: m for m in build_snapshot(con, config, when).models}


def quotes(model: ModelScore) -> list[tuple[str, str | None, str | None]]:
    return [(p.model_id, p.prompt_usd_per_mtok, p.completion_usd_per_mtok) for p in model.prices]


def test_delisted_ids_stop_pricing_the_snapshot(config: TractionConfig):
    m1 = "MiniMaxAI/MiniMax-M1"
    live = {"id": "minimax/minimax-m1", "hf": m1, "prompt": "0.55", "completion": "2.2"}
    ingest(
        config,
        [
            (
                day(0),
                [
                    live,
                    {"id": "minimax/minimax-m1:extended", "hf": m1, "prompt": 0, "completion": 0},
                    {"id": "gone/model", "hf": "gone/Model", "prompt": "0.1", "completion": "0.1"},
                ],
            ),
            (day(30), [live]),  # the free :extended variant and gone/model left the list
        ],
    )

    then = snapshot_at(config, day(1))  # as of a time they were still offered
    assert then["minimaxai/minimax-m1"].cheapest.model_id == "minimax/minimax-m1:extended"
    assert "gone/model" in then

    now = snapshot_at(config, day(31))
    model = now["minimaxai/minimax-m1"]
    assert model.cheapest.model_id == "minimax/minimax-m1"
    assert quotes(model) == [("minimax/minimax-m1", "0.55", "2.2")]
    assert model.blended_usd_per_mtok == pytest.approx((3 * 0.55 + 2.2) / 4)
    assert "gone/model" not in now  # nothing offers it: it neither ranks nor prices


def test_a_stale_variant_no_longer_claims_the_live_base_id(config: TractionConfig):
    ingest(
        config,
        [
            # before OpenRouter sent hugging_face_id, with a :nitro variant since delisted
            (
                day(0),
                [
                    {"id": "deepseek/deepseek-r1", "prompt": "0.7", "completion": "2.5"},
                    {"id": "deepseek/deepseek-r1:nitro", "prompt": 3, "completion": 8},
                ],
            ),
            (
                day(200),
                [
                    {
                        "id": "deepseek/deepseek-r1",
                        "hf": "deepseek-ai/DeepSeek-R1",
                        "prompt": "0.7",
                        "completion": "2.5",
                    },
                    # a live variant listed without the link is still the base model's
                    {"id": "deepseek/deepseek-r1:free", "prompt": 0, "completion": 0},
                ],
            ),
        ],
    )

    with store.connect(config.storage.database, read_only=True) as con:
        found = resolve(con, config, "deepseek/deepseek-r1")
    assert (found["key"], found["candidates"]) == ("deepseek-ai/deepseek-r1", [])
    with store.connect(config.storage.database, read_only=True) as con:
        assert resolve(con, config, "deepseek/deepseek-r1:free")["key"] == "deepseek-ai/deepseek-r1"

    models = snapshot_at(config, day(201))
    by_alias = {a.lower(): m.key for m in models.values() for a in (m.key, *m.aliases)}
    route = {"model_name": "r1", "litellm_params": {"model": "openrouter/deepseek/deepseek-r1"}}
    assert match_deployment(route, by_alias) == "deepseek-ai/deepseek-r1"
    live = models["deepseek-ai/deepseek-r1"]
    assert live.cheapest.model_id == "deepseek/deepseek-r1"  # $0.70 / $2.50, not :nitro's
    assert live.blended_usd_per_mtok == pytest.approx((3 * 0.7 + 2.5) / 4)
    assert quotes(live) == [
        ("deepseek/deepseek-r1", "0.7", "2.5"),
        ("deepseek/deepseek-r1:free", "0", "0"),
    ]
    assert "deepseek/deepseek-r1" not in models  # no phantom


# Five observations of one catalogue: a price that moves and moves back, a variant that
# leaves and returns, a model that arrives late.
PRICED: Series = [
    (day(0), [{"id": "acme/a", "prompt": 1, "completion": 2}, {"id": "acme/a:free"}]),
    (day(1), [{"id": "acme/a", "prompt": 3, "completion": 4}]),
    (day(2), [{"id": "acme/a", "prompt": 3, "completion": 4}, {"id": "acme/a:free"}]),
    (day(3), [{"id": "acme/a", "prompt": 1, "completion": 2}, {"id": "acme/b"}]),
    (day(4), [{"id": "acme/a", "prompt": 1, "completion": 5}, {"id": "acme/b", "prompt": 2}]),
]


def tables(config: TractionConfig) -> dict[str, list[tuple]]:
    """What an analyst reads, minus run ids (a back-fill runs under other ids)."""
    with store.connect(config.storage.database, read_only=True) as con:
        return {
            "price_changes": store.rows(
                con, "SELECT * EXCLUDE (run_id) FROM price_changes ORDER BY ALL"
            ),
            "prices": store.rows(con, "SELECT * EXCLUDE (run_id) FROM prices ORDER BY ALL"),
            "catalog": store.rows(con, "SELECT * EXCLUDE (run_id) FROM catalog ORDER BY ALL"),
            "presence": store.rows(con, "SELECT * FROM presence ORDER BY ALL"),
        }


def test_back_fills_in_any_order_leave_the_tables_of_in_order_ingestion(
    tmp_path: Path, config: TractionConfig
):
    ingest(config, PRICED)
    in_order = tables(config)

    at = lambda n: day(n).replace(tzinfo=None)  # noqa: E731 (stored naive UTC)
    changes = [(r[1], r[3], r[4], r[5], r[6], r[7]) for r in in_order["price_changes"]]
    assert changes == [
        ("acme/a", at(1), 1, 3, 2, 4),
        ("acme/a", at(3), 3, 1, 4, 2),
        ("acme/a", at(4), 1, 1, 2, 5),
        ("acme/b", at(4), 1, 2, 2, 2),
    ]

    orders = [[0, 2, 1, 4, 3], [4, 3, 2, 1, 0]]
    orders.append(random.Random(13).sample(range(len(PRICED)), len(PRICED)))
    for number, order in enumerate(orders):
        other = config.model_copy(deep=True)
        other.storage.database = tmp_path / f"backfill-{number}.duckdb"
        ingest(other, PRICED, order)
        assert tables(other) == in_order, order


def test_presence_records_delistings_and_returns_and_partial_runs_delist_nothing(
    tmp_path: Path, config: TractionConfig
):
    ingest(config, PRICED)
    with store.connect(config.storage.database) as con:
        # a run that mostly failed contract checks (degraded) lists acme/a alone
        bad = openrouter_models([{"id": "acme/a"}, {"id": "x/1"}, {"id": "x/2"}])
        for record in bad["data"][1:]:
            record["pricing"] = {"prompt": "cheap", "completion": "0"}
        path = tmp_path / "partial.json"
        path.write_text(json.dumps(bad))
        assert ingest_files(con, config, "openrouter", [path], day(5)).status == "degraded"
        # and a run that could not read its payload at all
        missing = tmp_path / "missing.json"
        assert ingest_files(con, config, "openrouter", [missing], day(6)).status == "failed"
        spans = store.rows(
            con,
            "SELECT model_id, provider, listed_at, delisted_at FROM presence"
            " WHERE source = 'openrouter' ORDER BY ALL",
        )
    at = lambda n: day(n).replace(tzinfo=None)  # noqa: E731
    assert spans == [
        ("acme/a", "openrouter", at(0), None),
        ("acme/a:free", "openrouter", at(0), at(1)),
        ("acme/a:free", "openrouter", at(2), at(3)),
        ("acme/b", "openrouter", at(3), None),
    ]
    # as of day 2 the :free variant was back (kept apart from live-traffic prices, but
    # it is an offer and names its model); as of day 3 it is gone again
    assert "acme/a:free" in {q.model_id for q in snapshot_at(config, day(2))["acme/a"].prices}
    assert "acme/a:free" not in {q.model_id for q in snapshot_at(config, day(3))["acme/a"].prices}
    # the partial run delisted nothing: acme/b still prices its model
    assert quotes(snapshot_at(config, day(7))["acme/b"]) == [("acme/b", "2", "2")]


def test_a_provider_leaving_a_model_stops_quoting_and_a_delisted_model_takes_its_offers(
    tmp_path: Path, config: TractionConfig
):
    a = {"id": "acme/a", "hf": "acme/A", "prompt": 5, "completion": 5}
    ingest(config, [(day(0), [a]), (day(1), [a]), (day(2), [{"id": "acme/b"}])])
    with store.connect(config.storage.database) as con:
        for n, offers in ((0, {"cheap": 1, "pricey": 4}), (1, {"pricey": 4})):
            path = tmp_path / f"endpoints-{n}.json"
            path.write_text(json.dumps(endpoints_body("acme/a", offers)))
            outcome = ingest_files(con, config, "openrouter_endpoints", [path], day(n))
            assert outcome.status == "ok"
        spans = store.rows(
            con,
            "SELECT provider, listed_at, delisted_at FROM presence"
            " WHERE source = 'openrouter_endpoints' ORDER BY ALL",
        )
    at = lambda n: day(n).replace(tzinfo=None)  # noqa: E731
    assert spans == [("cheap", at(0), at(1)), ("pricey", at(0), None)]
    assert snapshot_at(config, day(0.5))["acme/a"].cheapest.provider == "cheap"
    assert snapshot_at(config, day(1.5))["acme/a"].cheapest.provider == "pricey"
    # gone from OpenRouter's catalogue (its endpoints page answers 404): no offer is left
    assert "acme/a" not in snapshot_at(config, day(2.5))


def test_litellm_price_map_entries_are_delisted_when_the_map_drops_them(
    tmp_path: Path, config: TractionConfig
):
    entry = {"litellm_provider": "openai", "input_cost_per_token": 1e-6}
    maps = [
        {"gpt-x": entry, "gpt-old": entry},
        {"gpt-x": entry},
        {"gpt-x": entry, "gpt-old": entry},
    ]
    with store.connect(config.storage.database) as con:
        for n, body in enumerate(maps):
            path = tmp_path / f"map-{n}.json"
            path.write_text(json.dumps(body))
            assert ingest_files(con, config, "litellm_prices", [path], day(n)).status == "ok"
        spans = store.rows(
            con,
            "SELECT model_id, listed_at, delisted_at FROM presence"
            " WHERE source = 'litellm_prices' ORDER BY ALL",
        )
        present = store.present_prices(con, day(1.5), config.identity.presence_window)
    at = lambda n: day(n).replace(tzinfo=None)  # noqa: E731
    assert spans == [("gpt-old", at(0), at(1)), ("gpt-old", at(2), None), ("gpt-x", at(0), None)]
    assert [row[1] for row in present] == ["gpt-x"]


def test_an_upgraded_database_gains_the_lists_its_earlier_runs_observed(config: TractionConfig):
    ingest(config, PRICED)
    before = tables(config)
    with store.connect(config.storage.database) as con:
        # the database as it was before migration 005
        con.execute("DROP VIEW presence; DROP VIEW listed; DROP TABLE listings")
        con.execute("DELETE FROM schema_version WHERE version >= 5")
        assert store.migrate(con) >= 5
    assert tables(config) == before
    assert before["presence"]


def test_a_model_whose_record_was_quarantined_stays_listed(tmp_path: Path, config: TractionConfig):
    models = [{"id": f"acme/m{n}", "hf": f"acme/M{n}"} for n in range(9)]
    ingest(config, [(day(0), [*models, {"id": "acme/odd", "hf": "acme/Odd"}])])
    with store.connect(config.storage.database) as con:
        body = openrouter_models([*models, {"id": "acme/odd", "hf": "acme/Odd"}])
        body["data"][-1]["pricing"]["prompt"] = "cheap"  # 1 of 10 quarantined: still ok
        path = tmp_path / "one-bad.json"
        path.write_text(json.dumps(body))
        assert ingest_files(con, config, "openrouter", [path], day(1)).status == "ok"
        spans = store.rows(
            con, "SELECT listed_at, delisted_at FROM presence WHERE model_id = 'acme/odd'"
        )
        found = resolve(con, config, "acme/odd")
    assert spans == [(day(0).replace(tzinfo=None), None)]
    assert found["key"] == "acme/odd"
    # listed, but its price now is unreadable: the snapshot quotes no stale one for it
    assert "acme/odd" not in snapshot_at(config, day(1.5))
