"""The fault matrix: every source against what the real internet does to it.

Each case seeds a good run first, then runs the source once under the fault, and
asserts what was stored, what was quarantined and why, the run's status, and that
nothing stored before changed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx

import store
from ingest.runner import ingest

from helpers import loopback_config
from payloads import T0, WZRD_A, page_of

BASE = "http://up.test"
T1 = T0 + timedelta(days=1)

URLS = {
    "openrouter": f"{BASE}/api/v1/models",
    "huggingface": f"{BASE}/api/models",
    "wzrd": f"{BASE}/v1/signals/momentum",
    "openrouter_endpoints": f"{BASE}/api/v1/models/qwen/qwen3.5-9b/endpoints",
    "openrouter_rankings": f"{BASE}/api/v1/datasets/rankings-daily",
    "github": f"{BASE}/repos/QwenLM/Qwen3.5",
    "litellm_prices": f"{BASE}/prices.json",
}
SOURCES = list(URLS)


def config_for(tmp_path, source: str):
    config = loopback_config(
        tmp_path,
        BASE,
        huggingface={"authors": ["Qwen"], "top_n": 0, "page_size": 1},
        openrouter_endpoints={"models": ["qwen/qwen3.5-9b"]},
        github={"enabled": True, "repositories": ["QwenLM/Qwen3.5"]},
        litellm_prices={"enabled": True, "location": f"{BASE}/prices.json"},
        wzrd={"enabled": True},
    )
    config.retry.backoff_max = 0.05
    return config


Responder = Callable[[httpx.Request], httpx.Response]


def good(source: str, day: int) -> Responder:
    """Serves the day's payload; Hugging Face and OpenRouter paginate like the real APIs."""
    payload = page_of(day, source)

    def respond(request: httpx.Request) -> httpx.Response:
        if source == "huggingface":
            offset = int(request.url.params.get("cursor", "0"))
            size = int(request.url.params.get("limit", "1"))
            headers = {}
            if offset + size < len(payload):
                nxt = request.url.copy_set_param("cursor", str(offset + size))
                headers["Link"] = f'<{nxt}>; rel="next"'
            return httpx.Response(200, json=payload[offset : offset + size], headers=headers)
        return httpx.Response(200, json=payload)

    return respond


