"""The retry and pacing policy (ingest/policy.py) on canned HTTP."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest
import respx

import store
from ingest.http import FetchError, SourceClient
from ingest.policy import BudgetExhausted, RequestBudget, reset_wait_seconds, retry_after_seconds
from ingest.runner import ingest
from schemas.config import RetryConfig

from helpers import loopback_config

RETRY = RetryConfig(attempts=3, backoff_initial=0.01, backoff_max=0.05, run_budget=10)
URL = "http://up.test/x"


def fetch(url: str = URL, budget: RequestBudget | None = None):
    async def go():
        async with SourceClient("test", 5, RETRY, budget or RequestBudget(100, 60)) as client:
            page = await client.get_json(url)
            return page, client.requests

    return asyncio.run(go())


def response(status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=httpx.Request("GET", URL))


# What is retried -------------------------------------------------------------------


@respx.mock
def test_503_then_success_is_retried():
    route = respx.get(URL).mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json={"a": 1})]
    )
    page, requests = fetch()
    assert page.data == {"a": 1} and route.call_count == requests == 2


@respx.mock
def test_other_4xx_is_never_retried():
    for status in (400, 401, 403, 422):
        route = respx.get(URL).mock(return_value=httpx.Response(status))
        with pytest.raises(FetchError, match=f"HTTP {status}"):
            fetch()
        assert route.call_count == 1
        respx.reset()


@respx.mock
def test_persistent_5xx_gives_up_after_the_configured_attempts():
    route = respx.get(URL).mock(return_value=httpx.Response(502))
    with pytest.raises(FetchError, match="HTTP 502 .* after retries"):
        fetch()
    assert route.call_count == RETRY.attempts


@respx.mock
def test_connection_refused_is_unreachable():
    respx.get(URL).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(FetchError) as err:
        fetch()
    assert err.value.unreachable


@respx.mock
def test_gone_feed_is_unreachable_not_an_error_page():
    respx.get(URL).mock(return_value=httpx.Response(410, json={"detail": "retired"}))
    with pytest.raises(FetchError) as err:
        fetch()
    assert err.value.unreachable and err.value.status == 410


# Server hints ----------------------------------------------------------------------


def test_retry_after_in_seconds_and_as_an_http_date():
    now = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds(response(429, **{"Retry-After": "17"}), now) == 17
    assert retry_after_seconds(response(429, **{"Retry-After": later}), now) == 90
    assert retry_after_seconds(response(429, **{"Retry-After": "soon"}), now) is None
    assert retry_after_seconds(response(429), now) is None


def test_hugging_face_ratelimit_header_holds_only_when_spent():
    spent = response(
        200, RateLimit='"api";r=0;t=42', **{"RateLimit-Policy": '"fixed window";"api";q=500;w=300'}
    )
    left = response(200, RateLimit='"api";r=12;t=42')
    assert reset_wait_seconds(spent) == 42
    assert reset_wait_seconds(left) is None


def test_github_ratelimit_headers_hold_until_reset():
    now = 1_800_000_000.0
    spent = response(
        403, **{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(now) + 600)}
    )
    left = response(
        200, **{"X-RateLimit-Remaining": "59", "X-RateLimit-Reset": str(int(now) + 600)}
    )
    assert reset_wait_seconds(spent, now) == 600
    assert reset_wait_seconds(left, now) is None


@respx.mock
def test_announced_lower_quota_replaces_the_configured_budget():
    budget = RequestBudget(500, 300)
    policy = '"fixed window";"api";q=100;w=300'
    respx.get(URL).mock(
        return_value=httpx.Response(200, json=[], headers={"RateLimit-Policy": policy})
    )
    fetch(budget=budget)
    assert budget.limit == 100
    higher = RequestBudget(50, 300)
    fetch(budget=higher)
    assert higher.limit == 50  # a higher announced quota never loosens the configured one


@respx.mock
def test_spent_quota_header_holds_the_next_request():
    budget = RequestBudget(100, 60)
    respx.get(URL).mock(
        return_value=httpx.Response(200, json=[], headers={"RateLimit": '"api";r=0;t=120'})
    )
    fetch(budget=budget)
    assert budget.wait_needed(time.time()) == pytest.approx(120, abs=2)


# Request budgets -------------------------------------------------------------------


def test_budget_allows_its_limit_per_window_then_asks_to_wait():
    budget = RequestBudget(limit=3, window=60)
    budget.preload([1000.0, 1010.0, 1020.0])
    assert budget.wait_needed(1030.0) == 30  # the first slot frees at 1060
    assert budget.wait_needed(1060.0) == 0


def test_budget_refuses_a_request_it_cannot_fit_before_the_deadline():
    budget = RequestBudget(limit=1, window=3600)
    budget.preload([time.time()])
    with pytest.raises(BudgetExhausted, match="1 per 3600s"):
        asyncio.run(budget.acquire(deadline=time.time() + 5))


def test_spent_budget_fails_the_run_instead_of_breaking_the_limit(tmp_path):
    """A cron run counts what earlier runs spent (the runs table) against the window."""
    config = loopback_config(tmp_path, "http://up.test", huggingface={"enabled": False})
    config.sources.openrouter.requests_per_window = 2
    config.sources.openrouter.window = 3600
    with respx.mock:
        route = respx.get("http://up.test/api/v1/models").respond(200, json={"data": []})
        with store.connect(config.storage.database) as con:
            first = ingest(con, config, only=["openrouter"])
            second = ingest(con, config, only=["openrouter"])
            from ingest import policy

            policy._budgets.clear()  # a new process: only the database remembers
            (third,) = ingest(con, config, only=["openrouter"])
    assert [o.status for o in first + second] == ["ok", "unchanged"]
    assert third.status == "failed" and "request budget" in third.error
    assert route.call_count == 2
