"""`traction serve` over real HTTP on 127.0.0.1: the snapshot file, the WZRD momentum API
(checked by traction's own WZRD contract parser and by the real litellm-wzrd-momentum
0.1.0 routing a real `litellm.Router`), and the health check."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.sources.wzrd import WzrdSource
from schemas.config import WzrdConfig
from schemas.snapshot import Snapshot, SnapshotBody
from scoring import formula
from scoring.snapshot import render, write_atomically
from traction.cli import EXIT_CONFIG, main
from traction.serve import SnapshotServer, parse_listen

from helpers import Served, model_entry

NOW = datetime.now(timezone.utc).replace(microsecond=0)
MOMENTUM = "/v1/signals/momentum"

# Builders ----------------------------------------------------------------------------


def component(
    source: str = "huggingface",
    metric: str = "downloads",
    *,
    momentum: float,
    delta: float | None,
    days: int = 8,
    weight: float = 1.0,
) -> dict[str, Any]:
    """One signal with every term of the formula, consistent with scoring/formula.py."""
    trend = formula.trend_of(delta)
    confidence = formula.confidence_of(days)
    cw = formula.CONFIDENCE_WEIGHT[confidence]
    points = formula.TREND_POINTS[trend]
    return {
        "source": source,
        "metric": metric,
        "value": 1000.0,
        "velocity": None if delta is None else delta * 10,
        "delta_pct": delta,
        "trend": trend,
        "trend_points": points,
        "momentum": momentum,
        "confidence": confidence,
        "confidence_weight": cw,
        "history_days": days,
        "weight": weight,
        "raw_delta_pct": delta,
        "spike": False,
        "age_seconds": 3600.0,
        "decay": 1.0,
        "score": formula.signal_score(points, momentum, delta, cw),
    }


def model(key: str, aliases: list[str], *components: dict[str, Any]) -> dict[str, Any]:
    """A ModelScore entry whose trend and confidence come from its heaviest component."""
    lead = max(components, key=lambda c: c["weight"] * c["decay"], default=None)
    score = lead["score"] if lead else 0.0
    cw = lead["confidence_weight"] if lead else 0.0
    return model_entry(
        key,
        aliases,
        score,
        confidence_weight=cw,
        confidence=formula.confidence_label(cw),
        trend=lead["trend"] if lead else "insufficient_history",
        components=list(components),
    )


QWEN_9B = "qwen/qwen3.5-9b"
QWEN_35B = "qwen/qwen3.5-35b-a3b"
LLAMA = "meta-llama/llama-3.3-70b-instruct"
GPT_OSS = "openai/gpt-oss-120b"
GEMMA = "google/gemma-4-31b-it"
DEEPSEEK = "deepseek-ai/deepseek-v3.2"
MISTRAL = "mistralai/mistral-small-3.2-24b-instruct-2506"
AUTO = "openrouter/auto"

MODELS = [
    # the peer's own 0.1.0 fixture values for qwen: surging, momentum 0.92, +65.3 %/day
    model(
        QWEN_9B,
        ["qwen/qwen3.5-9b-20260601", "qwenlm/qwen3.5", "together_ai/qwen/qwen3.5-9b"],
        component(momentum=0.92, delta=65.3),
    ),
    model(
        QWEN_35B,
        ["wandb/qwen/qwen3.5-35b-a3b"],
        component("openrouter_rankings", "total_tokens", momentum=0.77, delta=12.0),
    ),
    model(LLAMA, ["meta-llama/llama-models"], component(momentum=0.55, delta=2.0)),
    # two days of history: a trend, but not enough to act on
    model(
        GPT_OSS,
        ["groq/openai/gpt-oss-120b", "openai/gpt-oss"],
        component("github", "stars", momentum=0.6, delta=4.0, days=2),
    ),
    # one day of history: no delta yet
    model(GEMMA, [], component(momentum=0.5, delta=None, days=1)),
    model(DEEPSEEK, ["deepseek/deepseek-v3.2"], component(momentum=0.12, delta=-20.0)),
    model(
        MISTRAL,
        ["mistralai/mistral-small-3.2-24b-instruct"],
        component(momentum=0.02, delta=-55.0),
        component("github", "stars", momentum=0.5, delta=0.0, weight=0.5),
    ),
    model(AUTO, []),  # prices only: nothing to say about momentum
]


def publish(
    path: Path,
    models: list[dict[str, Any]] = MODELS,
    version: int = 1,
    generated_at: datetime = NOW,
    stale_after: timedelta = timedelta(hours=6),
) -> Snapshot:
    """Seal and write a snapshot the way the publisher does (atomic replace)."""
    ranked = sorted(models, key=lambda m: -m["score"])
    snapshot = SnapshotBody.model_validate(
        {
            "version": version,
            "generated_at": generated_at,
            "stale_after": generated_at + stale_after,
            "policy": "momentum",
            "sources": {},
            "models": [{**m, "rank": i} for i, m in enumerate(ranked, start=1)],
        }
    ).seal()
    write_atomically(path, render(snapshot))
    return snapshot


class Clock:
    """The server's notion of now, moved by the test (staleness is judged per request)."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def snapshot_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "snapshot.json"


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW + timedelta(minutes=5))


