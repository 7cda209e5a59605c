"""Each source's contract: good payloads land, drifted records are quarantined with a reason,
and garbage fails the payload without a partial result."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from ingest.http import PayloadError
from ingest.sources import HuggingFaceSource, OpenRouterSource, WzrdSource
from schemas.config import HuggingFaceConfig, OpenRouterConfig, WzrdConfig
from traction.demo.upstream import bundled

from payloads import WZRD_A, WZRD_B, WZRD_C

NOW = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


def metrics(result, model_id):
    return {o.metric: o.value for o in result.observations if o.model_id == model_id}


# OpenRouter -------------------------------------------------------------------------


def openrouter() -> OpenRouterSource:
    return OpenRouterSource(OpenRouterConfig())


def test_openrouter_prices_stay_exact_and_are_reported_per_million():
    payload = copy.deepcopy(bundled("openrouter", 0))
    payload["data"][0]["pricing"]["prompt"] = "0.0000000208333333333333"  # 22 decimals, real
    result = openrouter().parse([payload], NOW)
    assert result.quarantined == []
    price = next(p for p in result.prices if p.model_id == payload["data"][0]["id"])
    assert price.prompt_usd_per_mtok == Decimal("0.0208333333333333")
    auto = next(p for p in result.prices if p.model_id == "openrouter/auto")
    assert auto.prompt_usd_per_mtok is None  # "-1" = variable, never a number to compare
    assert result.vintage == "paged"


def test_openrouter_links_hugging_face_ids_and_treats_empty_string_as_none():
    result = openrouter().parse([bundled("openrouter", 0)], NOW)
    links = {c.model_id: c.hugging_face_id for c in result.catalog}
    assert links["qwen/qwen3.5-9b"] == "Qwen/Qwen3.5-9B"
    assert links["anthropic/claude-sonnet-4.5"] is None  # sent as ""
    assert links["openrouter/auto"] is None  # sent as null


def test_openrouter_2025_envelope_without_pagination_fields_is_accepted():
    payload = {"data": bundled("openrouter", 0)["data"]}
    for model in payload["data"]:
        model.pop("canonical_slug")  # absent before 2025-09
    result = openrouter().parse([payload], NOW)
    assert result.vintage == "unpaged"
    assert len(result.prices) == len(payload["data"])
    assert all(c.canonical_slug == c.model_id for c in result.catalog)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda m: m["pricing"].update(prompt=0.0000001), "pricing.prompt"),
        (lambda m: m["pricing"].update(prompt="cheap"), "not a decimal"),
        (lambda m: m.pop("pricing"), "pricing"),
        (lambda m: m.update(id="no-slash-id"), "id"),
        (lambda m: m.update(created="2026-01-01"), "created"),
        (lambda m: m.update(context_length=-5), "context_length"),
    ],
)
def test_openrouter_drifted_record_is_quarantined_with_reason(mutate, reason):
    payload = copy.deepcopy(bundled("openrouter", 0))
    bad = payload["data"][2]
    mutate(bad)
    result = openrouter().parse([payload], NOW)
    assert len(result.quarantined) == 1
    assert reason in result.quarantined[0].reason
    assert result.quarantined[0].record_index == 2
    assert len(result.prices) == len(payload["data"]) - 1  # the others still land


def test_openrouter_unknown_keys_are_allowed():
    payload = copy.deepcopy(bundled("openrouter", 0))
    payload["data"][0]["brand_new_field"] = {"x": 1}
    payload["surprise"] = True
    assert openrouter().parse([payload], NOW).quarantined == []


@pytest.mark.parametrize("garbage", [[], "<html>", {"models": []}, {"data": "nope"}, None])
def test_openrouter_garbage_payload_fails_the_run(garbage):
    with pytest.raises(PayloadError):
        openrouter().parse([garbage], NOW)


# Hugging Face -----------------------------------------------------------------------


def huggingface() -> HuggingFaceSource:
    return HuggingFaceSource(HuggingFaceConfig())


def test_huggingface_expand_fields_become_observations():
    result = huggingface().parse([bundled("huggingface", 3)], NOW)
    got = metrics(result, "Qwen/Qwen3.5-9B")
    assert set(got) == {"downloads", "likes", "trending_score", "downloads_all_time"}
    assert all(o.observed_at == NOW for o in result.observations)


def test_huggingface_2023_item_without_expand_fields_still_counts():
    item = {
        "_id": "x",
        "id": "albert-base-v1",
        "likes": 5,
        "private": False,
        "downloads": 10,
        "tags": [],
        "pipeline_tag": "fill-mask",
        "modelId": "albert-base-v1",
    }
    result = huggingface().parse([[item]], NOW)
    assert metrics(result, "albert-base-v1") == {"downloads": 10.0, "likes": 5.0}


def test_huggingface_drifted_record_is_quarantined_and_the_rest_land():
    page = bundled("huggingface", 6)  # carries one record with downloads "n/a"
    result = huggingface().parse([page], NOW)
    assert [q.model_id for q in result.quarantined] == ["example-org/drifted-model"]
    assert "downloads" in result.quarantined[0].reason
    assert len({o.model_id for o in result.observations}) == len(page) - 1


def test_huggingface_overlapping_listings_count_a_model_once():
    page = bundled("huggingface", 0)
    result = huggingface().parse([page, page[:3]], NOW)
    assert len(result.observations) == len({(o.model_id, o.metric) for o in result.observations})


@pytest.mark.parametrize("garbage", [{"error": "rate limited"}, "text", 42])
def test_huggingface_garbage_payload_fails_the_run(garbage):
    with pytest.raises(PayloadError):
        huggingface().parse([garbage], NOW)


# WZRD -------------------------------------------------------------------------------


def wzrd() -> WzrdSource:
    return WzrdSource(WzrdConfig())


@pytest.mark.parametrize(("payload", "vintage"), [(WZRD_A, "A"), (WZRD_B, "B"), (WZRD_C, "C")])
def test_wzrd_every_vintage_maps_to_the_same_metrics(payload, vintage):
    result = wzrd().parse([payload], NOW)
    assert result.vintage == vintage
    assert result.quarantined == []
    got = metrics(result, "Qwen/Qwen3.5-9B")
    assert {"momentum", "trend_points", "confidence_weight"} <= set(got)


def test_wzrd_delta_is_read_from_both_names():
    a = metrics(wzrd().parse([WZRD_A], NOW), "Qwen/Qwen3.5-9B")
    c = metrics(wzrd().parse([WZRD_C], NOW), "Qwen/Qwen3.5-9B")
    assert a["delta_pct"] == 65.3  # velocity_delta_pct (vintage A)
    assert c["delta_pct"] == 41.0  # delta_pct (v1 premium); the peer always read 0 here


def test_wzrd_high_and_unknown_confidence_do_not_zero_the_signal():
    got = wzrd().parse([WZRD_B], NOW)
    weights = {o.model_id: o.value for o in got.observations if o.metric == "confidence_weight"}
    assert weights == {"Qwen/Qwen3.5-9B": 1.0, "qwen/qwen3.5-9b": 0.5}


def test_wzrd_uses_generated_at_as_the_observation_time():
    result = wzrd().parse([WZRD_C], NOW)
    assert {o.observed_at for o in result.observations} == {
        datetime(2026, 3, 28, 9, 30, tzinfo=timezone.utc)
    }


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"model": "x/y", "trend": "moonshot", "score": 0.5}, "unknown trend"),
        ({"model": "x/y", "trend": "stable", "score": 1.7}, "score"),
        ({"model": "x/y", "trend": "stable", "score": 0.5, "confidence": "meh"}, "confidence"),
        ({"trend": "stable", "score": 0.5}, "model"),
        ("just a string", "not an object"),
    ],
)
def test_wzrd_drifted_record_is_quarantined(record, reason):
    payload = copy.deepcopy(WZRD_C)
    payload["models"].append(record)
    result = wzrd().parse([payload], NOW)
    assert len(result.quarantined) == 1
    assert reason in result.quarantined[0].reason
    assert metrics(result, "Qwen/Qwen3.5-9B")  # the good record still lands


@pytest.mark.parametrize(
    "garbage", [{"signal_version": "2", "models": []}, {"count": 1}, [], "<html>retired</html>"]
)
def test_wzrd_garbage_payload_fails_the_run(garbage):
    with pytest.raises(PayloadError):
        wzrd().parse([garbage], NOW)


@pytest.mark.parametrize(
    ("source", "payload"),
    [
        ("huggingface", [{"id": "a/b", "downloads": 1, "likes": 1, "trendingScore": float("nan")}]),
        (
            "wzrd",
            {
                "models": [
                    {"model": "a/b", "trend": "stable", "score": 0.5, "delta_pct": float("inf")}
                ]
            },
        ),
    ],
)
def test_non_finite_numbers_are_quarantined_not_scored(source, payload):
    parser = huggingface() if source == "huggingface" else wzrd()
    result = parser.parse([payload], NOW)
    assert result.observations == [] and len(result.quarantined) == 1
