"""`traction run` as a daemon, a real subprocess against upstream stubs on 127.0.0.1."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import duckdb

from schemas.snapshot import Snapshot
from traction.demo.upstream import Upstream, bundled

from helpers import daemon_config, start, traction


def ingest_runs(analytics: Path) -> list[tuple]:
    """What an analyst sees, from the read-only copy, while the daemon runs."""
    if not analytics.exists():
        return []
    with duckdb.connect(str(analytics), read_only=True) as con:
        return con.execute("SELECT source, status FROM runs WHERE kind = 'ingest'").fetchall()


def test_daemon_runs_cycles_serves_analysts_and_stops_cleanly(tmp_path):
    calls = {"n": 0}

    def hugging_face_day():  # a new day of data at every cycle
        calls["n"] += 1
        return bundled("huggingface", min(calls["n"] // 8, 7))

    with Upstream() as up:
        up.set_day(0)
        up.payloads["huggingface"] = hugging_face_day
        config = daemon_config(tmp_path, up.url)
        log = tmp_path / "daemon.log"
        proc = start(config, log)
        analytics = tmp_path / "data" / "analytics.duckdb"
        try:
            deadline = time.monotonic() + 90
            seen: list[tuple] = []
            while time.monotonic() < deadline:
                assert proc.poll() is None, log.read_text()[-3000:]
                seen = ingest_runs(analytics)  # readable while the daemon writes
                if sum(1 for source, _ in seen if source == "huggingface") >= 3:
                    break
                time.sleep(0.3)
            assert sum(1 for source, _ in seen if source == "huggingface") >= 3, seen
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    output = log.read_text()
    assert proc.returncode == 0, output[-3000:]
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any(e["msg"].startswith("signal 15") for e in events)
    assert events[-1]["msg"] == "traction daemon stopped"
    ingest_events = [e for e in events if e["logger"] == "traction.ingest"]
    assert ingest_events and all("run_id" in e and "source" in e for e in ingest_events)
    with duckdb.connect(str(tmp_path / "data" / "traction.duckdb"), read_only=True) as con:
        runs = con.execute("SELECT kind, source, status, run_id FROM runs").fetchall()
    assert not [r for r in runs if r[2] == "running"]  # no partial run left behind
    logged = {e["run_id"] for e in ingest_events}
    assert logged <= {r[3] for r in runs}  # every cycle the daemon ran is in `runs`
    Snapshot.model_validate_json((tmp_path / "data" / "snapshot.json").read_bytes())


def test_a_second_worker_on_the_same_data_refuses(tmp_path):
    with Upstream() as up:
        up.set_day(0)
        config = daemon_config(tmp_path, up.url)
        first = start(config, tmp_path / "first.log")
        try:
            lock = tmp_path / "data" / "traction.duckdb.lock"
            deadline = time.monotonic() + 30
            while not (lock.exists() and lock.read_text().strip()) and time.monotonic() < deadline:
                time.sleep(0.1)
            second = start(config, tmp_path / "second.log")
            assert second.wait(timeout=60) == 4
            message = (tmp_path / "second.log").read_text()
            assert f"another traction process (pid {first.pid})" in message
            once = traction("run", "--once", config=config)
            assert once.returncode == 4 and "refusing to run beside it" in once.stderr
        finally:
            first.send_signal(signal.SIGTERM)
            first.wait(timeout=60)
    assert first.returncode == 0


def test_run_once_is_idempotent_and_reports_partial_failure(tmp_path):
    with Upstream() as up:
        up.set_day(0)
        config = daemon_config(tmp_path, up.url)
        first = traction("run", "--once", config=config)
        again = traction("run", "--once", config=config)
        assert first.returncode == 0 and "published snapshot v1" in first.stdout
        assert again.returncode == 0 and "snapshot v1 stays current" in again.stdout
        up.payloads["huggingface"] = {"error": "not a list"}
        up.payloads["openrouter"] = bundled("openrouter", 7)
        partial = traction("run", "--once", config=config)
    assert partial.returncode == 3, partial.stderr
    assert "published snapshot v2" in partial.stdout and "huggingface: failed" in partial.stderr


def test_a_deferred_publish_books_a_publish_job_at_the_end_of_the_interval(tmp_path, monkeypatch):
    """A cycle whose publish was coalesced leaves a one-off job that publishes the stored
    facts when `scoring.min_publish_interval` ends, even if no source runs before then."""
    from datetime import datetime, timedelta, timezone

    from traction import daemon
    from traction.pipeline import CycleReport

    from helpers import loopback_config

    until = datetime.now(timezone.utc) + timedelta(minutes=15)
    monkeypatch.setattr(
        daemon, "run_cycle", lambda *a, **k: CycleReport(current_version=1, deferred_until=until)
    )
    booked: list[dict] = []

    class Scheduler:
        def add_job(self, func, trigger, **kw):
            booked.append({"func": func, "trigger": trigger, **kw})

        def get_job(self, job_id):
            return None

    config = loopback_config(tmp_path)
    daemon.cycle_job(config, "huggingface", None, Scheduler())
    daemon.cycle_job(config, "github", None, Scheduler())  # one job, replaced: not two
    booked = [b for b in booked if b["id"] != "analytics"]
    assert [(b["func"], b["trigger"], b["id"]) for b in booked] == [
        (daemon.publish_job, "date", "deferred-publish")
    ] * 2
    assert all(b["replace_existing"] and b["run_date"] > until for b in booked)
    published: list[object] = []
    monkeypatch.setattr(
        daemon,
        "publish_deferred",
        lambda config, fleet=None, analytics=True: published.append(config) or CycleReport(),
    )
    daemon.publish_job(config)
    assert published == [config]


def test_one_analytics_refresh_follows_the_sources_that_run_together(tmp_path):
    """The three hourly sources run back to back; refreshing the analysts' copy after each
    would pay the refresh three times for one hour's news. A cycle books one refresh
    `storage.analytics_delay` seconds on, and later cycles leave that booking alone (moving
    it would starve the copy if cycles kept coming)."""
    from datetime import datetime, timedelta, timezone

    from traction import daemon

    from helpers import loopback_config

    class Scheduler:  # the two calls the daemon's jobs make of APScheduler's
        def __init__(self) -> None:
            self.jobs: dict[str, dict] = {}

        def add_job(self, func, trigger, **kw):
            self.jobs[kw["id"]] = {"func": func, "trigger": trigger, **kw}

        def get_job(self, job_id):
            return self.jobs.get(job_id)

    with Upstream() as up:
        up.set_day(0)
        config = loopback_config(tmp_path, up.url)
        assert config.storage.analytics_delay == 120
        scheduler = Scheduler()
        daemon.cycle_job(config, "huggingface", None, scheduler)
        booked = dict(scheduler.jobs["analytics"])
        daemon.cycle_job(config, "openrouter", None, scheduler)
        assert scheduler.jobs["analytics"] == booked  # one refresh, not moved on
        assert booked["trigger"] == "date" and booked["func"] is daemon.analytics_job
        due = booked["run_date"] - datetime.now(timezone.utc)
        assert timedelta(seconds=100) < due <= timedelta(seconds=120)
        assert not config.storage.analytics.exists()
        scheduler.jobs.pop("analytics")["func"](*booked["args"])  # the job runs
        assert sorted(ingest_runs(config.storage.analytics)) == [
            ("huggingface", "ok"),
            ("openrouter", "ok"),
        ]
        at_once = config.model_copy(
            update={"storage": config.storage.model_copy(update={"analytics_delay": 0})}
        )
        daemon.cycle_job(at_once, "huggingface", None, scheduler)
        assert "analytics" not in scheduler.jobs
        assert len(ingest_runs(config.storage.analytics)) == 3  # refreshed by the cycle