def first_then(first: Callable[[httpx.Request], httpx.Response], then: Responder) -> Responder:
    calls = {"n": 0}

    def respond(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return first(request) if calls["n"] == 1 else then(request)

    return respond


def raise_timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("read timed out", request=request)


DRIFT = {  # one record per source, broken the way upstream drift breaks things
    "openrouter": (lambda p: p["data"][1]["pricing"].update(prompt=1e-07), "pricing.prompt"),
    "huggingface": (lambda p: p[0].update(downloads="1.2k"), "downloads"),
    "wzrd": (
        lambda p: p["models"].append({"model": "x/y", "trend": "viral", "score": 0.4}),
        "unknown trend",
    ),
    "openrouter_endpoints": (
        lambda p: p["data"]["endpoints"][0]["pricing"].update(discount="half"),
        "discount",
    ),
    "openrouter_rankings": (lambda p: p["data"][0].update(total_tokens="12e9"), "total_tokens"),
    "github": (lambda p: p.update(stargazers_count="21k"), "stargazers_count"),
    "litellm_prices": (
        lambda p: p["groq/openai/gpt-oss-120b"].pop("litellm_provider"),
        "litellm_provider",
    ),
}


def older(source: str, payload: Any) -> tuple[Any, str | None]:
    """The same facts in an older contract vintage, and the vintage the run should report."""
    if source == "openrouter":  # 2025-05: only {"data": [...]}, no canonical_slug
        rows = copy.deepcopy(payload["data"])
        for row in rows:
            row.pop("canonical_slug", None)
        return {"data": rows}, "unpaged"
    if source == "huggingface":  # 2023 items: no expand fields
        return [{k: m[k] for k in ("_id", "id", "likes", "downloads")} for m in payload], "expand"
    if source == "wzrd":
        older_a = copy.deepcopy(WZRD_A)
        older_a["generated_at"] = payload["generated_at"]
        return older_a, "A"
    if source == "openrouter_endpoints":  # before 2026-03: no uptime_last_1d, no discount
        old = copy.deepcopy(payload)
        for offer in old["data"]["endpoints"]:
            offer.pop("uptime_last_1d")
            offer["pricing"].pop("discount")
        return old, None
    if source == "litellm_prices":  # 1.55-era: legacy max_tokens, ints for zero costs
        old = copy.deepcopy(payload)
        for entry in old.values():
            entry["max_tokens"] = 8192
        old["groq/openai/gpt-oss-120b"]["input_cost_per_token"] = 0
        return old, None
    return copy.deepcopy(payload), None


def table_rows(con) -> dict[str, list]:
    return {
        "observations": store.rows(con, "SELECT * FROM observations ORDER BY ALL"),
        # a capture repeating every value stores no observation: its time is a capture
        "captures": store.rows(con, "SELECT * FROM captures ORDER BY ALL"),
        # prices are stored on change: a capture quoting the stored price confirms it
        # (`confirmed_at`), so each row stands for the first and the last capture quoting it
        "prices": store.rows(
            con,
            "SELECT DISTINCT source, model_id, provider, prompt_usd_per_mtok,"
            " completion_usd_per_mtok, unnest([observed_at, confirmed_at]) FROM prices"
            " ORDER BY ALL",
        ),
        "quarantine": store.rows(
            con, "SELECT source, model_id, reason FROM quarantine ORDER BY ALL"
        ),
    }


def run(tmp_path, monkeypatch, source: str, responder: Responder | None):
    """Seed a good day-0 run, then run `source` once at T1 with `responder` answering."""
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-test")
    config = config_for(tmp_path, source)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get(url__startswith=URLS[source])
        route.side_effect = good(source, 0)
        with store.connect(config.storage.database) as con:
            (seed,) = ingest(con, config, only=[source], now=T0)
            assert seed.status == "ok", seed.error
            before = table_rows(con)
            route.side_effect = responder or good(source, 1)
            (outcome,) = ingest(con, config, only=[source], now=T1)
            after = table_rows(con)
            requests = store.scalar(
                con, "SELECT requests FROM runs WHERE run_id = ?", [outcome.run_id]
            )
    for table, old_rows in before.items():  # nothing stored before changed or vanished
        assert set(old_rows) <= set(after[table]), table
    new = {t: sorted(set(after[t]) - set(before[t]), key=str) for t in after}
    return outcome, new, requests


def new_facts(new: dict[str, list]) -> int:
    return len(new["observations"]) + len(new["captures"]) + len(new["prices"])


@pytest.mark.parametrize("source", SOURCES)
def test_429_with_retry_after_is_waited_out(tmp_path, monkeypatch, source):
    def busy(r):
        return httpx.Response(
            429,
            headers={"Retry-After": "0"},
            json={"error": {"code": 429, "message": "Rate limit exceeded"}},
        )

    outcome, new, requests = run(tmp_path, monkeypatch, source, first_then(busy, good(source, 1)))
    assert outcome.status == "ok", outcome.error
    assert new_facts(new) > 0 and new["quarantine"] == []
    assert requests >= 2


@pytest.mark.parametrize("source", SOURCES)
def test_503_then_success(tmp_path, monkeypatch, source):
    def down(r):
        return httpx.Response(503, text="upstream connect error")

    outcome, new, _ = run(tmp_path, monkeypatch, source, first_then(down, good(source, 1)))
    assert outcome.status == "ok", outcome.error
    assert new_facts(new) > 0


@pytest.mark.parametrize("source", SOURCES)
def test_read_timeout_is_retried(tmp_path, monkeypatch, source):
    outcome, new, _ = run(tmp_path, monkeypatch, source, first_then(raise_timeout, good(source, 1)))
    assert outcome.status == "ok", outcome.error
    assert new_facts(new) > 0


@pytest.mark.parametrize("source", SOURCES)
def test_persistent_timeouts_fail_the_run_and_store_nothing(tmp_path, monkeypatch, source):
    outcome, new, requests = run(tmp_path, monkeypatch, source, raise_timeout)
    assert outcome.status == "failed" and "ReadTimeout" in outcome.error
    assert new_facts(new) == 0 and requests == 2  # retry.attempts in the loopback config


@pytest.mark.parametrize("source", SOURCES)
def test_truncated_json_fails_the_run_and_stores_nothing(tmp_path, monkeypatch, source):
    body = json.dumps(page_of(1, source)).encode()

    def cut(r):
        return httpx.Response(
            200,
            content=body[: len(body) // 2],
            headers={"content-type": "application/json"},
        )

    outcome, new, _ = run(tmp_path, monkeypatch, source, cut)
    assert outcome.status == "failed" and "not JSON" in outcome.error
    assert new == {"observations": [], "captures": [], "prices": [], "quarantine": []}


@pytest.mark.parametrize("source", SOURCES)
def test_html_error_page_with_status_200_fails_the_run(tmp_path, monkeypatch, source):
    def page(r):
        return httpx.Response(
            200,
            text="<!DOCTYPE html><html><body>Just a moment...</body></html>",
            headers={"content-type": "text/html; charset=utf-8"},
        )

    outcome, new, _ = run(tmp_path, monkeypatch, source, page)
    assert outcome.status == "failed" and "text/html" in outcome.error
    assert new == {"observations": [], "captures": [], "prices": [], "quarantine": []}


@pytest.mark.parametrize("source", SOURCES)
def test_drifted_record_among_good_ones_is_quarantined(tmp_path, monkeypatch, source):
    payload = page_of(1, source)
    mutate, reason = DRIFT[source]
    mutate(payload)
    outcome, new, _ = run(
        tmp_path, monkeypatch, source, lambda r: httpx.Response(200, json=payload)
    )
    assert len(new["quarantine"]) == 1 and reason in new["quarantine"][0][2]
    assert outcome.quarantined == 1 and any(reason in r for r in outcome.reasons)
    if source == "github":  # GitHub's payload is the one record: nothing usable came back
        assert outcome.status == "failed" and "no record passed" in outcome.error
        assert new_facts(new) == 0
    else:
        assert outcome.status in ("ok", "degraded"), outcome.error
        assert new_facts(new) > 0


@pytest.mark.parametrize("source", SOURCES)
def test_payload_in_an_older_vintage_is_accepted(tmp_path, monkeypatch, source):
    payload, vintage = older(source, page_of(1, source))
    outcome, new, _ = run(
        tmp_path, monkeypatch, source, lambda r: httpx.Response(200, json=payload)
    )
    assert outcome.status == "ok", outcome.error
    assert new["quarantine"] == [] and new_facts(new) > 0
    if vintage:
        assert outcome.vintage == vintage


def test_openrouter_duplicated_page_adds_no_duplicate_facts(tmp_path, monkeypatch):
    payload = page_of(1, "openrouter")
    paged = dict(payload, links={"next": "/api/v1/models?offset=500&limit=500"})
    last = dict(payload, links={"next": None})

    def respond(request):
        return httpx.Response(200, json=last if "offset" in str(request.url) else paged)

    outcome, new, requests = run(tmp_path, monkeypatch, "openrouter", respond)
    assert outcome.status == "ok" and requests == 2
    assert outcome.duplicates == len(payload["data"])
    assert len(new["prices"]) == len(payload["data"])


def test_huggingface_duplicated_page_adds_no_duplicate_facts(tmp_path, monkeypatch):
    models = page_of(1, "huggingface")

    def respond(request):
        cursor = request.url.params.get("cursor")
        nxt = request.url.copy_set_param("cursor", "again")
        headers = {} if cursor == "again" else {"Link": f'<{nxt}>; rel="next"'}
        return httpx.Response(200, json=models, headers=headers)  # page 2 repeats page 1

    outcome, new, requests = run(tmp_path, monkeypatch, "huggingface", respond)
    assert outcome.status == "ok" and requests == 2
    assert outcome.duplicates == len(models)
    assert len(new["observations"]) == len({(r[1], r[2]) for r in new["observations"]})


def test_openrouter_pagination_loop_fails_and_stores_nothing(tmp_path, monkeypatch):
    looping = dict(page_of(1, "openrouter"), links={"next": "/api/v1/models"})
    outcome, new, _ = run(
        tmp_path, monkeypatch, "openrouter", lambda r: httpx.Response(200, json=looping)
    )
    assert outcome.status == "failed" and "loop" in outcome.error
    assert new_facts(new) == 0


def test_huggingface_pagination_loop_fails_and_stores_nothing(tmp_path, monkeypatch):
    models = page_of(1, "huggingface")

    def respond(request):
        first = request.url.copy_remove_param("cursor")
        nxt = first if request.url.params.get("cursor") else first.copy_set_param("cursor", "1")
        return httpx.Response(200, json=models[:1], headers={"Link": f'<{nxt}>; rel="next"'})

    outcome, new, _ = run(tmp_path, monkeypatch, "huggingface", respond)
    assert outcome.status == "failed" and "loop" in outcome.error
    assert new_facts(new) == 0
