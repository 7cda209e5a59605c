"""router_adapter on a real litellm.Router: which deployment actually serves a request.

Every deployment answers with `mock_response` (no network; `api_base` is loopback in
case a mock were ever bypassed) and has an explicit `model_info.id`, so the served
deployment is `response._hidden_params["model_id"]`. Nothing of LiteLLM is mocked.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import litellm
import pytest
from litellm import Router
from litellm.types.router import RouterRateLimitError

import router_adapter.strategy
from router_adapter import (
    Ranker,
    SnapshotReader,
    SnapshotView,
    match_deployment,
    register,
    stats,
)
from schemas.snapshot import Snapshot, compute_hash
from scoring.snapshot import render, write_atomically

from helpers import snapshot_body
from routing import (
    FIRST,
    GEMMA,
    LLAMA,
    MISTRAL,
    MODELS,
    PATHS,
    QWEN,
    TOP,
    call,
    chat_group,
    deployment,
    served,
)


def failure(router: Router, path: str, model: str = "chat", **kwargs: Any) -> BaseException:
    with pytest.raises(Exception) as caught:  # noqa: B017 - the kind is asserted by the caller
        call(router, path, model, **kwargs)
    return caught.value


def sealed_json(models=MODELS, **kw: Any) -> dict[str, Any]:
    return json.loads(render(snapshot_body(models, **kw).seal()))


def stats_baseline() -> dict[str, int]:
    """stats() now, once strategies of earlier tests' dead Routers are collected.

    stats() sums live strategies only, so a collection during a test would lower it.
    """
    gc.collect()
    return stats()


def stats_delta(before: dict[str, int]) -> dict[str, int]:
    after = stats()
    keys = set(before) | set(after)
    return {k: after.get(k, 0) - before.get(k, 0) for k in keys if after.get(k) != before.get(k)}


@pytest.fixture
def snapshot_path(tmp_path: Path) -> Path:
    return tmp_path / "snapshot.json"


# 1. A fresh snapshot picks the top-ranked healthy deployment ------------------------


@pytest.mark.parametrize("path", PATHS)
def test_fresh_snapshot_serves_top_ranked_deployment_not_the_first(
    path, make_router, write_snapshot
):
    router = make_router(chat_group())
    strategy = register(router, snapshot=write_snapshot(MODELS), check_interval=0)
    before = stats_baseline()

    picks = [served(router, path) for _ in range(4)]

    assert [model_id for model_id, _ in picks] == [TOP] * 4
    decision = picks[0][1]
    assert decision["decision"] == "fresh"
    assert decision["deployment_id"] == TOP
    assert decision["snapshot_version"] == 1
    assert 0 <= decision["snapshot_age_s"] < 60
    assert strategy.counters == {"fresh": 4}
    assert stats_delta(before) == {"fresh": 4}


def test_register_installs_on_the_router_and_returns_the_strategy(make_router, write_snapshot):
    router = make_router(chat_group())
    strategy = register(router, snapshot=write_snapshot(MODELS), check_interval=0)
    assert isinstance(strategy, router_adapter.TractionStrategy)
    assert strategy.router is router
    if not hasattr(router, "register_plugin"):  # 1.106 patches the instance itself
        assert "async_get_available_deployment" in vars(router)
        assert "get_available_deployment" in vars(router)


def test_sync_entry_point_takes_litellms_parameters_by_keyword_or_position(
    make_router, write_snapshot
):
    router = make_router(chat_group())
    strategy = register(router, snapshot=write_snapshot(MODELS), check_interval=0)
    messages = [{"role": "user", "content": "hi"}]
    by_keyword = strategy.get_available_deployment(
        model="chat", messages=messages, request_kwargs={"metadata": {}}
    )
    kwargs: dict = {"metadata": {}}
    by_position = strategy.get_available_deployment("chat", messages, None, False, kwargs)
    assert by_keyword["model_info"]["id"] == by_position["model_info"]["id"] == TOP
    assert kwargs["metadata"]["traction"]["decision"] == "fresh"  # the caller's dict
    with pytest.raises(TypeError):
        strategy.get_available_deployment("chat", messages, None, False, kwargs, "extra")


def test_ties_keep_configured_order(make_router, write_snapshot):
    group = [
        deployment("tie", "tie-a", hf_repo_id=GEMMA),
        deployment("tie", "tie-b", hf_repo_id=QWEN),
        deployment("tie", "tie-c", traction_model=QWEN),
    ]
    router = make_router(group)
    register(router, snapshot=write_snapshot(MODELS), check_interval=0)
    assert served(router, "async", "tie")[0] == "tie-b"
    assert served(router, "sync", "tie")[0] == "tie-b"


@pytest.mark.parametrize("path", PATHS)
def test_pre_call_checks_still_veto_the_top_ranked_deployment(path, make_router, write_snapshot):
    """With `enable_pre_call_checks`, a deployment whose context window the request does
    not fit is never chosen, however well it ranks: on the sync path as on the async."""
    group = chat_group()
    top = next(d for d in group if d["model_info"]["id"] == TOP)
    top["litellm_params"]["model"] = "openai/qwen-tiny-context"  # its own model-info entry
    top["model_info"]["max_input_tokens"] = 3
    router = make_router(group, enable_pre_call_checks=True)
    register(router, snapshot=write_snapshot(MODELS), check_interval=0)

    picks = {served(router, path)[0] for _ in range(3)}

    assert picks == {"chat-llama"}  # the next in the snapshot's ranking, qwen > llama > gemma


# 2. Which snapshot model a deployment serves ---------------------------------------

TIER_CASES = {
    "hf_repo_id": ({"hf_repo_id": "Qwen/Qwen3-235B-A22B"}, None),
    "traction_model": ({"traction_model": QWEN}, None),
    "openrouter_slug": ({"openrouter_slug": "qwen/qwen3-235b-a22b-07-25"}, None),
    "explicit-list": ({"hf_repo_id": ["Qwen/Qwen3-235B-A22B", "qwen3-235b"]}, None),
    "alias_map-by-id": ({}, {"tier-target": "qwen3-235b"}),
    "alias_map-by-group": ({}, {"tier": ["Qwen/Qwen3-235B-A22B"]}),
    "route-openrouter": ({"route": "openrouter/meta-llama/llama-3.3-70b-instruct"}, None),
    "route-nested-prefix": ({"route": "together_ai/Qwen/Qwen3-235B-A22B"}, None),
    "route-mixed-case": ({"route": "deepinfra/meta-llama/Llama-3.3-70B-Instruct"}, None),
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", list(TIER_CASES))
def test_each_matching_tier_lifts_its_deployment_above_a_weaker_one(
    case, path, make_router, write_snapshot
):
    info, alias_map = TIER_CASES[case]
    info = dict(info)
    route = info.pop("route", "openai/private-endpoint")
    group = [
        deployment("tier", "tier-decoy", hf_repo_id=GEMMA),  # first, scores 0.5
        deployment("tier", "tier-target", route=route, **info),  # 1.5 or 2.5 once matched
    ]
    router = make_router(group)
    register(router, snapshot=write_snapshot(MODELS), alias_map=alias_map, check_interval=0)

    model_id, decision = served(router, path, "tier")

    assert model_id == "tier-target"
    assert decision["decision"] == "fresh"


def test_explicit_ids_take_precedence_over_alias_map_and_route(make_router, write_snapshot):
    group = [
        # its route and its alias_map entry name the top model, its explicit id the lowest
        deployment("prec", "prec-a", route=f"openrouter/{MISTRAL}", hf_repo_id=GEMMA),
        deployment("prec", "prec-b", hf_repo_id=LLAMA),
    ]
    router = make_router(group)
    register(
        router, snapshot=write_snapshot(MODELS), alias_map={"prec-a": MISTRAL}, check_interval=0
    )
    assert served(router, "async", "prec")[0] == "prec-b"


def test_alias_map_takes_precedence_over_route(make_router, write_snapshot):
    group = [
        deployment("prec", "prec-a", route=f"openrouter/{MISTRAL}"),
        deployment("prec", "prec-b", hf_repo_id=LLAMA),
    ]
    router = make_router(group)
    register(router, snapshot=write_snapshot(MODELS), alias_map={"prec-a": GEMMA}, check_interval=0)
    assert served(router, "async", "prec")[0] == "prec-b"


def test_ids_of_one_tier_naming_different_models_match_nothing(make_router, write_snapshot):
    group = [
        deployment("amb", "amb-both", traction_model=MISTRAL, hf_repo_id=QWEN),
        deployment("amb", "amb-gemma", hf_repo_id=GEMMA),
    ]
    router = make_router(group)
    register(router, snapshot=write_snapshot(MODELS), check_interval=0)
    assert served(router, "async", "amb")[0] == "amb-gemma"


@pytest.mark.parametrize("path", PATHS)
def test_group_named_mistral_serving_gpt4o_does_not_borrow_mistrals_score(
    path, make_router, write_snapshot
):
    snapshot = write_snapshot(MODELS)
    trap = deployment("mistral", "mistral-gpt4o", route="openai/gpt-4o")
    group = [trap, deployment("mistral", "mistral-gemma", hf_repo_id=GEMMA)]
    router = make_router(group)
    register(router, snapshot=snapshot, check_interval=0)

    # Had the trap matched mistralai/mistral-inference (4.0) it would win; unmatched it scores
    # nothing, so the 0.5 deployment behind it is served.
    assert served(router, path, "mistral")[0] == "mistral-gemma"
    view = SnapshotView.from_snapshot(Snapshot.model_validate_json(snapshot.read_bytes()))
    assert match_deployment(trap, view) is None
    assert match_deployment(trap, view, alias_map={"other-group": MISTRAL}) is None


@pytest.mark.parametrize("path", PATHS)
def test_group_where_nothing_matches_is_served_in_configured_order(
    path, make_router, write_snapshot
):
    group = [
        deployment("mistral", "mistral-gpt4o", route="openai/gpt-4o"),
        deployment("mistral", "mistral-large", route="mistral/mistral-large-latest"),
    ]
    router = make_router(group)
    strategy = register(router, snapshot=write_snapshot(MODELS), check_interval=0)
    before = stats_baseline()

    model_id, decision = served(router, path, "mistral")

    assert model_id == "mistral-gpt4o"
    assert decision["decision"] == "no-match"
    assert decision["snapshot_version"] == 1
    assert strategy.counters == {"no-match": 1}
    assert stats_delta(before) == {"no-match": 1}


# 2b. The ranking computed once per snapshot and healthy list -----------------------


def chosen_id(ranker: Ranker, group: list[dict[str, Any]], model: str = "chat") -> str:
    return ranker.choose(model, group, {})["model_info"]["id"]


def test_precomputed_ranking_follows_a_new_snapshot_and_a_changed_healthy_list(
    write_snapshot,
):
    path = write_snapshot(MODELS)
    ranker = Ranker(SnapshotReader(path, check_interval=0))
    group = chat_group()
    assert [chosen_id(ranker, group) for _ in range(3)] == [TOP] * 3

    without_top = [d for d in group if d["model_info"]["id"] != TOP]  # qwen cooling down
    assert chosen_id(ranker, without_top) == "chat-llama"
    assert chosen_id(ranker, list(group)) == TOP  # an equal list: the same ranking

    write_snapshot([(QWEN, 1.0, []), (LLAMA, 3.0, []), (GEMMA, 0.5, [])], version=2)
    assert chosen_id(ranker, group) == "chat-llama"
    write_snapshot([(QWEN, 1.0, []), (LLAMA, 0.5, []), (GEMMA, 3.0, [])], version=3)
    assert chosen_id(ranker, group) == FIRST  # gemma, by hf_repo_id


def test_rankers_sharing_a_snapshot_match_by_their_own_alias_map(write_snapshot):
    reader = SnapshotReader(write_snapshot(MODELS), check_interval=0)
    group = [deployment("pool", "pool-a"), deployment("pool", "pool-b")]  # routes match nothing
    qwen_is_a = Ranker(reader, alias_map={"pool-a": QWEN, "pool-b": GEMMA})
    qwen_is_b = Ranker(reader, alias_map={"pool-a": GEMMA, "pool-b": QWEN})
    unmapped = Ranker(reader)
    for _ in range(2):
        assert chosen_id(qwen_is_a, group, "pool") == "pool-a"
        assert chosen_id(qwen_is_b, group, "pool") == "pool-b"
        metadata: dict[str, Any] = {}
        assert unmapped.choose("pool", group, {"metadata": metadata}) is group[0]
        assert metadata["traction"]["decision"] == "no-match"


def test_decision_age_is_rounded_from_the_clock_on_every_request(write_snapshot, monkeypatch):
    generated = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=100)
    ranker = Ranker(SnapshotReader(write_snapshot(MODELS, generated_at=generated)))
    base = generated.timestamp()
    ages = [k * 0.013 for k in range(-20, 400)]
    ages += ages[::-1] + [100.04999, 100.05, 100.05001, 100.15, 1.25, 0.05, -0.05]
    for age in ages:
        monkeypatch.setattr(time, "time", lambda age=age: base + age)
        metadata: dict[str, Any] = {}
        chosen = ranker.choose("chat", chat_group(), {"metadata": metadata})
        monkeypatch.undo()
        decision = metadata["traction"]
        assert chosen["model_info"]["id"] == decision["deployment_id"] == TOP
        assert decision["decision"] == "fresh"
        assert repr(decision["snapshot_age_s"]) == repr(round((base + age) - base, 1)), age


def test_repeated_decisions_are_separate_copies_whatever_the_request_kwargs(
    write_snapshot, monkeypatch
):
    generated = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=100)
    ranker = Ranker(SnapshotReader(write_snapshot(MODELS, generated_at=generated)))
    monkeypatch.setattr(time, "time", lambda: generated.timestamp() + 100.0)
    group = chat_group()
    kinds = [{}, {"metadata": {}}, {"metadata": {}}, {"metadata": None}, None, {}]
    kinds += [{"metadata": {"model_group": "chat"}}, {"metadata": {}}]
    decisions = []
    for kwargs in kinds:
        assert ranker.choose("chat", group, kwargs) is group[1]
        if kwargs is not None and isinstance(kwargs.get("metadata"), dict):
            decisions.append(kwargs["metadata"]["traction"])
    monkeypatch.undo()
    assert kinds[3] == {"metadata": None}  # not a dict: left alone, as LiteLLM gave it
    assert kinds[6]["metadata"]["model_group"] == "chat"
    assert ranker.counters == {"fresh": len(kinds)}
    assert len(decisions) == len(kinds) - 2
    assert all(d == decisions[0] for d in decisions)
    assert len({id(d) for d in decisions}) == len(decisions)  # never one shared dict
    assert decisions[0] == {
        "decision": "fresh",
        "detail": None,
        "policy": "winner",
        "snapshot_version": 1,
        "snapshot_age_s": 100.0,
        "deployment_id": TOP,
    }


# 3. Deployments LiteLLM cooled down after real failures are never chosen -------------


def cooling_group() -> list[dict[str, Any]]:
    """chat_group() whose top-ranked deployment answers every request with a 429."""
    group = chat_group()
    group[1]["litellm_params"]["mock_response"] = "litellm.RateLimitError"
    return group


@pytest.mark.parametrize("path", PATHS)
def test_rate_limited_top_deployment_is_skipped_while_cooling_down(
    path, make_router, write_snapshot
):
    router = make_router(cooling_group(), cooldown_time=0.5)
    strategy = register(router, snapshot=write_snapshot(MODELS), check_interval=0)

    metadata: dict[str, Any] = {}
    error = failure(router, path, metadata=metadata)
    assert isinstance(error, litellm.RateLimitError)
    assert metadata["traction"]["deployment_id"] == TOP

    # LiteLLM cooled the 429ing deployment down: the next-ranked one serves, and the
    # snapshot is still trusted (this is ranking among the healthy, not a fallback).
    later = [served(router, path) for _ in range(3)]
    assert [model_id for model_id, _ in later] == ["chat-llama"] * 3
    assert {d["decision"] for _, d in later} == {"fresh"}
    assert strategy.counters == {"fresh": 4}

    # Once LiteLLM lifts the cooldown the top-ranked deployment is tried again.
    time.sleep(0.7)
    assert isinstance(failure(router, path), litellm.RateLimitError)


@pytest.mark.parametrize("path", PATHS)
def test_litellm_retry_after_a_429_is_served_by_the_next_ranked(path, make_router, write_snapshot):
    router = make_router(cooling_group(), num_retries=2)
    register(router, snapshot=write_snapshot(MODELS), check_interval=0)

    model_id, decision = served(router, path)

    assert model_id == "chat-llama"
    assert decision["deployment_id"] == "chat-llama"


@pytest.mark.parametrize("path", PATHS)
def test_whole_group_cooling_down_raises_litellms_own_error(path, make_router, write_snapshot):
    snapshot = write_snapshot(MODELS)

    def outcomes(router: Router) -> list[type]:
        return [type(failure(router, path, "busy")) for _ in range(3)]

    def busy(prefix: str) -> list[dict[str, Any]]:
        return [
            deployment("busy", f"{prefix}-1", reply="litellm.RateLimitError", hf_repo_id=QWEN),
            deployment("busy", f"{prefix}-2", reply="litellm.RateLimitError", hf_repo_id=LLAMA),
        ]

    plain = outcomes(make_router(busy("plain")))
    adapted_router = make_router(busy("adapted"))
    register(adapted_router, snapshot=snapshot, check_interval=0)
    adapted = outcomes(adapted_router)

    assert plain == [litellm.RateLimitError, litellm.RateLimitError, RouterRateLimitError]
    assert adapted == plain


def tiered_group(primary_reply: str | None = None) -> list[dict[str, Any]]:
    """LiteLLM `order` tiers: the snapshot ranks the backups above the primary."""
    group = [
        deployment("tiered", "primary", reply=primary_reply, hf_repo_id=GEMMA),
        deployment("tiered", "backup-llama", hf_repo_id=LLAMA),
        deployment("tiered", "backup-mistral", hf_repo_id=MISTRAL),
    ]
    for dep, order in zip(group, (1, 2, 2), strict=True):
        dep["litellm_params"]["order"] = order
    return group


@pytest.mark.parametrize("path", PATHS)
def test_litellm_order_tiers_come_before_the_ranking(path, make_router, write_snapshot):
    router = make_router(tiered_group())
    register(router, snapshot=write_snapshot(MODELS), check_interval=0)
    assert {served(router, path, "tiered")[0] for _ in range(3)} == {"primary"}


@pytest.mark.parametrize("path", PATHS)
def test_failing_primary_tier_falls_back_to_best_ranked_backup(path, make_router, write_snapshot):
    router = make_router(tiered_group(primary_reply="litellm.RateLimitError"))
    register(router, snapshot=write_snapshot(MODELS), check_interval=0)
    # LiteLLM's order fallback moves to tier 2, where the ranking picks mistral over llama.
    assert served(router, path, "tiered")[0] == "backup-mistral"
    assert served(router, path, "tiered")[0] == "backup-mistral"


# 4. Untrustworthy snapshots: first healthy deployment in configured order -----------


def _missing(path: Path) -> None:
    pass


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe not a snapshot")


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _truncated(path: Path) -> None:
    data = render(snapshot_body(MODELS).seal())
    path.write_bytes(data[: len(data) // 2])


def _wrong_contract(path: Path) -> None:
    data = sealed_json()
    data["contract_version"] = "traction.snapshot.v2"
    data["content_hash"] = compute_hash(data)  # consistent hash: only the contract is wrong
    path.write_text(json.dumps(data))


def _tampered(path: Path) -> None:
    data = sealed_json()
    data["models"][2]["score"] = 99.0  # would put chat-llama first if it were believed
    path.write_text(json.dumps(data))


def _past_stale_after(path: Path) -> None:
    old = datetime.now(timezone.utc) - timedelta(hours=2)
    path.write_bytes(
        render(snapshot_body(MODELS, generated_at=old, stale_after=timedelta(hours=1)).seal())
    )


def _long_ago(path: Path) -> None:
    old = datetime.now(timezone.utc) - timedelta(days=30)
    path.write_bytes(render(snapshot_body(MODELS, generated_at=old).seal()))


def _older_than_max_age(path: Path) -> None:
    old = datetime.now(timezone.utc) - timedelta(hours=2)
    path.write_bytes(
        render(snapshot_body(MODELS, generated_at=old, stale_after=timedelta(days=1)).seal())
    )


def _unrelated_models(path: Path) -> None:
    path.write_bytes(render(snapshot_body([("someone/else", 3.0, ["else"])]).seal()))


def _a_directory(path: Path) -> None:
    path.mkdir()


# case -> (writer, register kwargs, decision, text expected in the detail)
FALLBACK_CASES: dict[str, tuple[Callable[[Path], None], dict[str, Any], str, str]] = {
    "missing": (_missing, {}, "missing", "missing"),
    "garbage-bytes": (_garbage, {}, "invalid", "JSON"),
    "empty-file": (_empty, {}, "invalid", "JSON"),
    "truncated": (_truncated, {}, "invalid", "JSON"),
    "wrong-contract-version": (_wrong_contract, {}, "invalid", "contract_version"),
    "tampered-content": (_tampered, {}, "invalid", "content_hash"),
    "past-stale_after": (_past_stale_after, {"max_age": None}, "stale", "stale"),
    "generated-long-ago": (_long_ago, {}, "stale", "stale"),
    "older-than-max_age": (_older_than_max_age, {"max_age": 3600}, "stale", "stale"),
    "no-model-matches": (_unrelated_models, {}, "no-match", "no-match"),
    "path-is-a-directory": (_a_directory, {}, "unreadable", "unreadable"),
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", list(FALLBACK_CASES))
def test_untrustworthy_snapshot_serves_first_healthy_in_configured_order(
    case, path, make_router, snapshot_path
):
    write, options, reason, detail = FALLBACK_CASES[case]
    write(snapshot_path)
    router = make_router(chat_group())
    strategy = register(router, snapshot=snapshot_path, check_interval=0, **options)
    before = stats_baseline()

    picks = [served(router, path) for _ in range(2)]

    assert [model_id for model_id, _ in picks] == [FIRST, FIRST]
    decision = picks[0][1]
    assert decision["decision"] == reason
    assert detail in decision["detail"]
    assert decision["deployment_id"] == FIRST
    assert strategy.counters == {reason: 2}
    assert stats_delta(before) == {reason: 2}


@pytest.mark.parametrize("path", PATHS)
def test_two_hour_old_snapshot_is_trusted_without_max_age(path, make_router, snapshot_path):
    _older_than_max_age(snapshot_path)
    router = make_router(chat_group())
    register(router, snapshot=snapshot_path, max_age=None, check_interval=0)
    model_id, decision = served(router, path)
    assert model_id == TOP
    assert 7190 < decision["snapshot_age_s"] < 7300


def test_fallback_warns_once_not_per_request(make_router, snapshot_path, caplog):
    router = make_router(chat_group())
    register(router, snapshot=snapshot_path, check_interval=0)
    with caplog.at_level(logging.WARNING, logger="traction.adapter"):
        for _ in range(3):
            assert served(router, "async")[0] == FIRST
    warnings = [r for r in caplog.records if r.name == "traction.adapter"]
    assert len(warnings) == 1
    assert "missing" in warnings[0].getMessage()


# 5. The file is re-read only when it changes; a new snapshot re-routes live ----------


@pytest.mark.parametrize("path", PATHS)
def test_snapshot_reread_only_on_change_and_new_publish_reroutes(path, make_router, snapshot_path):
    write_atomically(snapshot_path, render(snapshot_body(MODELS).seal()))
    router = make_router(chat_group())
    strategy = register(router, snapshot=snapshot_path, check_interval=0)

    assert {served(router, path)[0] for _ in range(5)} == {TOP}
    assert strategy.reader.loads == 1

    # The worker publishes version 2, in which gemma surges to the top.
    republished = [(GEMMA, 9.0, ["gemma-3-27b"]), *MODELS[:3]]
    write_atomically(snapshot_path, render(snapshot_body(republished, version=2).seal()))
    model_id, decision = served(router, path)
    assert model_id == "chat-gemma"
    assert decision["decision"] == "fresh"
    assert decision["snapshot_version"] == 2
    assert strategy.reader.loads == 2

    for _ in range(3):
        served(router, path)
    assert strategy.reader.loads == 2

    # Removed: routing by configured order; restored: ranking again.
    snapshot_path.unlink()
    assert served(router, path)[1]["decision"] == "missing"
    write_atomically(snapshot_path, render(snapshot_body(MODELS, version=3).seal()))
    model_id, decision = served(router, path)
    assert (model_id, decision["snapshot_version"]) == (TOP, 3)
    assert strategy.reader.loads == 3


def test_bad_publish_mid_run_falls_back_and_a_good_one_recovers(make_router, snapshot_path):
    write_atomically(snapshot_path, render(snapshot_body(MODELS).seal()))
    router = make_router(chat_group())
    register(router, snapshot=snapshot_path, check_interval=0)
    assert served(router, "async")[0] == TOP

    write_atomically(snapshot_path, b"{not json")
    model_id, decision = served(router, "async")
    assert (model_id, decision["decision"]) == (FIRST, "invalid")

    write_atomically(snapshot_path, render(snapshot_body(MODELS, version=2).seal()))
    assert served(router, "async")[0] == TOP


def test_check_interval_limits_how_often_the_file_is_looked_at(make_router, snapshot_path):
    write_atomically(snapshot_path, render(snapshot_body(MODELS).seal()))
    router = make_router(chat_group())
    strategy = register(router, snapshot=snapshot_path, check_interval=3600)
    assert served(router, "async")[0] == TOP

    snapshot_path.unlink()  # not looked at again within the interval
    assert served(router, "async")[0] == TOP
    assert strategy.reader.loads == 1


# 6. Only the requested group; specific deployments; LiteLLM's own errors -----------


def two_groups() -> list[dict[str, Any]]:
    return [
        deployment("small", "small-gemma", route="openai/gemma-small", hf_repo_id=GEMMA),
        deployment("small", "small-llama", hf_repo_id=LLAMA),
        deployment("big", "big-mistral", hf_repo_id=MISTRAL),
        deployment("big", "big-qwen", hf_repo_id=QWEN),
    ]


@pytest.mark.parametrize("path", PATHS)
def test_never_serves_a_deployment_outside_the_requested_group(path, make_router, write_snapshot):
    router = make_router(two_groups(), model_group_alias={"fast": "small"})
    register(router, snapshot=write_snapshot(MODELS), check_interval=0)

    assert {served(router, path, "small")[0] for _ in range(3)} == {"small-llama"}
    assert {served(router, path, "big")[0] for _ in range(3)} == {"big-mistral"}
    assert served(router, path, "fast")[0] == "small-llama"


@pytest.mark.parametrize("path", PATHS)
def test_specific_deployments_are_honoured(path, make_router, write_snapshot):
    router = make_router(two_groups())
    register(router, snapshot=write_snapshot(MODELS), check_interval=0)

    # by model_info.id (LiteLLM resolves ids itself)
    assert served(router, path, "small-gemma")[0] == "small-gemma"
    assert served(router, path, "big-qwen")[0] == "big-qwen"
    # by provider route with specific_deployment=True
    routed = served(router, path, "openai/gemma-small", specific_deployment=True)
    assert routed[0] == "small-gemma"


@pytest.mark.parametrize("path", PATHS)
def test_deployment_id_with_specific_deployment_flag_behaves_as_without_adapter(
    path, make_router, write_snapshot
):
    # LiteLLM 1.106 looks specific_deployment=True up by litellm_params.model, not by id.
    plain = make_router(two_groups())
    adapted = make_router(two_groups())
    register(adapted, snapshot=write_snapshot(MODELS), check_interval=0)

    def outcome(router: Router) -> tuple[str, str]:
        try:
            return "served", served(router, path, "small-gemma", specific_deployment=True)[0]
        except Exception as exc:  # compared, whichever it is
            return "raised", type(exc).__name__

    assert outcome(adapted) == outcome(plain)


@pytest.mark.parametrize("path", PATHS)
def test_unknown_group_raises_what_litellm_raises_without_adapter(
    path, make_router, write_snapshot
):
    plain = make_router(chat_group())
    adapted = make_router(chat_group())
    register(adapted, snapshot=write_snapshot(MODELS), check_interval=0)

    expected = failure(plain, path, "no-such-group")
    got = failure(adapted, path, "no-such-group")

    assert type(got) is type(expected)
    assert isinstance(got, litellm.BadRequestError)
    assert str(got) == str(expected)


# 7. The adapter never raises into LiteLLM ------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_reader_blowing_up_still_serves_first_healthy(
    path, make_router, write_snapshot, monkeypatch
):
    router = make_router(chat_group())
    strategy = register(router, snapshot=write_snapshot(MODELS), check_interval=0)

    def broken() -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(strategy.reader, "current", broken)
    before = stats_baseline()

    model_id, decision = served(router, path)

    assert model_id == FIRST
    assert decision["decision"] == "error"
    assert stats_delta(before) == {"error": 1}


@pytest.mark.parametrize("path", PATHS)
def test_matching_blowing_up_still_serves_first_healthy(
    path, make_router, write_snapshot, monkeypatch
):
    router = make_router(chat_group())
    register(router, snapshot=write_snapshot(MODELS), check_interval=0)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(router_adapter.ranking, "match_deployment", broken)
    model_id, decision = served(router, path)
    assert (model_id, decision["decision"]) == (FIRST, "error")