@pytest.fixture
def server(snapshot_path: Path, clock: Clock) -> Iterator[SnapshotServer]:
    with SnapshotServer(snapshot_path, clock=clock) as running:
        yield running


def get(server: SnapshotServer, path: str, **headers: str) -> httpx.Response:
    return httpx.get(server.url + path, headers=headers, timeout=5)


def feed(server: SnapshotServer, query: str = "") -> dict[str, Any]:
    response = get(server, MOMENTUM + query)
    assert response.status_code == 200, response.text
    return response.json()


def by_model(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {record["model"]: record for record in payload["models"]}


# /snapshot.json --------------------------------------------------------------------


def test_snapshot_is_served_byte_for_byte_with_its_hash_as_etag(server, snapshot_path):
    snapshot = publish(snapshot_path)

    response = get(server, "/snapshot.json")

    assert response.status_code == 200
    assert response.content == snapshot_path.read_bytes()
    assert response.headers["content-type"] == "application/json"
    assert response.headers["etag"] == f'"{snapshot.content_hash}"'
    assert response.headers["cache-control"] == "no-cache"
    assert Snapshot.model_validate_json(response.content) == snapshot


def test_if_none_match_gets_304_until_a_new_snapshot_is_published(server, snapshot_path):
    first = publish(snapshot_path)
    etag = get(server, "/snapshot.json").headers["etag"]

    unchanged = get(server, "/snapshot.json", **{"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == etag
    assert get(server, "/snapshot.json", **{"If-None-Match": f"W/{etag}"}).status_code == 304

    second = publish(snapshot_path, version=2)
    changed = get(server, "/snapshot.json", **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] == f'"{second.content_hash}"' != f'"{first.content_hash}"'
    assert Snapshot.model_validate_json(changed.content).version == 2


def test_a_new_snapshot_is_served_without_restart_and_read_once(server, snapshot_path):
    publish(snapshot_path, version=1)
    assert get(server, "/snapshot.json").json()["version"] == 1
    assert feed(server)["provenance"]["root_seq"] == 1

    publish(snapshot_path, version=2)
    for _ in range(3):
        assert get(server, "/snapshot.json").json()["version"] == 2
    assert feed(server)["provenance"]["root_seq"] == 2
    assert get(server, "/healthz").json()["snapshot_version"] == 2
    assert server.file.loads == 2  # one read per published file, not per request


def test_an_invalid_file_keeps_the_last_good_snapshot_and_warns(server, snapshot_path, caplog):
    good = publish(snapshot_path, version=3)
    assert get(server, "/snapshot.json").status_code == 200

    tampered = json.loads(snapshot_path.read_bytes())
    tampered["models"][0]["score"] = 99.0  # the content hash no longer matches
    caplog.set_level(logging.WARNING, logger="traction.serve")
    for body in (b'{"contract_version": "traction.snapshot.v1", "vers', json.dumps(tampered)):
        write_atomically(snapshot_path, body if isinstance(body, bytes) else body.encode())
        response = get(server, "/snapshot.json")
        assert response.status_code == 200
        assert response.headers["etag"] == f'"{good.content_hash}"'
        assert Snapshot.model_validate_json(response.content) == good
        assert feed(server)["provenance"]["root_seq"] == 3
        health = get(server, "/healthz")
        assert health.status_code == 200
        assert health.json()["problem"].startswith("invalid")

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # once per bad file, not once per request
    assert all("keeping snapshot v3" in w for w in warnings)

    publish(snapshot_path, version=4)
    assert get(server, "/snapshot.json").json()["version"] == 4
    assert "problem" not in get(server, "/healthz").json()


def test_no_valid_snapshot_is_503_everywhere(server, snapshot_path):
    for path in ("/snapshot.json", MOMENTUM, "/healthz"):
        response = get(server, path)
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/json"
        assert "missing" in json.dumps(response.json())

    write_atomically(snapshot_path, b"<html>not a snapshot</html>")
    response = get(server, "/snapshot.json")
    assert response.status_code == 503
    assert "invalid" in response.json()["error"]

    publish(snapshot_path)
    assert get(server, "/snapshot.json").status_code == 200
    snapshot_path.unlink()  # removed on purpose: nothing is served, not an old copy
    assert get(server, "/snapshot.json").status_code == 503


def test_unknown_paths_are_404_and_writes_are_refused(server, snapshot_path):
    publish(snapshot_path)
    missing = get(server, "/v1/leaderboard")
    assert missing.status_code == 404
    assert missing.json() == {"error": "no such endpoint: /v1/leaderboard"}
    refused = httpx.post(server.url + "/snapshot.json", content=b"{}", timeout=5)
    assert refused.status_code == 405
    head = httpx.head(server.url + "/snapshot.json", timeout=5)
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) == snapshot_path.stat().st_size


def test_traction_s_own_adapter_polls_it_with_conditional_gets(server, snapshot_path):
    from router_adapter.snapshot_http import HttpSnapshotSource

    publish(snapshot_path, version=2)
    source = HttpSnapshotSource(server.url + "/snapshot.json", refresh_interval=3600)
    try:
        assert source.wait_first(5)
        view, problem = source.current()
        assert problem is None and view is not None and view.version == 2
        source.refresh()  # answered 304: nothing re-parsed
        assert (source.fetches, source.loads) == (2, 1)
        publish(snapshot_path, version=3)
        source.refresh()
        assert (source.loads, source.current()[0].version) == (2, 3)
    finally:
        source.close()


# /v1/signals/momentum ----------------------------------------------------------------


def test_momentum_feed_is_wzrd_vintage_c_to_traction_s_own_parser(server, snapshot_path):
    snapshot = publish(snapshot_path, version=7)

    payload = feed(server)
    result = WzrdSource(WzrdConfig()).parse([payload], datetime.now(timezone.utc))

    assert result.vintage == "C"
    assert result.quarantined == []
    assert result.accepted == payload["count"] == len(payload["models"])
    assert payload["contract_version"] == "wzrd.momentum.v1"
    assert payload["generated_at"] == snapshot.generated_at.isoformat().replace("+00:00", "Z")
    assert payload["provenance"]["source"] == "traction"
    assert payload["provenance"]["root_seq"] == 7
    assert payload["provenance"]["stale"] is False
    # the observations traction would store carry the snapshot's time, not the serving time
    assert {o.observed_at for o in result.observations} == {snapshot.generated_at}


def test_momentum_feed_also_satisfies_the_legacy_vintage_a_contract(server, snapshot_path):
    """What litellm-wzrd-momentum 0.1.0 checks before it uses a payload at all."""
    publish(snapshot_path)
    payload = feed(server)

    assert type(payload["signal_version"]) is int
    assert isinstance(payload["update_interval_secs"], int)
    required = {"model", "velocity_trend", "momentum_score", "velocity_delta_pct"}
    for record in payload["models"]:
        assert required | {"history_confidence"} <= record.keys()
        assert isinstance(record["velocity_delta_pct"], float)  # 0.1.0 divides it
        assert isinstance(record["history_depth"], int)
        assert record["velocity_trend"] == record["trend"]
        assert record["momentum_score"] == record["score"]
        assert record["history_confidence"] == record["confidence"]
        assert record["routing_implication"] == record["action"]


def test_each_model_is_mapped_from_its_heaviest_signal(server, snapshot_path):
    publish(snapshot_path)
    payload = feed(server)
    records = by_model(payload)

    primary = [r["model"] for r in payload["models"] if "alias_of" not in r]
    assert primary == [QWEN_9B, QWEN_35B, LLAMA, GPT_OSS, GEMMA, DEEPSEEK, MISTRAL]
    assert AUTO not in records  # no signal at all: left out, not given a made-up score

    qwen = records[QWEN_9B]
    assert (qwen["trend"], qwen["score"], qwen["delta_pct"]) == ("surging", 0.92, 65.3)
    assert (qwen["action"], qwen["confidence"], qwen["platform"]) == (
        "pre_warm_urgent",
        "normal",
        "huggingface",
    )
    assert qwen["history_depth"] == 8
    assert "rank 1 of 8" in qwen["reason"]
    assert records[QWEN_35B]["platform"] == "openrouter"  # WZRD's name for the platform
    assert records[QWEN_35B]["action"] == "pre_warm"
    assert records[LLAMA]["action"] == "maintain"
    assert records[DEEPSEEK]["action"] == "watch"
    # the heavier (downloads) signal leads, not the lighter flat github one
    mistral = records[MISTRAL]
    assert (mistral["trend"], mistral["action"], mistral["score"]) == (
        "cooling",
        "consider_deprovision",
        0.02,
    )
    # too little history: the trend is reported, but only as something to observe
    gpt = records[GPT_OSS]
    assert (gpt["trend"], gpt["confidence"], gpt["action"]) == ("stable", "insufficient", "observe")
    gemma = records[GEMMA]
    assert (gemma["trend"], gemma["delta_pct"], gemma["velocity_delta_pct"]) == (
        "insufficient_history",
        None,
        0.0,
    )
    assert all(0.0 <= r["score"] <= 1.0 for r in payload["models"])


def test_alias_records_name_the_exact_model_never_its_family(server, snapshot_path):
    publish(snapshot_path)
    payload = feed(server)
    aliases = {r["model"]: r["alias_of"] for r in payload["models"] if "alias_of" in r}

    assert aliases == {
        "qwen/qwen3.5-9b-20260601": QWEN_9B,
        "together_ai/qwen/qwen3.5-9b": QWEN_9B,
        "wandb/qwen/qwen3.5-35b-a3b": QWEN_35B,
        "groq/openai/gpt-oss-120b": GPT_OSS,
        "deepseek/deepseek-v3.2": DEEPSEEK,
    }
    # repository and family names would let substring matching hand these scores to siblings
    for family in ("openai/gpt-oss", "qwenlm/qwen3.5", "meta-llama/llama-models"):
        assert family not in by_model(payload)
    records = by_model(payload)
    alias = records["together_ai/qwen/qwen3.5-9b"]
    assert {k: v for k, v in alias.items() if k not in ("model", "alias_of")} == {
        k: v for k, v in records[QWEN_9B].items() if k != "model"
    }


def test_limit_trending_and_platform_params(server, snapshot_path):
    publish(snapshot_path)

    limited = feed(server, "?limit=2")
    assert [r["model"] for r in limited["models"]] == [QWEN_9B, QWEN_35B]
    assert limited["count"] == 2
    assert feed(server, "?limit=1000")["count"] == feed(server)["count"] == 12  # max 100

    trending = feed(server, "?trending=true")
    assert {r["trend"] for r in trending["models"]} == {"surging", "accelerating"}
    assert {r.get("alias_of", r["model"]) for r in trending["models"]} == {QWEN_9B, QWEN_35B}
    assert feed(server, "?trending=false")["count"] == 12

    openrouter = feed(server, "?platform=openrouter")
    assert [r["model"] for r in openrouter["models"]] == [QWEN_35B, "wandb/qwen/qwen3.5-35b-a3b"]
    github = feed(server, "?platform=GitHub&trending=true")
    assert github["models"] == []
    assert feed(server, "?window=7d&capability=code")["count"] == 12  # not ours: ignored

    for bad in ("?limit=0", "?limit=ten", "?trending=maybe"):
        response = get(server, MOMENTUM + bad)
        assert response.status_code == 400
        assert "error" in response.json()


def test_a_stale_snapshot_is_served_but_nothing_in_it_is_actionable(server, snapshot_path, clock):
    snapshot = publish(snapshot_path, stale_after=timedelta(hours=1))
    fresh = by_model(feed(server))
    clock.now = snapshot.stale_after + timedelta(seconds=1)

    payload = feed(server)

    assert payload["provenance"]["stale"] is True
    for record in payload["models"]:
        assert (record["confidence"], record["history_confidence"]) == ("insufficient",) * 2
        assert (record["action"], record["routing_implication"]) == ("observe",) * 2
        assert record["reason"].startswith("stale snapshot")
        before = fresh[record["model"]]
        # what traction computed is kept as it was
        assert (record["trend"], record["score"], record["delta_pct"]) == (
            before["trend"],
            before["score"],
            before["delta_pct"],
        )
    assert WzrdSource(WzrdConfig()).parse([payload], NOW).quarantined == []


# /healthz ------------------------------------------------------------------------------


def test_healthz_flips_to_503_when_the_snapshot_goes_stale(server, snapshot_path, clock):
    snapshot = publish(snapshot_path, version=5, stale_after=timedelta(hours=1))

    healthy = get(server, "/healthz")
    assert healthy.status_code == 200
    assert healthy.json() == {
        "status": "ok",
        "snapshot_version": 5,
        "age_seconds": 300.0,
        "stale_after": snapshot.stale_after.isoformat().replace("+00:00", "Z"),
    }

    clock.now = snapshot.stale_after
    stale = get(server, "/healthz")
    assert stale.status_code == 503
    assert stale.json()["status"] == "stale"
    assert stale.json()["age_seconds"] == 3600.0
    assert get(server, "/snapshot.json").status_code == 200  # the data is still served

    publish(snapshot_path, version=6, generated_at=clock.now)
    assert get(server, "/healthz").json()["status"] == "ok"


# The command -------------------------------------------------------------------------


def test_parse_listen():
    assert parse_listen("127.0.0.1:8700") == ("127.0.0.1", 8700)
    assert parse_listen("0.0.0.0:0") == ("0.0.0.0", 0)
    assert parse_listen("[::1]:9000") == ("::1", 9000)
    assert parse_listen("8701") == ("127.0.0.1", 8701)
    for bad in ("localhost", ":8700", "host:port", "127.0.0.1:70000"):
        with pytest.raises(ValueError, match="--listen"):
            parse_listen(bad)


def test_bad_listen_address_is_a_configuration_error(capsys):
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:  # main() points logging at this test's captured stderr; put it back afterwards
        assert main(["serve", "--listen", "nowhere"]) == EXIT_CONFIG
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert "--listen 'nowhere'" in capsys.readouterr().err


def test_traction_serve_command_serves_the_configured_snapshot_until_sigterm(
    tmp_path, snapshot_path
):
    publish(snapshot_path, version=9)
    served = Served(snapshot_path, tmp_path / "serve.log")
    try:
        assert served.line.startswith(f"serving {snapshot_path} on http://127.0.0.1:"), served.line
        assert httpx.get(served.url + "/healthz", timeout=5).json()["snapshot_version"] == 9
        momentum = httpx.get(served.url + MOMENTUM, timeout=5).json()
        assert momentum["provenance"]["root_seq"] == 9
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=10) == 0
    finally:
        served.close()


# litellm-wzrd-momentum 0.1.0, unmodified, routing a real litellm.Router -----------------

PEER = "litellm-wzrd-momentum==0.1.0"

PEER_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys

    from litellm import Router
    import wzrd_momentum_strategy as peer

    fresh_url, stale_url, probes = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])

    def deployment(dep_id, route):
        return {
            "model_name": "open-chat",
            "litellm_params": {
                "model": route,
                "api_key": "sk-test",
                "api_base": "http://127.0.0.1:9",
                "mock_response": "reply from " + dep_id,
            },
            "model_info": {"id": dep_id},
        }

    router = Router(
        model_list=[
            deployment("llama-70b", "together_ai/meta-llama/Llama-3.3-70B-Instruct"),
            deployment("mistral-small", "openrouter/mistralai/mistral-small-3.2-24b-instruct-2506"),
            deployment("qwen-9b", "together_ai/Qwen/Qwen3.5-9B"),
        ],
        num_retries=0,
    )
    messages = [{"role": "user", "content": "hello"}]

    def served():
        sync = router.completion(model="open-chat", messages=messages)
        coro = router.acompletion(model="open-chat", messages=messages)
        return [sync._hidden_params["model_id"], asyncio.run(coro)._hidden_params["model_id"]]

    out = {}
    peer.register(router, wzrd_url=fresh_url, cache_ttl=0)
    payload = peer._fetch_momentum(fresh_url)
    out["contract_ok"] = bool(payload) and peer._payload_contract_ok(payload)
    out["fresh"] = served()
    out["matches"] = {}
    for name, route in [(d["model_info"]["id"], d["litellm_params"]["model"])
                        for d in router.model_list] + [tuple(p) for p in probes]:
        found = peer._find_signal(
            {"model_name": "p", "litellm_params": {"model": route}}, payload["models"], {}
        )
        out["matches"][name] = found and [found["model"], found.get("alias_of")]
    peer.clear_cache()
    peer.register(router, wzrd_url=stale_url, cache_ttl=0)
    out["stale_contract_ok"] = bool(peer._fetch_momentum(stale_url))
    out["stale"] = served()
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def peer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """litellm-wzrd-momentum 0.1.0 from the package index, into a directory of its own.

    Only httpx is needed besides litellm, and both are here, hence `--no-deps`. If the
    index cannot be reached the test is skipped with pip's error, except under CI (`$CI`
    set), where a missing peer must fail the run instead of hiding it.
    """
    target = tmp_path_factory.mktemp("wzrd-peer")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
        + ["--disable-pip-version-check", "--no-compile", "--target", str(target), PEER],
        capture_output=True,
        text=True,
        timeout=180,
    )
    if result.returncode != 0:
        reason = f"pip could not install {PEER}: {result.stderr.strip()[-600:]}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    assert (target / "wzrd_momentum_strategy.py").exists()
    return target


