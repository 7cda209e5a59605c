"""Fleet mode on a real redis-server: leader election with fencing, signed snapshots, and
LiteLLM replicas that keep routing through a leader's death, a poisoned cache and a Redis
outage.

The replicas are real processes (tests/fleet_adapter.py: a `litellm.Router` with
`mock_response` deployments ranked from `redis://`); the workers are real `traction run`
processes against the loopback upstream mirror. They are started once for the module:
importing litellm costs each replica seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from router_adapter import refusals
from router_adapter.snapshot_file import SnapshotReader
from router_adapter.snapshot_http import HttpSnapshotSource
from schemas.config import FleetConfig
from schemas.fleet import RedisLocation, redact_url
from schemas.signing import KEY_ENV, sign, signature_of, verify
from schemas.snapshot import Snapshot
from scoring.snapshot import render, write_atomically
from traction.config import ConfigError, load_config
from traction.demo.upstream import Upstream, bundled
from traction.fleet import Fleet, NotLeader, VersionTaken

import redis_server
from helpers import loopback_http, snapshot_body, traction, write_config
from redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
KEY = "fleet-test-key-0123456789abcdef"
TTL, RENEW = 2.0, 0.4  # seconds: the workers' lock TTL and renewal / take-over interval
MAX_AGE = 8.0  # seconds: the replicas' max_age

# What the replicas route (tests/fleet_adapter.py): configured order llama first.
FALLBACK, WINNER, RIVAL = "llama-70b", "gpt-oss-120b", "qwen-9b"
LLAMA, GPT_OSS, QWEN = (
    "meta-llama/llama-3.3-70b-instruct",
    "openai/gpt-oss-120b",
    "qwen/qwen3.5-9b",
)


# Replicas ---------------------------------------------------------------------------


class Replica:
    """One adapter process and every line it has reported so far."""

    def __init__(self, url: str, log: Path):
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACTION_")}
        env.update({KEY_ENV: KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
        self.stderr = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "fleet_adapter.py"), url, str(MAX_AGE)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        self.log = log
        self.lines: list[dict[str, Any]] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            if not raw.startswith("{"):  # anything LiteLLM itself prints
                continue
            record = json.loads(raw)
            if record.get("ready"):
                self.ready.set()
            else:
                self.lines.append(record)

    def since(self, moment: float) -> list[dict[str, Any]]:
        return [line for line in list(self.lines) if line["t"] >= moment]

    def last(self) -> dict[str, Any]:
        return self.lines[-1] if self.lines else {}

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.stderr.close()


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """This module's own Redis: the last test kills it."""
    with RedisServer(tmp_path_factory.mktemp("fleet-redis")) as server:
        yield server


@pytest.fixture(scope="module")
def replicas(redis: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list]:
    logs = tmp_path_factory.mktemp("replicas")
    started = [Replica(redis.url, logs / f"replica-{i}.log") for i in range(3)]
    try:
        for replica in started:
            assert replica.ready.wait(90), replica.log.read_text()[-3000:]
        yield started
    finally:
        for replica in started:
            replica.stop()


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def fleet_snapshot(redis: RedisServer) -> dict[str, str]:
    raw = redis.client().hgetall("traction:snapshot")
    return {k.decode(): v.decode() for k, v in raw.items()}


def leader_of(redis: RedisServer) -> str | None:
    token = redis.client().get("traction:leader")
    return token.decode().rsplit(":", 1)[0] if token else None


def hold_lock(redis: RedisServer, worker_id: str = "test-publisher") -> Fleet:
    """Lead the fleet from the test process, as a worker would (for publishing by hand)."""
    config = FleetConfig(redis_url=redis.url, lock_ttl=5, renew_interval=1, worker_id=worker_id)
    fleet = Fleet(config).start()
    fleet.wait_first(5)
    wait_for(fleet.is_leader, 10, f"{worker_id} to lead")
    return fleet


