"""Fuzz: whatever body an upstream answers with, each source's run ends recorded.

Per source, hypothesis builds response bodies from arbitrary JSON (huge and non-finite
numbers, control and bidi characters, very long strings, nesting far past any real
payload) mixed with records shaped like the source's contract, serves them through an
in-process httpx transport to the source's real `fetch`, and lands the result into a
real DuckDB file. No exception may escape; every run has its `runs` row; a failed run
stores no facts and says why; whatever is stored passes the limits in schemas/limits.py.
Bounded: a few dozen examples per source, a few seconds each.
"""

from __future__ import annotations

import asyncio
import json
import math
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import store
from ingest.policy import RequestBudget
from ingest.runner import fetch_source, land
from ingest.sources import SOURCE_TYPES, build_sources
from schemas.limits import check_model_id

from helpers import loopback_config

NOW = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
BASE = "http://up.test"

hostile_text = st.one_of(
    st.text(max_size=12),
    st.text(
        alphabet=st.sampled_from(["a", "/", "\x00", "\x1b", "\u202e", "\u2066", "\u200b", "é"]),
        max_size=12,
    ),
    st.sampled_from(["", "a/b", "Qwen/Qwen3.5-9B", "x" * 5000, "2026-13-45", "-1", "other"]),
)
hostile_numbers = st.one_of(
    st.integers(),
    st.integers(min_value=2**62, max_value=2**70),
    st.sampled_from([10**309, -(10**400), 2**63, 2**64, 0, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1e30", "1e1000000000", "-1e-1000000000", "NaN", "Infinity", "1e-7"]),
)
scalars = st.none() | st.booleans() | hostile_numbers | hostile_text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=5),
    max_leaves=20,
)

FIELDS = {  # (required, optional) fields of each source's records
    "openrouter": (
        ["id", "name", "created", "pricing", "architecture"],
        ["context_length", "canonical_slug", "hugging_face_id", "alias_target"],
    ),
    "huggingface": (["id", "downloads", "likes"], ["trendingScore", "downloadsAllTime"]),
    "wzrd": (["model", "trend", "score"], ["confidence", "delta_pct", "momentum_score"]),
    "openrouter_endpoints": (
        ["provider_name", "tag", "pricing"],
        ["context_length", "quantization", "uptime_last_30m", "uptime_last_1d"],
    ),
    "openrouter_rankings": (["date", "model_permaslug", "total_tokens"], []),
    "github": (["full_name", "stargazers_count", "forks_count"], ["subscribers_count"]),
    "litellm_prices": (
        ["litellm_provider", "input_cost_per_token"],
        ["output_cost_per_token", "max_input_tokens", "mode"],
    ),
}
ids = st.sampled_from(["a/b", "Qwen/Qwen3.5-9B", "x/y:free", "qwen/qwen3.5-9b"])
counts = st.integers(0, 10**9)
prices = st.sampled_from(["0", "-1", "1e-7", "0.000000000000000000001", "12.5"])
PLAUSIBLE = {  # values that pass, so records also reach the row building and the insert
    "id": ids,
    "model": ids,
    "full_name": st.sampled_from(["a/b", "QwenLM/Qwen3.5"]),
    "model_permaslug": ids | st.just("other"),
    "hugging_face_id": ids | st.just(""),
    "canonical_slug": ids,
    "alias_target": st.builds(lambda s: {"slug": s}, ids),
    "tag": st.sampled_from(["groq", "together"]),
    "provider_name": st.sampled_from(["Groq", "Together"]),
    "trend": st.sampled_from(["stable", "surging"]),
    "confidence": st.sampled_from(["high", "low"]),
    "score": st.floats(0, 1),
    "momentum_score": st.floats(0, 1),
    "delta_pct": st.floats(-100, 100),
    "date": st.sampled_from(["2026-11-19", "2026-11-18", "2026-02-30", "9999-12-31"]),
    "litellm_provider": st.just("groq"),
    "input_cost_per_token": st.sampled_from([0, 1.5e-07, 2e-06]),
    "output_cost_per_token": st.sampled_from([0, 7.5e-07]),
    "pricing": st.fixed_dictionaries({"prompt": prices, "completion": prices}),
    "architecture": st.just({}),
    "name": st.sampled_from(["Qwen 3.5", "GPT"]),
    "created": counts,
    "quantization": st.sampled_from(["fp8", "bf16"]),
    "uptime_last_30m": st.floats(0, 100),
    "uptime_last_1d": st.floats(0, 100),
    "trendingScore": st.floats(0, 1000),
    "mode": st.just("chat"),
}


