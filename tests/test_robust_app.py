"""The application side of issue 12: the failures an operator met, each reproduced for real
(DuckDB files in tmp dirs, real processes holding locks or dying mid-publish, real
loopback HTTP servers), and what traction does instead."""

from __future__ import annotations

import http.client
import json
import os
import socket
import struct
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

import store
from schemas.config import ScoringConfig
from schemas.snapshot import Snapshot
from scoring.identity import Identity, build_identity
from scoring.models import score_models
from traction.demo.upstream import Upstream
from traction.pipeline import CycleReport, run_cycle, score_and_publish
from traction.serve import SnapshotServer

from helpers import Holder, config_file, loopback_config, traction_cli

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def _component(source: str, model_id: str) -> dict:
    return {
        "source": source,
        "model_id": model_id,
        "metric": "downloads",
        "value": 1.0,
        "velocity": 0.0,
        "delta_pct": None,
        "raw_delta_pct": None,
        "spike": False,
        "trend": "stable",
        "trend_points": 0.0,
        "momentum": 0.5,
        "confidence": "low",
        "confidence_weight": 0.5,
        "history_days": 1,
        "weight": 1.0,
        "last_observed_at": NOW,
        "score": 0.5,
    }


# Item 4: publishing is linear in the number of models ------------------------------


def test_scoring_builds_the_alias_map_once_not_once_per_model(monkeypatch):
    ids = [f"org/model-{i}" for i in range(300)]
    identity = build_identity(
        [("huggingface", i, None, None) for i in ids], [("huggingface", i) for i in ids]
    )
    assert identity.aliases is identity.aliases  # built once, then kept
    builds = []
    real = Identity.__dict__["aliases"]
    compute = getattr(real, "func", None) or real.fget

    def counting(self: Identity) -> dict:
        builds.append(1)
        return compute(self)

    monkeypatch.setattr(Identity, "aliases", property(counting))
    scored = score_models(
        [_component("huggingface", i) for i in ids], [], identity, ScoringConfig(), NOW
    )
    assert len(scored) == len(ids)
    assert len(builds) == 1  # was one full rebuild per model: quadratic


# Item 5: one writer per data directory; readers never meet a raw DuckDB lock error -----

HOLD_LOCK = "from traction.lock import DataDirLock\nlock = DataDirLock(DB).acquire()"
HOLD_DATABASE = "import duckdb\ncon = duckdb.connect(DB)"


@pytest.mark.parametrize("command", [["ingest"], ["publish"], ["run", "--once"], ["vacuum"]])
def test_every_writer_exits_4_naming_the_holder(tmp_path, command):
    config = config_file(tmp_path)
    database = tmp_path / "data" / "traction.duckdb"
    with Holder(HOLD_LOCK, database) as holder:
        result = traction_cli(*command, config=config)
    assert result.returncode == 4, result.stderr
    assert f"pid {holder.pid}" in result.stderr and "Traceback" not in result.stderr


def test_status_reads_the_analytics_copy_while_a_writer_has_the_database(tmp_path, config):
    with Upstream() as up:
        up.set_day(0)
        config = loopback_config(tmp_path, up.url)
        assert run_cycle(config).published
    with Holder(HOLD_DATABASE, config.storage.database) as holder:
        path = tmp_path / "traction.toml"
        path.write_text(
            "[storage]\n"
            f'database = "{config.storage.database}"\n'
            f'snapshot = "{config.storage.snapshot}"\n'
            f'analytics = "{config.storage.analytics}"\n'
        )
        status = traction_cli("status", "--json", config=path)
        busy = traction_cli("trends", config=path, timeout=60)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["read_from"] == str(config.storage.analytics)
    assert f"process {holder.pid}" in report["note"]
    assert report["snapshot"]["version"] == 1 and report["sources"]["huggingface"]
    # a reader with no copy to fall back on says the database is busy: exit 4, one line
    assert busy.returncode == 4 and "is busy" in busy.stderr and "Traceback" not in busy.stderr


DIE_MID_PUBLISH = """
from datetime import datetime, timezone
import store
with store.connect(DB) as con:
    RUN = store.start_run(con, "publish", None, datetime.now(timezone.utc))
import os
os._exit(9)
"""


def test_runs_left_running_by_a_killed_process_are_closed_at_the_next_writer(tmp_path):
    config = config_file(tmp_path)
    database = tmp_path / "data" / "traction.duckdb"
    import subprocess
    import sys

    died = subprocess.run(
        [sys.executable, "-c", f"DB = {str(database)!r}\n{DIE_MID_PUBLISH}"], timeout=60
    )
    assert died.returncode == 9
    with store.connect(database, read_only=True) as con:
        assert store.rows(con, "SELECT status FROM runs") == [("running",)]
    traction_cli("vacuum", config=config)
    with store.connect(database, read_only=True) as con:
        (status, finished), *_ = store.rows(con, "SELECT status, finished_at FROM runs")
    assert status == "interrupted" and finished is not None