def publish_good(fleet: Fleet, generated_at: datetime | None = None, after: int = 0) -> Snapshot:
    """A snapshot signed with the fleet's key that ranks gpt-oss-120b first, published
    through the real conditional publish, numbered after the fleet's (and `after`: what a
    worker's own database would remember)."""
    body = snapshot_body(
        [(GPT_OSS, 3.0, []), (QWEN, 2.0, []), (LLAMA, 1.0, [])],
        generated_at=generated_at,
        version=max(fleet.next_version_floor(), after) + 1,
    )
    snapshot = sign(body.seal(), KEY.encode())
    fleet.publish(snapshot, render(snapshot))
    return snapshot


# Workers ----------------------------------------------------------------------------


def worker_config(tmp_path: Path, upstream: str, redis: RedisServer, worker_id: str) -> Path:
    """The daemon test's loopback config, plus fleet mode; priced by cost so the ranking is
    meaningful from the first cycle (momentum needs days of history)."""
    (tmp_path / worker_id).mkdir(parents=True, exist_ok=True)
    path = write_config(tmp_path / worker_id, upstream)
    text = path.read_text()
    text = text.replace("[sources.wzrd]\nenabled = true", "[sources.wzrd]\nenabled = false")
    text = text.replace("[sources.openrouter]\n", "[sources.openrouter]\ninterval = 1\n", 1)
    text = text.replace("[sources.huggingface]\n", "[sources.huggingface]\ninterval = 1\n", 1)
    text = text.replace(
        "[sources.openrouter_endpoints]\n", "[sources.openrouter_endpoints]\nenabled = false\n"
    )
    text = text.replace(
        "[sources.openrouter_rankings]\n", "[sources.openrouter_rankings]\nenabled = false\n"
    )
    text = text.replace('analytics = "', 'analytics = ""\n# analytics copy off: "', 1)
    text = text.replace("[scoring]\n", '[scoring]\npolicy = "cost"\n', 1)
    text += f"""

[fleet]
redis_url = "{redis.url}"
lock_ttl = {TTL}
renew_interval = {RENEW}
worker_id = "{worker_id}"
"""
    path.write_text(text)
    return path