def field_value(field: str) -> st.SearchStrategy[Any]:
    plausible = PLAUSIBLE.get(field, counts)
    hostile = json_values | hostile_numbers | hostile_text
    if field == "pricing":
        hostile = hostile | st.fixed_dictionaries(
            {"prompt": hostile_numbers.map(str), "completion": prices}
        )
    # One value in eight hostile (one_of would weigh each of hostile's branches alike).
    return st.integers(0, 7).flatmap(lambda k: hostile if k == 0 else plausible)


def record(source: str) -> st.SearchStrategy[dict]:
    required, optional = FIELDS[source]
    return st.fixed_dictionaries(
        {f: field_value(f) for f in required}, optional={f: field_value(f) for f in optional}
    )


def envelope(source: str) -> st.SearchStrategy[Any]:
    records = st.lists(
        st.integers(0, 5).flatmap(lambda k: json_values if k == 0 else record(source)), max_size=5
    )
    if source == "openrouter":
        return st.builds(lambda d: {"data": d}, records)
    if source == "huggingface":
        return records
    if source == "wzrd":
        return st.builds(
            lambda d, g: {"models": d, "generated_at": g},
            records,
            st.none() | st.sampled_from(["2026-11-19T00:00:00Z", "9999-12-31T23:59:59-23:59"]),
        )
    if source == "openrouter_endpoints":
        return st.builds(
            lambda i, d: {"data": {"id": i, "endpoints": d}},
            PLAUSIBLE["id"] | hostile_text,
            records,
        )
    if source == "openrouter_rankings":
        return st.builds(lambda d: {"data": d}, records)
    if source == "github":
        return record(source)
    if source == "litellm_prices":
        return st.dictionaries(PLAUSIBLE["id"] | hostile_text, record(source), max_size=5)
    raise AssertionError(source)


def as_body(value: Any) -> bytes:
    return json.dumps(value, default=str).encode()  # NaN and Infinity as JavaScript writes them


def deep(depth: int, inner: bytes = b"1") -> bytes:
    return b"[" * depth + inner + b"]" * depth


def bodies(source: str) -> st.SearchStrategy[bytes]:
    hostile = st.one_of(
        json_values.map(as_body),
        # nesting far past MAX_JSON_DEPTH, alone or inside a real envelope
        st.integers(1, 5000).map(deep),
        st.builds(
            lambda v, d: as_body(v).replace(b"null", deep(d), 1),
            envelope(source),
            st.integers(60, 3000),
        ),
        st.sampled_from([b"", b"{", b"\xff\xfe", b"NaN", b"1e400", b"9" * 5000]),
    )
    # Mostly the contract's shape with hostile values inside; one body in four hostile.
    return st.integers(0, 3).flatmap(lambda k: hostile if k == 0 else envelope(source).map(as_body))


def config_for(tmp_path):
    return loopback_config(
        tmp_path,
        BASE,
        huggingface={"authors": ["Qwen"], "top_n": 0, "max_pages": 2},
        github={"enabled": True, "repositories": ["a/b"]},
        litellm_prices={"enabled": True, "location": f"{BASE}/prices.json"},
        wzrd={"enabled": True},
        openrouter_endpoints={"models": ["a/b"]},
    )


PLANS = {"openrouter_endpoints": ["a/b"]}
ACCEPTABLE = {"ok", "degraded", "unchanged", "failed"}


@pytest.mark.parametrize("source_name", list(SOURCE_TYPES))
def test_any_body_ends_as_a_recorded_run(tmp_path, monkeypatch, source_name):
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-fuzz")  # rankings are keyed
    config = config_for(tmp_path)
    source = build_sources(config, only_enabled=False)[source_name]
    with store.connect(tmp_path / "fuzz.duckdb") as con:

        @settings(
            max_examples=40,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(body=bodies(source_name))
        def check(body: bytes) -> None:
            transport = httpx.MockTransport(
                lambda request: httpx.Response(
                    200, content=body, headers={"Content-Type": "application/json"}
                )
            )
            budget = RequestBudget(10**6, 60)
            fetched = asyncio.run(
                fetch_source(source, config, budget, PLANS.get(source_name), transport)
            )
            outcome = land(con, config, source, fetched, NOW)
            event(f"{outcome.status}{', facts stored' if outcome.stored else ''}")
            assert outcome.status in ACCEPTABLE, (outcome.status, outcome.error)
            (status, error, stored) = store.rows(
                con,
                "SELECT status, error, records_stored FROM runs WHERE run_id = ?",
                [outcome.run_id],
            )[0]
            assert status == outcome.status
            if status == "failed":
                assert error and stored == 0 and outcome.stored == 0
            for table in ("observations", "prices", "catalog"):
                for (model_id,) in store.rows(
                    con, f"SELECT model_id FROM {table} WHERE run_id = ?", [outcome.run_id]
                ):
                    check_model_id(model_id)
            for (value,) in store.rows(
                con, "SELECT value FROM observations WHERE run_id = ?", [outcome.run_id]
            ):
                assert math.isfinite(value)

        check()