# Item 6: facts stored but never published -----------------------------------------


def test_facts_landed_by_ingest_alone_are_published_by_the_next_cycle(tmp_path):
    from ingest.runner import ingest

    with Upstream() as up:
        up.set_day(0)
        config = loopback_config(tmp_path, up.url)
        assert run_cycle(config).snapshot.version == 1
        up.set_day(1)  # new facts, landed by `traction ingest` alone
        with store.connect(config.storage.database) as con:
            assert any(o.stored for o in ingest(con, config))
        report = run_cycle(config)  # upstream unchanged since: nothing new *upstream*
        again = run_cycle(config)  # and once published, a quiet upstream is a no-op again
    assert report.current_version is None, "said nothing new with unpublished facts stored"
    assert report.published and report.snapshot.version == 2
    assert again.current_version == 2


# Item 7: snapshot versions never repeat, whatever the crash point ----------------------

DIE_AFTER_RENAME = """
import os
from datetime import datetime, timezone
from schemas.config import TractionConfig
import scoring.snapshot as snapshot_mod
from traction.pipeline import CycleReport, score_and_publish
import store
import json
config = TractionConfig.model_validate(json.loads(os.environ["BENCH_CONFIG"]))
real = snapshot_mod.write_atomically
def write_then_die(path, data):
    real(path, data)
    os._exit(9)  # the file is in place, the transaction never commits
snapshot_mod.write_atomically = write_then_die
with store.connect(DB) as con:
    score_and_publish(con, config, datetime.now(timezone.utc), CycleReport())
"""


def test_a_publisher_killed_between_rename_and_commit_never_makes_a_version_repeat(tmp_path):
    import subprocess
    import sys

    with Upstream() as up:
        up.set_day(0)
        config = loopback_config(tmp_path, up.url)
        from ingest.runner import ingest

        with store.connect(config.storage.database) as con:
            ingest(con, config)
    env = {**os.environ, "BENCH_CONFIG": config.model_dump_json()}
    died = subprocess.run(
        [sys.executable, "-c", f"DB = {str(config.storage.database)!r}\n{DIE_AFTER_RENAME}"],
        env=env,
        timeout=120,
    )
    assert died.returncode == 9
    seen = Snapshot.model_validate_json(config.storage.snapshot.read_bytes())  # routers saw it
    assert seen.version == 1
    with store.connect(config.storage.database) as con:
        assert store.rows(con, "SELECT version FROM snapshots") == []  # never committed
        report = CycleReport()
        score_and_publish(con, config, datetime.now(timezone.utc), report)
        recorded = dict(store.rows(con, "SELECT version, content_hash FROM snapshots"))
    assert report.snapshot.version == 2  # not a second, different v1
    assert recorded == {1: seen.content_hash, 2: report.snapshot.content_hash}


# Item 10: inf and NaN are configuration errors; a crashed publish is recorded ------------


def test_inf_and_nan_are_refused_as_configuration_errors(tmp_path):
    inf = traction_cli("publish", TRACTION_SCORING__INPUT_OUTPUT_RATIO="inf")
    assert inf.returncode == 2 and "Traceback" not in inf.stderr
    assert "scoring.input_output_ratio = 'inf'" in inf.stderr
    assert "TRACTION_SCORING__INPUT_OUTPUT_RATIO" in inf.stderr
    config = config_file(tmp_path, extra='\n[scoring.metric_weights]\n"github.stars" = nan\n')
    nan = traction_cli("publish", config=config)
    assert nan.returncode == 2 and "Traceback" not in nan.stderr
    assert "scoring.metric_weights.github.stars = nan" in nan.stderr and str(config) in nan.stderr


def test_a_publish_that_crashes_records_its_run_as_failed(tmp_path, config, monkeypatch):
    import traction.pipeline as pipeline

    def broken(*args, **kwargs):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(pipeline, "build_snapshot", broken)
    with store.connect(config.storage.database) as con:
        with pytest.raises(ZeroDivisionError):
            score_and_publish(con, config, NOW, CycleReport())
        [(status, error)] = store.rows(con, "SELECT status, error FROM runs")
    assert status == "failed" and "ZeroDivisionError" in error


# Item 11: messages, not tracebacks -------------------------------------------------