def test_litellm_wzrd_momentum_routes_a_real_router_by_traction_s_ranking(
    peer_dir: Path, snapshot_path: Path
):
    """The retired plugin, unchanged, pointed at traction: it accepts the payload and sends
    the group's traffic to the deployment traction ranks first (qwen, configured last);
    once the snapshot is stale it falls back to configured order, as traction's adapter
    does. Its matching meets the alias records exactly and never the family names."""
    publish(snapshot_path)
    later = Clock(NOW + timedelta(hours=7))
    probes = [
        ("openrouter-deepseek", "openrouter/deepseek/deepseek-v3.2"),  # OpenRouter's id
        ("groq-gpt-oss", "groq/openai/gpt-oss-120b"),
        ("gpt-oss-20b", "openai/gpt-oss-20b"),  # a sibling traction does not track
    ]
    with (
        SnapshotServer(snapshot_path, clock=Clock()) as fresh,
        SnapshotServer(snapshot_path, clock=later) as stale,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACTION_")}
        env["PYTHONPATH"] = os.pathsep.join([str(peer_dir), env.get("PYTHONPATH", "")])
        env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
        result = subprocess.run(
            [sys.executable, "-c", PEER_SCRIPT, fresh.url + MOMENTUM, stale.url + MOMENTUM]
            + [json.dumps(probes)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])

    assert out["contract_ok"] is True
    assert out["fresh"] == ["qwen-9b", "qwen-9b"]  # sync and async; configured third
    # [the record the peer picked, the traction model it is an alias of]
    assert out["matches"] == {
        "llama-70b": [LLAMA, None],
        "mistral-small": [MISTRAL, None],
        "qwen-9b": ["together_ai/qwen/qwen3.5-9b", QWEN_9B],  # the whole route, exactly
        "openrouter-deepseek": ["deepseek/deepseek-v3.2", DEEPSEEK],
        "groq-gpt-oss": ["groq/openai/gpt-oss-120b", GPT_OSS],
        "gpt-oss-20b": None,  # `openai/gpt-oss` is not published, so no substring hit
    }
    assert out["stale_contract_ok"] is True
    assert out["stale"] == ["llama-70b", "llama-70b"]  # deployment order


def test_serving_needs_no_litellm() -> None:
    """The server is part of the worker, which never pays litellm's import."""
    code = "import traction.serve, sys; print('litellm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_file_watch_says_when_a_file_appears_changes_goes_or_is_forgotten(tmp_path):
    from schemas.filewatch import FileWatch

    path = tmp_path / "f"
    watch = FileWatch(path)
    assert not watch.changed() and not watch.present
    path.write_text("one")
    assert watch.changed() and watch.regular
    assert not watch.changed()
    path.write_text("three")
    assert watch.changed()
    watch.forget()
    assert watch.changed() and not watch.changed()
    path.unlink()
    assert watch.changed() and watch.identity is None
