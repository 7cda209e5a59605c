"""Publishing: validated, atomic, recorded; a refused publish leaves the last good file alone."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone

import pytest

import store
from schemas.snapshot import Snapshot, json_schema
from scoring import snapshot as snapshot_mod
from scoring.snapshot import PublishRefused, build_snapshot, publish
from traction.demo.upstream import Upstream
from traction.pipeline import run_cycle

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def seeded(tmp_path, config):
    """A database with three days of bundled data and a first published snapshot."""
    with Upstream() as up:
        config = config.model_copy(deep=True)
        config.sources.openrouter.base_url = f"{up.url}/api/v1"
        config.sources.huggingface.base_url = up.url
        for day in range(3):
            up.set_day(day)
            report = run_cycle(config, now=NOW - timedelta(days=2 - day))
            assert report.published, report.refused
    return config


def test_published_snapshot_is_valid_and_recorded(seeded):
    path = seeded.storage.snapshot
    snapshot = Snapshot.model_validate_json(path.read_bytes())
    assert snapshot.version == 3
    assert snapshot.stale_after == snapshot.generated_at + timedelta(hours=6)
    assert snapshot.sources["huggingface"].stale is False
    assert snapshot.models[0].rank == 1 and snapshot.models[0].components
    qwen = next(m for m in snapshot.models if m.key == "qwen/qwen3.5-9b")
    assert {p.model_id for p in qwen.prices} == {"qwen/qwen3.5-9b"}
    assert qwen.prices[0].prompt_usd_per_mtok == "0.06"  # exact decimal string, per million
    with store.connect(seeded.storage.database, read_only=True) as con:
        versions = con.execute("SELECT version FROM snapshots ORDER BY 1").fetchall()
        body = con.execute("SELECT body FROM snapshots WHERE version = 3").fetchone()[0]
        scored = con.execute(  # a row per change: each model's latest up to v3 stands
            "SELECT count(DISTINCT model_key) FROM scores WHERE version <= 3"
        ).fetchone()[0]
    assert versions == [(1,), (2,), (3,)]
    assert json.loads(body) == json.loads(path.read_bytes())  # the history holds the same bytes
    assert scored == len(snapshot.models)


def test_invalid_snapshot_is_refused_and_last_good_survives(seeded, monkeypatch):
    path = seeded.storage.snapshot
    before = path.read_bytes()
    monkeypatch.setattr(snapshot_mod, "render", lambda s: b'{"contract_version": "broken"}')
    with store.connect(seeded.storage.database) as con:
        snap = build_snapshot(con, seeded, NOW)
        with pytest.raises(PublishRefused, match="validation"):
            publish(con, seeded, snap, "run-x")
        assert con.execute("SELECT max(version) FROM snapshots").fetchone()[0] == 3
    assert path.read_bytes() == before


def test_tampered_content_fails_the_hash_check(seeded):
    data = json.loads(seeded.storage.snapshot.read_bytes())
    data["models"][0]["score"] += 1
    with pytest.raises(ValueError, match="content_hash"):
        Snapshot.model_validate(data)


def test_crash_during_write_leaves_old_file_and_no_temp_files(seeded, monkeypatch):
    path = seeded.storage.snapshot
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with store.connect(seeded.storage.database) as con:
        snap = build_snapshot(con, seeded, NOW)
        with pytest.raises(OSError, match="disk full"):
            publish(con, seeded, snap, "run-y")
        # the database did not record a snapshot that never reached disk
        assert con.execute("SELECT max(version) FROM snapshots").fetchone()[0] == 3
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(".")) == []


def test_nothing_to_publish_is_refused(tmp_path, config):
    with store.connect(config.storage.database) as con:
        snap = build_snapshot(con, config, NOW)
        with pytest.raises(PublishRefused, match="no models"):
            publish(con, config, snap, "run-z")
    assert not config.storage.snapshot.exists()


def test_every_source_down_publishes_nothing(seeded):
    path = seeded.storage.snapshot
    before = path.read_bytes()
    config = seeded.model_copy(deep=True)
    config.sources.openrouter.base_url = "http://127.0.0.1:9/api/v1"
    config.sources.huggingface.base_url = "http://127.0.0.1:9"
    report = run_cycle(config)
    assert not report.published and "every source failed" in report.refused
    assert path.read_bytes() == before


def test_json_schema_is_exported():
    schema = json_schema()
    assert schema["title"] == "Snapshot"
    assert {"generated_at", "stale_after", "models", "content_hash"} <= set(schema["required"])


def test_scores_use_only_history_up_to_now(seeded):
    with store.connect(seeded.storage.database) as con:
        early = build_snapshot(con, seeded, NOW - timedelta(days=2))
        late = build_snapshot(con, seeded, NOW)
    hist = {c.history_days for m in early.models for c in m.components}
    assert hist == {1}
    assert max(c.history_days for m in late.models for c in m.components) == 3


def test_committed_json_schema_file_is_current():
    """schemas/snapshot.schema.json is what non-Python readers validate against."""
    from pathlib import Path

    committed = Path(__file__).resolve().parent.parent / "schemas" / "snapshot.schema.json"
    assert json.loads(committed.read_text()) == json_schema(), (
        "regenerate: traction schema > schemas/snapshot.schema.json"
    )


def test_publishes_are_coalesced_by_min_publish_interval(tmp_path, config):
    """At the default interval a second cycle with new facts minutes after a publish waits;
    the first cycle past the interval publishes them even with nothing new upstream, and
    `publish_deferred` (the daemon's job) publishes them without ingesting."""
    from traction.pipeline import publish_deferred

    config = config.model_copy(deep=True)
    config.scoring.min_publish_interval = 900  # the default; the test helpers set 0
    assert type(config.scoring)().min_publish_interval == 900
    start = NOW - timedelta(hours=1)
    with Upstream() as up:
        config.sources.openrouter.base_url = f"{up.url}/api/v1"
        config.sources.huggingface.base_url = up.url
        up.set_day(0)
        first = run_cycle(config, now=start)
        assert first.published and first.snapshot.version == 1
        up.set_day(1)  # new facts five minutes later: stored, publish deferred
        second = run_cycle(config, now=start + timedelta(minutes=5))
        assert any(o.stored for o in second.outcomes)
        assert not second.published and second.current_version == 1
        assert second.deferred_until == start + timedelta(seconds=900)
        early = publish_deferred(config, now=start + timedelta(minutes=10))
        assert not early.published and early.deferred_until == second.deferred_until
        # upstream unchanged, but the stored facts are due once the interval has passed
        third = run_cycle(config, now=start + timedelta(minutes=16))
        assert not any(o.stored for o in third.outcomes)
        assert third.published and third.snapshot.version == 2
        up.set_day(2)
        run_cycle(config, now=start + timedelta(minutes=20))  # deferred again
        job = publish_deferred(config, now=start + timedelta(minutes=32))
        assert job.published and job.snapshot.version == 3
    with store.connect(config.storage.database, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM snapshots").fetchone()[0] == 3


def test_half_used_freshness_publishes_despite_min_publish_interval(tmp_path, config):
    config = config.model_copy(deep=True)
    config.scoring.min_publish_interval = 3 * 3600
    config.scoring.stale_after = 3600  # half of it used after 30 minutes
    start = NOW - timedelta(hours=2)
    with Upstream() as up:
        config.sources.openrouter.base_url = f"{up.url}/api/v1"
        config.sources.huggingface.base_url = up.url
        up.set_day(0)
        assert run_cycle(config, now=start).published
        up.set_day(1)
        assert run_cycle(config, now=start + timedelta(minutes=10)).deferred_until
        assert run_cycle(config, now=start + timedelta(minutes=31)).published


def test_scores_are_stored_only_when_they_change(seeded):
    """Two more publishes of an unchanged history store each model's score row once: a
    row is added only when a model's rank, score, confidence or trend changes, with the
    scalar terms typed; the newest snapshot's scores read back whole (`latest_scores`).
    (Priced by cost: a momentum score decays with its signals' age, minute by minute.)"""
    from traction.analytics import refresh
    from traction.pipeline import CycleReport, score_and_publish

    seeded.scoring.policy = "cost"
    with store.connect(seeded.storage.database) as con:
        report = CycleReport()
        score_and_publish(con, seeded, NOW, report)  # the switch to cost stores new scores
        assert report.published, report.refused
        before = store.scalar(con, "SELECT count(*) FROM scores")
        reports = []
        for minutes in (1, 30):
            report = CycleReport()
            score_and_publish(con, seeded, NOW + timedelta(minutes=minutes), report)
            assert report.published, report.refused
            reports.append(report)
        after = store.scalar(con, "SELECT count(*) FROM scores")
        per_model = store.scalar(
            con, "SELECT max(n) FROM (SELECT count(*) AS n FROM scores GROUP BY model_key)"
        )
        typed = store.rows(
            con,
            "SELECT momentum_score, cost_points, components ->> '$.momentum_score'"
            " FROM scores WHERE model_key = 'qwen/qwen3.5-9b' ORDER BY computed_at DESC LIMIT 1",
        )
        refresh(con, seeded.storage.analytics)
    first, second = (r.snapshot for r in reports)
    assert [(m.key, m.rank, m.score) for m in first.models] == [
        (m.key, m.rank, m.score) for m in second.models
    ]
    assert after == before  # the seeded history's rows still stand for both publishes
    assert per_model <= 4  # one per seeded day and the switch at most, never one per publish
    assert typed[0][0] == float(typed[0][2]) and typed[0][1] is not None
    with store.connect(seeded.storage.analytics, read_only=True) as con:
        latest = con.execute("SELECT model_key, rank, score FROM latest_scores").fetchall()
    assert latest == [(m.key, m.rank, float(m.score)) for m in second.models]