def start_worker(config: Path, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACTION_")}
    env.update({"TRACTION_CONFIG": str(config), KEY_ENV: KEY})
    return subprocess.Popen(
        [sys.executable, "-m", "traction.cli", "run"],
        env=env,
        cwd=ROOT,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )


def events(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def moving_huggingface() -> Callable[[], Any]:
    """Downloads grow at every request, so every cycle stores new facts and publishes."""
    calls = {"n": 0}
    day = bundled("huggingface", 0)

    def payload() -> Any:
        calls["n"] += 1
        return [
            {**m, "downloads": m["downloads"] + calls["n"]} if isinstance(m, dict) else m
            for m in day
        ]

    return payload


# The acceptance tests ---------------------------------------------------------------


def test_killing_the_leader_hands_over_within_the_ttl_while_replicas_keep_routing(
    tmp_path: Path, redis: RedisServer, replicas: list[Replica]
):
    with Upstream() as up:
        up.set_day(0)
        up.payloads["huggingface"] = moving_huggingface()
        logs = {w: tmp_path / f"{w}.log" for w in ("worker-a", "worker-b")}
        workers = {
            w: start_worker(worker_config(tmp_path, up.url, redis, w), logs[w]) for w in logs
        }
        try:
            # Both workers up; one leads, publishes signed snapshots, and every replica
            # routes on them.
            wait_for(
                lambda: all(
                    r.last().get("decision") == "fresh" and r.last().get("deployment") == WINNER
                    for r in replicas
                ),
                60,
                "every replica to route on a worker's snapshot",
            )
            all_fresh_at = time.time()
            wait_for(  # the leader publishes at every cycle (its upstream keeps moving)
                lambda: int(fleet_snapshot(redis).get("version", 0)) >= 3, 30, "v3"
            )
            leader = leader_of(redis)
            assert leader in workers
            follower = next(w for w in workers if w != leader)
            published = fleet_snapshot(redis)
            assert published["published_by"] == leader
            assert published["signature"].startswith("hmac-sha256:")
            # The follower stands by: it neither ingests nor publishes.
            assert not (tmp_path / follower / "data" / "snapshot.json").exists()

            version_at_kill = int(fleet_snapshot(redis)["version"])
            workers[leader].send_signal(signal.SIGKILL)  # no release: the lock must expire
            killed_at = time.time()
            workers[leader].wait(timeout=10)

            taken = wait_for(
                lambda: leader_of(redis) == follower and time.time(),
                TTL + RENEW + 5,
                f"{follower} to take the lock",
            )
            moved = wait_for(
                lambda: (
                    fleet_snapshot(redis).get("published_by") == follower
                    and int(fleet_snapshot(redis)["version"]) > version_at_kill
                    and time.time()
                ),
                TTL + 15,
                f"{follower} to publish",
            )
            wait_for(
                lambda: all((r.last().get("version") or 0) > version_at_kill for r in replicas),
                5,
                "every replica to route on the new leader's snapshot",
            )
            recovered_at = time.time()
        finally:
            for proc in workers.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in workers.values():
                proc.wait(timeout=30)

    # The lock cannot pass before the dead leader's TTL runs out, and passes at most one
    # renewal interval (plus scheduling slack) after it.
    assert taken - killed_at <= TTL + RENEW + 1.0, f"took over after {taken - killed_at:.2f}s"
    assert moved - killed_at <= TTL + RENEW + 6.0, f"published after {moved - killed_at:.2f}s"
    follower_events = events(logs[follower])
    acquired = [e for e in follower_events if e["msg"].startswith("leadership acquired")]
    assert acquired and acquired[0]["worker_id"] == follower
    # No request failed, and none fell back, while the leader died and the follower took over.
    for replica in replicas:
        window = [x for x in replica.since(all_fresh_at) if x["t"] <= recovered_at]
        assert window, "the replica stopped reporting"
        assert [x for x in window if x["error"]] == []
        assert {x["decision"] for x in window} == {"fresh"}
        assert {x["deployment"] for x in window} == {WINNER}
        versions = [x["version"] for x in window]
        assert versions == sorted(versions) and versions[-1] > version_at_kill
    # A clean stop gives the lock back at once rather than letting it expire.
    assert workers[follower].returncode == 0, logs[follower].read_text()[-3000:]
    assert leader_of(redis) is None
    assert any(e["msg"].startswith("leadership released") for e in events(logs[follower]))


def test_a_forged_snapshot_in_redis_steers_no_replica(redis: RedisServer, replicas: list[Replica]):
    fleet = hold_lock(redis)
    try:
        good = publish_good(fleet)
        wait_for(
            lambda: all(r.last().get("version") == good.version for r in replicas),
            10,
            "every replica to load the good snapshot",
        )
        refused_before = [r.last()["refused"] for r in replicas]
        forged_at = time.time()
        client = redis.client()
        # An attacker with write access to Redis, but not the key, promotes qwen-9b: first
        # unsigned, then signed with a key of their own, then a replay of an older snapshot
        # that was once validly signed.
        promoted = [(QWEN, 9.0, []), (GPT_OSS, 1.0, []), (LLAMA, 0.5, [])]
        unsigned = snapshot_body(promoted, version=good.version + 10).seal()
        wrong_key = sign(
            snapshot_body(promoted, version=good.version + 11).seal(),
            b"attacker-key-0123456789",
        )
        replay = sign(
            snapshot_body(
                [(QWEN, 9.0, []), (GPT_OSS, 1.0, [])],
                generated_at=good.generated_at - timedelta(hours=1),
                version=good.version - 1,
            ).seal(),
            KEY.encode(),
        )
        for forged in (unsigned, wrong_key, replay):
            client.hset(
                "traction:snapshot",
                mapping={
                    "data": render(forged),
                    "content_hash": forged.content_hash,
                    "version": forged.version,
                    "signature": forged.signature or "",
                },
            )
            client.publish("traction:snapshots", json.dumps({"version": forged.version}))
            wait_for(
                lambda before=list(refused_before): all(
                    r.last().get("refused", 0) > b for r, b in zip(replicas, before, strict=True)
                ),
                10,
                "every replica to refuse the forged snapshot",
            )
            refused_before = [r.last()["refused"] for r in replicas]
        time.sleep(0.3)  # a few more requests on what is left in Redis (the replay)
        for replica in replicas:
            after = replica.since(forged_at)
            assert after and [x for x in after if x["error"]] == []
            assert {x["deployment"] for x in after} == {WINNER}  # never qwen-9b
            assert {x["version"] for x in after} == {good.version}
            assert {x["decision"] for x in after} == {"fresh"}
            assert after[-1]["refused"] >= 3
            assert "refused a snapshot" in replica.log.read_text()
        # The next genuine publish replaces what the attacker left, and every replica takes it.
        fresh = publish_good(fleet, after=good.version)
        wait_for(
            lambda: all(r.last().get("version") == fresh.version for r in replicas),
            10,
            "every replica to take the next genuine snapshot",
        )
    finally:
        fleet.close()


def test_a_redis_outage_only_ages_the_snapshot_until_max_age_falls_back(
    redis: RedisServer, replicas: list[Replica]
):
    fleet = hold_lock(redis)
    try:
        # Generated so that it turns older than the replicas' max_age 4 s from now.
        generated = datetime.now(timezone.utc) - timedelta(seconds=MAX_AGE - 4)
        good = publish_good(fleet, generated_at=generated)
        wait_for(
            lambda: all(r.last().get("version") == good.version for r in replicas),
            10,
            "every replica to load the snapshot",
        )
    finally:
        fleet.close()
    redis.stop()
    stopped_at = time.time()
    too_old_at = generated.timestamp() + MAX_AGE
    wait_for(
        lambda: all(r.since(too_old_at + 0.5) for r in replicas),
        MAX_AGE + 5,
        "the snapshot to age past max_age",
    )
    for replica in replicas:
        during = replica.since(stopped_at)
        assert [x for x in during if x["error"]] == []  # Redis down never fails a request
        before = [x for x in during if x["t"] < too_old_at - 0.2]
        after = [x for x in during if x["t"] > too_old_at + 0.2]
        assert before and after
        assert {(x["decision"], x["deployment"]) for x in before} == {("fresh", WINNER)}
        assert {(x["decision"], x["deployment"]) for x in after} == {("stale", FALLBACK)}
        assert "unreachable" in replica.log.read_text()


# The lock protocol, in process ----------------------------------------------------------


def test_a_deposed_leader_stops_before_its_successor_starts_and_cannot_overwrite_it(
    redis_server: RedisServer,
):
    config = {"redis_url": redis_server.url, "lock_ttl": 1.0, "renew_interval": 0.2}
    a = Fleet(FleetConfig(**config, worker_id="a")).start()
    a.wait_first(5)
    b = Fleet(FleetConfig(**config, worker_id="b")).start()
    b.wait_first(5)
    try:
        assert a.is_leader() and not b.is_leader() and b.leader() == "a"
        with pytest.raises(NotLeader, match="does not lead"):
            b.publish(*good_document(1))
        a.publish(*good_document(1))

        a._stop.set()  # a stalls: no more renewals (a stopped VM, a long GC pause)
        wait_for(b.is_leader, 5, "b to take over")
        took_over = time.monotonic()
        # Fencing by deadline: a had stopped considering itself leader before b could start.
        assert not a.is_leader() and a._deadline <= took_over
        with pytest.raises(NotLeader):
            a.publish(*good_document(2))
        # Fencing by token: even a write that skipped the deadline check is refused by the
        # Lua compare in Redis, and leaves b's snapshot alone.
        b.publish(*good_document(b.next_version_floor() + 1))
        before = redis_server.client().hgetall("traction:snapshot")
        snapshot, data = good_document(99)
        refused = a._publish(
            keys=["traction:leader", "traction:snapshot"],
            args=[a.token, 99, snapshot.content_hash, "", "", data, "a", "", "c", "{}"],
        )
        assert refused == 0
        assert redis_server.client().hgetall("traction:snapshot") == before
        assert int(before[b"version"]) == 2 and before[b"published_by"] == b"b"
    finally:
        b.close()
        a.close()


def test_the_fleet_snapshot_version_only_goes_up(redis_server: RedisServer):
    """A leader that would publish a version the fleet already has, or an older one (a
    worker whose database lags, a replayed publish), is refused in Redis: replicas never
    see the version number go back or name two documents."""
    config = {"redis_url": redis_server.url, "lock_ttl": 2.0, "renew_interval": 0.3}
    leader = Fleet(FleetConfig(**config, worker_id="a")).start()
    leader.wait_first(5)
    try:
        assert leader.is_leader()
        leader.publish(*good_document(5))
        before = redis_server.client().hgetall("traction:snapshot")
        for version in (5, 4, 1):
            with pytest.raises(VersionTaken, match=f"already has a snapshot at or past v{version}"):
                leader.publish(*good_document(version))
        assert redis_server.client().hgetall("traction:snapshot") == before
        leader.publish(*good_document(6))
        assert int(redis_server.client().hget("traction:snapshot", "version")) == 6
    finally:
        leader.close()


def good_document(version: int) -> tuple[Snapshot, bytes]:
    snapshot = snapshot_body([(GPT_OSS, 1.0, [])], version=version).seal()
    return snapshot, render(snapshot)


def test_run_once_on_a_follower_does_nothing_and_says_who_leads(
    tmp_path: Path, redis_server: RedisServer
):
    with Upstream() as up:
        up.set_day(0)
        config = worker_config(tmp_path, up.url, redis_server, "cron-worker")
        holder = hold_lock(redis_server, worker_id="the-leader")
        try:
            following = traction("run", "--once", config=config, **{KEY_ENV: KEY})
            assert up.requests == []  # a follower does not spend the upstream's quota
        finally:
            holder.close()
        leading = traction("run", "--once", config=config, **{KEY_ENV: KEY})  # lock is free
    assert following.returncode == 0, following.stderr
    assert "following: worker the-leader leads the fleet" in following.stdout
    assert leading.returncode == 0, leading.stderr
    stored = fleet_snapshot(redis_server)
    assert stored["published_by"] == "cron-worker" and "published snapshot v1" in leading.stdout
    assert verify(Snapshot.model_validate_json(stored["data"]), KEY.encode()) is None
    assert leader_of(redis_server) is None  # released when the command ended
    assert KEY not in following.stdout + following.stderr + leading.stdout + leading.stderr
    status = traction("status", "--json", config=config)
    fleet = json.loads(status.stdout)["fleet"]
    assert fleet["leader"] is None and fleet["snapshot_version"] == 1
    holder = hold_lock(redis_server, worker_id="the-leader")
    try:
        text = traction("status", config=config).stdout
    finally:
        holder.close()
    assert "led by the-leader, fleet snapshot v1" in text


def test_a_worker_cut_off_from_redis_says_so_without_its_password(
    tmp_path: Path, redis_server: RedisServer
):
    """A password the server does not accept: the lock cannot be taken, the cycle does
    nothing, and the password appears nowhere (logs, errors)."""
    redis_server.client().config_set("requirepass", "the-right-one")
    with Upstream() as up:
        up.set_day(0)
        config = worker_config(tmp_path, up.url, redis_server, "w")
        url = redis_server.url.replace("redis://", "redis://:hunter2-secret@")
        result = traction("run", "--once", config=config, TRACTION_FLEET__REDIS_URL=url)
        assert up.requests == []
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "hunter2" not in output
    assert "fleet redis redis://:***@127.0.0.1" in result.stderr


# Signing, configuration, boundaries ----------------------------------------------------


def test_signature_covers_the_content_and_an_unsigned_snapshot_is_unchanged():
    key = KEY.encode()
    sealed = snapshot_body([(GPT_OSS, 1.0, [])]).seal()
    signed = sign(sealed, key)
    assert b'"signature"' not in render(sealed)  # readers that predate signatures still read it
    assert signed.content_hash == sealed.content_hash
    assert signed.signature == signature_of(sealed, key)
    assert verify(Snapshot.model_validate_json(render(signed)), key) is None  # survives bytes
    assert verify(sealed, key) == "unsigned"
    assert "another key" in verify(signed, b"some-other-key-0123456")
    # A genuine signature lifted onto other content does not verify.
    lifted = (
        snapshot_body([(GPT_OSS, 9.0, [])])
        .seal()
        .model_copy(update={"signature": signed.signature})
    )
    assert "another key" in verify(lifted, key)


def test_the_file_transport_refuses_unsigned_snapshots_and_keeps_the_last_good(tmp_path):
    path = tmp_path / "snapshot.json"
    good = sign(snapshot_body([(GPT_OSS, 1.0, [])], version=1).seal(), KEY.encode())
    write_atomically(path, render(good))
    reader = SnapshotReader(path, check_interval=0, key=KEY.encode())
    view, problem = reader.current()
    assert problem is None and view is not None and view.version == 1
    before = refusals().get("unsigned", 0)
    write_atomically(path, render(snapshot_body([(QWEN, 5.0, [])], version=2).seal()))
    view, problem = reader.current()
    assert problem is None and view.version == 1 and reader.refused == 1
    assert refusals()["unsigned"] == before + 1  # router_adapter.refusals(), process-wide
    unsigned_only = SnapshotReader(path, check_interval=0, key=KEY.encode())
    assert unsigned_only.current() == (None, "refused: unsigned")


def test_the_http_transport_refuses_unsigned_snapshots_once_and_keeps_the_last_good():
    served = {"body": render(sign(snapshot_body([(GPT_OSS, 1.0, [])]).seal(), KEY.encode()))}

    async def snapshot(request: Request) -> Response:  # as `traction serve`: ETag = hash
        etag = json.loads(served["body"])["content_hash"]
        if request.headers.get("If-None-Match") == etag:
            return Response(status_code=304)
        return Response(served["body"], headers={"ETag": etag})

    server = loopback_http(Starlette(routes=[Route("/snapshot.json", snapshot)])).start()
    url = f"{server.url}/snapshot.json"
    source = HttpSnapshotSource(url, refresh_interval=3600, key=KEY.encode())
    try:
        assert source.wait_first(10)
        assert source.current()[0] is not None and source.refused == 0
        served["body"] = render(snapshot_body([(QWEN, 9.0, [])], version=2).seal())
        source.refresh()
        source.refresh()  # the same refused document again: a 304, not a second refusal
        view, problem = source.current()
        assert view is not None and view.version == 1 and problem is None
        assert source.refused == 1
    finally:
        source.close()
        server.close()


def test_fleet_config_from_the_environment_and_secrets_stay_out_of_errors(tmp_path):
    environ = {
        "TRACTION_FLEET__REDIS_URL": "redis://:hunter2-secret@redis.internal:6379/0",
        "TRACTION_FLEET__LOCK_TTL": "9",
        "TRACTION_FLEET__WORKER_ID": "w1",
        KEY_ENV: KEY,  # not a config key: must not be rejected as an unknown one
    }
    config = load_config(environ=environ)
    assert config.fleet.enabled and config.fleet.lock_ttl == 9 and config.fleet.renew_every == 3
    assert "hunter2" not in repr(config)
    assert not load_config(environ={}).fleet.enabled  # defaults: single worker, no Redis
    with pytest.raises(ConfigError) as bad:
        load_config(environ={**environ, "TRACTION_FLEET__RENEW_INTERVAL": "6"})
    assert "renew_interval" in str(bad.value) and "hunter2" not in str(bad.value)
    with pytest.raises(ConfigError) as short:
        load_config(environ={KEY_ENV: "hunter2"})
    assert KEY_ENV in str(short.value) and "hunter2" not in str(short.value)
    assert redact_url(environ["TRACTION_FLEET__REDIS_URL"]) == (
        "redis://:***@redis.internal:6379/0"
    )
    where = RedisLocation.parse("redis://:pw@h:1/0?prefix=team-a:&health_check_interval=5")
    assert where.url == "redis://:pw@h:1/0?health_check_interval=5"
    assert (where.snapshot_key, where.announce_channel) == ("team-a:snapshot", "team-a:snapshots")


def test_the_adapter_loads_redis_only_for_a_redis_snapshot():
    code = (
        "import sys, router_adapter\n"
        "from router_adapter import open_source\n"
        "open_source('missing.json')\n"
        "print('redis' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "False"


def test_without_redis_server_the_fixture_skips_and_under_ci_it_fails(monkeypatch):
    monkeypatch.setattr(redis_server.shutil, "which", lambda name: None)
    monkeypatch.setattr(redis_server, "FALLBACKS", [])
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="redis-server is not installed"):
        redis_server.require_binary()
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="CI must run the fleet tests"):
        redis_server.require_binary()