def test_operator_mistakes_are_messages_not_tracebacks(tmp_path):
    config = config_file(tmp_path)
    payload = tmp_path / "dump.json"
    payload.write_text("{}")
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes("[storage]\n# caf\xe9\n".encode("latin-1"))
    cases = {
        "unknown source": (["ingest", "--source", "bogus"], {}, "bogus"),
        "observed-at": (
            ["ingest", "--source", "openrouter", "--from-file", str(payload)]
            + ["--observed-at", "yesterday"],
            {},
            "yesterday",
        ),
        "snapshot at": (["snapshot", "show", "--at", "garbage"], {}, "garbage"),
        "config dir": (["--config", str(tmp_path), "status"], {}, "is a directory"),
        "not utf-8": (["--config", str(latin1), "status"], {}, "not UTF-8"),
        "env json": (
            ["status"],
            {"TRACTION_SOURCES__HUGGINGFACE": '{"authors": 5}'},
            "(from TRACTION_SOURCES__HUGGINGFACE)",
        ),
    }
    for name, (args, env, words) in cases.items():
        result = traction_cli(*args, config=None if "--config" in args else config, **env)
        assert result.returncode == 2, (name, result.stderr)
        assert "Traceback" not in result.stderr, (name, result.stderr)
        assert words in result.stderr, (name, result.stderr)


def test_an_unexpected_error_is_one_log_event_and_one_line_not_a_traceback(tmp_path):
    config = config_file(tmp_path)
    database = tmp_path / "data" / "traction.duckdb"
    database.parent.mkdir()
    database.write_bytes(b"not a duckdb file" * 1000)
    result = traction_cli("publish", config=config)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[-1].startswith("traction: publish failed: ")
    for line in lines[:-1]:  # everything else is one JSON log event per line
        json.loads(line)


# Item 13: serve and status ----------------------------------------------------------


@pytest.fixture
def served(tmp_path, write_snapshot):
    models = [(f"org/model-{i}", float(i), []) for i in range(8000)]  # a few MB of JSON
    path = write_snapshot(models)
    with SnapshotServer(path) as server:
        yield server


def _get(server: SnapshotServer, target: str, timeout: float = 5) -> tuple[int, bytes]:
    host, port = server.address
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_bad_limits_are_400_and_huge_ones_the_cap(served):
    assert _get(served, "/v1/signals/momentum?limit=%C2%B2")[0] == 400  # '²' is a digit to str
    assert _get(served, "/v1/signals/momentum?limit=-1")[0] == 400
    status, body = _get(served, "/v1/signals/momentum?limit=" + "9" * 5000)
    assert status == 200  # int() of 5,000 digits raised: 500


def test_a_client_hanging_up_is_not_a_traceback_on_stderr(served, capfd):
    host, port = served.address
    for _ in range(3):
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the server must wait
        client.settimeout(5)
        client.connect((host, port))
        client.sendall(b"GET /snapshot.json HTTP/1.1\r\nHost: x\r\n\r\n")
        client.recv(100)  # the response has started; hang up with a reset mid-body
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
    assert _get(served, "/healthz")[0] == 200  # still serving
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception occurred" not in err


def test_a_fifo_at_the_snapshot_path_blocks_nobody(tmp_path, make_router):
    from router_adapter import register

    fifo = tmp_path / "snapshot.json"
    os.mkfifo(fifo)
    router = make_router(
        [
            {
                "model_name": "chat",
                "litellm_params": {
                    "model": "openai/gpt-4o-mini",
                    "api_key": "sk-test",
                    "api_base": "http://127.0.0.1:9",
                    "mock_response": f"reply from {dep}",
                },
                "model_info": {"id": dep},
            }
            for dep in ("first", "second")
        ]
    )
    register(router, snapshot=fifo, check_interval=0)
    answers: dict[str, object] = {}

    def complete() -> None:
        response = router.completion(model="chat", messages=[{"role": "user", "content": "hi"}])
        answers["served_by"] = response._hidden_params["model_id"]

    caller = threading.Thread(target=complete, daemon=True)  # blocked forever, before
    caller.start()
    caller.join(timeout=5)
    assert answers.get("served_by") == "first"  # deployment order: no snapshot to rank by
    with SnapshotServer(fifo) as server:
        status, body = _get(server, "/healthz", timeout=3)
    assert status == 503 and b"not a regular file" in body


def test_status_reports_the_configured_snapshot_path_not_the_recorded_one(tmp_path, monkeypatch):
    first, other = tmp_path / "first", tmp_path / "other"
    first.mkdir()
    other.mkdir()
    monkeypatch.chdir(first)
    with Upstream() as up:
        up.set_day(0)
        config = loopback_config(tmp_path, up.url)
        config.storage.snapshot = Path("snapshot.json")  # relative, as in a config file
        assert run_cycle(config).published
    from traction.status import collect

    monkeypatch.chdir(other)
    config.storage.snapshot = first / "snapshot.json"  # the same file, seen from elsewhere
    snap = collect(config)["snapshot"]
    assert snap["file_present"] and snap["path"] == str(first / "snapshot.json")
