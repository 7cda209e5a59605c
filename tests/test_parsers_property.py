"""Property: whatever JSON a source sends, its run never raises, and every record it
fetched ends as a fact, a quarantined record, a duplicate or a deliberate skip."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import store
from ingest.http import Fetched, PayloadError
from ingest.runner import Fetch, land
from ingest.sources import SOURCE_TYPES, build_sources

from helpers import loopback_config

NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)

scalars = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats() | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)


def field_soup(keys: list[str]) -> st.SearchStrategy[dict]:
    """Records that look like the contract: its field names, with arbitrary values."""
    return st.dictionaries(st.sampled_from(keys) | st.text(max_size=8), json_values, max_size=8)


RECORD_KEYS = {
    "openrouter": [
        "id",
        "name",
        "created",
        "context_length",
        "pricing",
        "architecture",
        "canonical_slug",
        "hugging_face_id",
    ],
    "huggingface": [
        "id",
        "downloads",
        "likes",
        "trendingScore",
        "downloadsAllTime",
        "createdAt",
        "gated",
        "library_name",
    ],
    "wzrd": [
        "model",
        "trend",
        "score",
        "confidence",
        "velocity_trend",
        "momentum_score",
        "velocity_delta_pct",
        "history_confidence",
        "delta_pct",
        "channel_id",
    ],
    "openrouter_endpoints": [
        "provider_name",
        "tag",
        "pricing",
        "context_length",
        "quantization",
        "uptime_last_30m",
        "uptime_last_1d",
        "status",
    ],
    "openrouter_rankings": ["date", "model_permaslug", "total_tokens"],
    "github": [
        "full_name",
        "stargazers_count",
        "forks_count",
        "open_issues_count",
        "subscribers_count",
        "archived",
    ],
    "litellm_prices": [
        "litellm_provider",
        "mode",
        "input_cost_per_token",
        "output_cost_per_token",
        "max_input_tokens",
    ],
}


def envelope(source: str) -> st.SearchStrategy[Any]:
    records = st.lists(field_soup(RECORD_KEYS[source]) | json_values, max_size=6)
    if source == "openrouter":
        return st.builds(lambda d: {"data": d}, records)
    if source == "huggingface":
        return records
    if source == "wzrd":
        return st.builds(
            lambda d, v: {"models": d, "signal_version": v}, records, st.none() | st.integers(0, 3)
        )
    if source == "openrouter_endpoints":
        return st.builds(lambda d: {"data": {"id": "a/b", "endpoints": d}}, records)
    if source == "openrouter_rankings":
        return st.builds(lambda d: {"data": d}, records)
    if source == "github":
        return field_soup(RECORD_KEYS["github"])
    if source == "litellm_prices":
        return st.dictionaries(st.text(max_size=10), field_soup(RECORD_KEYS[source]), max_size=6)
    raise AssertionError(source)


def payloads(source: str) -> st.SearchStrategy[list[Any]]:
    return st.lists(envelope(source) | json_values, min_size=1, max_size=3)


@pytest.mark.parametrize("source_name", list(SOURCE_TYPES))
def test_parser_accounts_for_every_record_or_refuses_the_payload(tmp_path, source_name):
    source = build_sources(loopback_config(tmp_path), only_enabled=False)[source_name]

    @settings(max_examples=150, deadline=None)
    @given(pages=payloads(source_name))
    def check(pages: list[Any]) -> None:
        try:
            result = source.parse(pages, NOW)
        except PayloadError:
            return
        accounted = result.accepted + len(result.quarantined) + result.duplicates + result.ignored
        assert accounted == result.records_fetched
        for row in result.observations:
            assert row.value == row.value and abs(row.value) != float("inf")  # finite numbers

    check()


@pytest.mark.parametrize("source_name", list(SOURCE_TYPES))
def test_a_run_on_arbitrary_json_never_raises(tmp_path, source_name):
    config = loopback_config(tmp_path)
    source = build_sources(config, only_enabled=False)[source_name]
    with store.connect(tmp_path / "p.duckdb") as con:

        @settings(
            max_examples=40,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )
        @given(pages=payloads(source_name))
        def check(pages: list[Any]) -> None:
            fetched = [Fetched("http://up.test/", 200, {}, b"{}", NOW, page) for page in pages]
            outcome = land(con, config, source, Fetch(fetched), NOW, force=True)
            assert outcome.status in ("ok", "degraded", "failed")
            if outcome.status == "failed":
                assert outcome.stored == 0 and outcome.error

        check()
