"""Traffic policy, snapshot transports, settings changes and the proxy filter, on real
litellm Routers (mock_response deployments) and real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import litellm
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from router_adapter import HttpSnapshotSource, register, stats
from router_adapter.proxy import TractionFilter, config_from_env
from schemas.config import AdapterConfig
from scoring.snapshot import render

from helpers import loopback_http, snapshot_body
from routing import (
    FIRST,
    GEMMA,
    LLAMA,
    MODELS,
    QWEN,
    TOP,
    chat_group,
    served,
)


def scores(qwen: float, llama: float, gemma: float = 0.5, version: int = 1):
    return [(QWEN, qwen, []), (LLAMA, llama, []), (GEMMA, gemma, [])], version


# Traffic policy --------------------------------------------------------------------------


def test_hysteresis_holds_the_winner_until_a_rival_clearly_beats_it(make_router, write_snapshot):
    router = make_router(chat_group())
    models, _ = scores(qwen=2.0, llama=1.0)
    path = write_snapshot(models)
    register(router, snapshot=path, check_interval=0, hysteresis=0.5)
    assert served(router, "async")[0] == TOP  # qwen wins
    write_snapshot(scores(qwen=2.0, llama=2.3)[0], version=2)  # llama ahead by 0.3 < 0.5
    assert served(router, "async")[0] == TOP  # the winner holds
    write_snapshot(scores(qwen=2.0, llama=2.6)[0], version=3)  # ahead by 0.6 > 0.5
    assert served(router, "async")[0] == "chat-llama"
    write_snapshot(scores(qwen=2.4, llama=2.6)[0], version=4)  # qwen back within the margin
    assert served(router, "async")[0] == "chat-llama"


def test_without_hysteresis_the_best_score_always_wins(make_router, write_snapshot):
    router = make_router(chat_group())
    path = write_snapshot(scores(qwen=2.0, llama=1.0)[0])
    register(router, snapshot=path, check_interval=0)
    assert served(router, "async")[0] == TOP
    write_snapshot(scores(qwen=2.0, llama=2.01)[0], version=2)
    assert served(router, "async")[0] == "chat-llama"


def test_weighted_spreads_over_the_top_k_in_proportion_to_score(make_router, write_snapshot):
    router = make_router(chat_group())
    path = write_snapshot(scores(qwen=3.0, llama=1.0, gemma=-2.0)[0])
    register(router, snapshot=path, check_interval=0, policy="weighted", top_k=2, seed=7)
    seen = Counter(served(router, "async")[0] for _ in range(400))
    assert set(seen) == {TOP, "chat-llama"}  # gemma is outside the top 2
    # weights: qwen 1.0, llama 0.1 (the floor of the top-k range) -> qwen ~91 %
    assert 0.85 < seen[TOP] / 400 < 0.96


def test_weighted_with_equal_scores_is_uniform(make_router, write_snapshot):
    router = make_router(chat_group())
    path = write_snapshot(scores(qwen=1.0, llama=1.0, gemma=1.0)[0])
    register(router, snapshot=path, check_interval=0, policy="weighted", top_k=3, seed=3)
    seen = Counter(served(router, "async")[0] for _ in range(600))
    assert all(150 < n < 250 for n in seen.values()) and len(seen) == 3


def test_bad_policy_settings_are_refused_at_register(make_router, write_snapshot):
    router = make_router(chat_group())
    with pytest.raises(ValueError, match="policy"):
        register(router, snapshot=write_snapshot(MODELS), policy="fastest")
    with pytest.raises(ValueError, match="top_k"):
        register(router, snapshot=write_snapshot(MODELS), policy="weighted", top_k=0)


# Settings changes ------------------------------------------------------------------------


def test_strategy_survives_update_settings(make_router, write_snapshot):
    router = make_router(chat_group())
    register(router, snapshot=write_snapshot(MODELS), check_interval=0)
    router.update_settings(routing_strategy="least-busy")  # what the proxy's DB sync does
    assert served(router, "async")[0] == TOP
    router.update_settings(routing_strategy="simple-shuffle", num_retries=0)
    assert served(router, "sync")[0] == TOP


# HTTP transport --------------------------------------------------------------------------


class SnapshotHTTP:
    """A loopback snapshot server whose answer, ETag handling and delay a test controls."""

    def __init__(self) -> None:
        self.body: bytes | None = None
        self.delay = 0.0
        self.status = 200
        self.requests = 0
        self.not_modified = 0
        self.server = loopback_http(Starlette(routes=[Route("/snapshot.json", self._get)]))
        self.server.start()
        self.url = f"{self.server.url}/snapshot.json"

    def _get(self, request: Request) -> Response:  # sync: Starlette runs it in a thread
        self.requests += 1
        time.sleep(self.delay)
        etag = f'"{hash(self.body)}"'
        if self.body is not None and request.headers.get("If-None-Match") == etag:
            self.not_modified += 1
            return Response(status_code=304)
        body = self.body if self.status == 200 and self.body else b"{}"
        status = self.status if self.body is not None else 503
        return Response(body, status_code=status, headers={"ETag": etag})

    def publish(self, models, version: int = 1) -> None:
        self.body = render(snapshot_body(models, version=version).seal())

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def snapshot_http():
    server = SnapshotHTTP()
    yield server
    server.close()


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_url_snapshot_routes_and_follows_a_new_one(make_router, snapshot_http):
    snapshot_http.publish(scores(qwen=2.0, llama=1.0)[0])
    router = make_router(chat_group())
    strategy = register(router, snapshot=snapshot_http.url, refresh_interval=0.05)
    strategy.reader.wait_first(5)
    assert served(router, "async")[0] == TOP
    snapshot_http.publish(scores(qwen=1.0, llama=2.0)[0], version=2)
    wait_for(lambda: strategy.reader.loads == 2)
    assert served(router, "async")[0] == "chat-llama"
    wait_for(lambda: snapshot_http.not_modified > 0)  # unchanged: conditional GET, no body
    strategy.reader.close()


def test_a_slow_snapshot_server_never_delays_a_request(make_router, snapshot_http):
    snapshot_http.publish(MODELS)
    router = make_router(chat_group())
    strategy = register(router, snapshot=snapshot_http.url, refresh_interval=0.05)
    strategy.reader.wait_first(5)
    snapshot_http.delay = 2.0  # every refresh now hangs for 2 s
    time.sleep(0.2)
    started = time.perf_counter()
    for _ in range(5):
        assert served(router, "async")[0] == TOP  # last known good
    assert time.perf_counter() - started < 1.5  # five calls, none waited on the server
    strategy.reader.close()


def test_dead_snapshot_server_keeps_the_last_good_then_staleness_applies(
    make_router, snapshot_http
):
    snapshot_http.publish(MODELS)
    router = make_router(chat_group())
    strategy = register(router, snapshot=snapshot_http.url, refresh_interval=0.05, max_age=1.5)
    strategy.reader.wait_first(5)
    snapshot_http.close()
    time.sleep(0.3)
    assert served(router, "async")[0] == TOP  # the server is gone, its last answer is not
    time.sleep(1.5)
    model_id, decision = served(router, "async")
    assert (model_id, decision["decision"]) == (FIRST, "stale")
    strategy.reader.close()


def test_invalid_snapshot_from_the_server_keeps_the_last_good(snapshot_http):
    snapshot_http.publish(MODELS)
    source = HttpSnapshotSource(snapshot_http.url, refresh_interval=3600)
    source.wait_first(5)
    snapshot_http.body = b'{"contract_version": "traction.snapshot.v1", "models": []}'
    source.refresh()
    view, problem = source.current()
    assert view is not None and view.version == 1 and problem is None
    source.close()


def test_url_never_reached_falls_back_to_deployment_order(make_router):
    router = make_router(chat_group())
    strategy = register(router, snapshot="http://127.0.0.1:9/snapshot.json", refresh_interval=60)
    strategy.reader.wait_first(5)
    model_id, decision = served(router, "async")
    assert (model_id, decision["decision"]) == (FIRST, "unreachable")
    strategy.reader.close()


# The proxy filter --------------------------------------------------------------------------


@pytest.fixture
def with_callback():
    added = []

    def add(handler):
        litellm.callbacks.append(handler)
        added.append(handler)
        return handler

    yield add
    for handler in added:
        litellm.callbacks.remove(handler)


def test_filter_narrows_simple_shuffle_to_the_ranked_deployment(
    make_router, write_snapshot, with_callback
):
    path = write_snapshot(MODELS)
    with_callback(TractionFilter(AdapterConfig(snapshot=str(path), check_interval=0)))
    router = make_router(chat_group())  # plain simple-shuffle, no strategy
    before = stats()
    seen = Counter(served(router, "async")[0] for _ in range(12))
    assert seen == {TOP: 12}
    assert stats()["fresh"] - before.get("fresh", 0) == 12


def test_filter_falls_back_to_deployment_order_and_never_empties_the_list(
    make_router, tmp_path, with_callback
):
    handler = TractionFilter(AdapterConfig(snapshot=str(tmp_path / "missing.json")))
    with_callback(handler)
    router = make_router(chat_group())
    assert {served(router, "async")[0] for _ in range(6)} == {FIRST}
    healthy = chat_group()
    assert asyncio.run(handler.async_filter_deployments("chat", healthy, None)) == [healthy[0]]
    assert asyncio.run(handler.async_filter_deployments("chat", [], None)) == []


def test_filter_never_raises(make_router, write_snapshot, with_callback, monkeypatch):
    handler = TractionFilter(AdapterConfig(snapshot=str(write_snapshot(MODELS))))

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(handler.ranker, "choose", broken)
    healthy = chat_group()
    assert asyncio.run(handler.async_filter_deployments("chat", healthy, None)) == healthy


def test_filter_configuration_comes_from_the_environment():
    config = config_from_env(
        {
            "TRACTION_ADAPTER__SNAPSHOT": "http://127.0.0.1:8700/snapshot.json",
            "TRACTION_ADAPTER__POLICY": "weighted",
            "TRACTION_ADAPTER__TOP_K": "2",
            "TRACTION_ADAPTER__ALIAS_MAP": '{"chat": ["Qwen/Qwen3-235B-A22B"]}',
        }
    )
    assert (config.policy, config.top_k) == ("weighted", 2)
    assert config.alias_map == {"chat": ["Qwen/Qwen3-235B-A22B"]}
    with pytest.raises(ValueError, match="TRACTION_ADAPTER__TOP_K"):
        config_from_env({"TRACTION_ADAPTER__TOP_K": "many"})


def test_bad_configuration_disables_ranking_instead_of_breaking_requests(monkeypatch):
    monkeypatch.setenv("TRACTION_ADAPTER__POLICY", "fastest")
    handler = TractionFilter()
    assert handler.ranker is None and "TRACTION_ADAPTER__POLICY" in handler.problem
    healthy = chat_group()
    assert asyncio.run(handler.async_filter_deployments("chat", healthy, None)) == healthy
