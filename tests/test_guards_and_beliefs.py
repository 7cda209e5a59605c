"""Publish guards keep the last good snapshot byte for byte; the history of beliefs answers
what the router believed, and why."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from traction import store
from traction.config import load_config
from traction.demo.upstream import Upstream
from traction.pipeline import CycleReport, run_cycle, score_and_publish

from test_cli import traction, write_config

NOW = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)


@pytest.fixture
def history(tmp_path):
    """Three bundled days ending now, published each day, through the real pipeline."""
    with Upstream() as up:
        path = write_config(tmp_path, up.url)
        config = load_config(path, environ={})
        for day in range(3):
            up.set_day(day)
            report = run_cycle(config, now=NOW - timedelta(days=2 - day))
            assert report.published, report.refused
    return path, config


def publish_now(config, now=NOW, force=None) -> CycleReport:
    report = CycleReport()
    with store.connect(config.storage.database) as con:
        score_and_publish(con, config, now, report, force=force)
    return report


def last_publish_run(config):
    with store.connect(config.storage.database, read_only=True) as con:
        return store.rows(
            con,
            "SELECT status, error, note FROM runs WHERE kind = 'publish'"
            " ORDER BY started_at DESC, finished_at DESC LIMIT 1",
        )[0]


def test_guard_refuses_when_most_models_would_vanish(history):
    _, config = history
    before = config.storage.snapshot.read_bytes()
    with store.connect(config.storage.database) as con:  # a bad retention job, say
        for table in ("observations", "prices", "catalog"):
            con.execute(f"DELETE FROM {table} WHERE lower(model_id) NOT LIKE 'qwen/%'")
    report = publish_now(config)
    assert not report.published and "would vanish" in report.refused
    assert config.storage.snapshot.read_bytes() == before
    status, error, _ = last_publish_run(config)
    assert status == "refused" and "max_vanished_share" in error


def test_guard_refuses_when_every_source_is_stale(history):
    _, config = history
    before = config.storage.snapshot.read_bytes()
    report = publish_now(config, now=NOW + timedelta(days=3))  # nothing ingested for 3 days
    assert not report.published and "every source is stale" in report.refused
    assert config.storage.snapshot.read_bytes() == before


def test_guard_refuses_an_invalid_snapshot_even_when_forced(history, monkeypatch):
    from scoring import snapshot as snapshot_mod

    _, config = history
    before = config.storage.snapshot.read_bytes()
    monkeypatch.setattr(snapshot_mod, "render", lambda s: b'{"models": "not a list"}')
    report = publish_now(config, force="trying anyway")
    assert not report.published and "failed validation" in report.refused
    assert config.storage.snapshot.read_bytes() == before


def test_force_overrides_a_guard_with_a_logged_reason(history):
    path, config = history
    before = config.storage.snapshot.read_bytes()
    stale_env = {"TRACTION_SCORING__SOURCE_MAX_AGE": "60"}  # every source is now "stale"
    refused = traction("publish", config=path, **stale_env)
    assert refused.returncode == 1 and "every source is stale" in refused.stderr
    assert config.storage.snapshot.read_bytes() == before
    no_reason = traction("publish", "--force", config=path, **stale_env)
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    forced = traction(
        "publish", "--force", "--reason", "upstream outage, ticket 42", config=path, **stale_env
    )
    assert forced.returncode == 0, forced.stderr
    assert "forced: upstream outage, ticket 42" in forced.stderr  # logged
    assert config.storage.snapshot.read_bytes() != before
    status, _, note = last_publish_run(config)
    assert (status, note) == ("ok", "forced: upstream outage, ticket 42")


def test_snapshot_show_at_a_time_answers_what_the_router_believed(history):
    path, config = history
    with store.connect(config.storage.database, read_only=True) as con:
        published = store.rows(con, "SELECT version, published_at FROM snapshots ORDER BY 1")
    first_at = published[0][1].replace(tzinfo=timezone.utc)
    then = traction("snapshot", "show", "--at", first_at.isoformat(), "--json", config=path)
    assert then.returncode == 0, then.stderr
    assert json.loads(then.stdout)["version"] == 1
    latest = traction("snapshot", "show", config=path)
    assert latest.stdout.startswith("snapshot v3") and "qwen/qwen3.5-9b" in latest.stdout
    before = traction("snapshot", "show", "--at", "2001-01-01T00:00:00Z", config=path)
    assert before.returncode == 1 and "no snapshot was published by" in before.stderr


def test_explain_shows_every_component_behind_a_rank(history):
    path, _ = history
    out = traction("explain", "openrouter/qwen/qwen3.5-9b", "--json", config=path)
    assert out.returncode == 0, out.stderr
    model = json.loads(out.stdout)
    assert model["key"] == "qwen/qwen3.5-9b" and model["rank"] >= 1
    metrics = {(c["source"], c["metric"]) for c in model["components"]}
    assert ("huggingface", "downloads") in metrics
    assert {"momentum_score", "cost_points", "agreement", "confidence_weight"} <= set(model)
    text = traction("explain", "Qwen/Qwen3.5-9B", config=path).stdout
    assert "huggingface.downloads" in text and "prices (USD per million tokens" in text
    missing = traction("explain", "no/such-model", config=path)
    assert missing.returncode == 1 and "traction resolve" in missing.stderr


def test_resolve_prints_the_key_and_the_evidence(history):
    path, _ = history
    found = traction("resolve", "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", config=path)
    assert found.returncode == 0
    lines = found.stdout.splitlines()
    assert lines[0] == "meta-llama/llama-3.3-70b-instruct"
    assert "deployment suffix removed" in lines[1] and "Hugging Face" in found.stdout
    bare = traction("resolve", "mistral", config=path)
    assert bare.returncode == 1 and "no match for 'mistral'" in bare.stdout


def test_price_changes_are_detected_and_stored(history):
    _, config = history
    with Upstream() as up:
        up.set_day(7)  # OpenRouter cut qwen3.5-9b's prompt price on the last day
        config.sources.openrouter.base_url = f"{up.url}/api/v1"
        run_cycle(config, only=["openrouter"], now=NOW + timedelta(hours=1))
    with store.connect(config.storage.database, read_only=True) as con:
        changes = store.rows(
            con,
            "SELECT model_id, provider, old_prompt_usd_per_mtok, new_prompt_usd_per_mtok"
            " FROM price_changes WHERE source = 'openrouter'",
        )
    assert [(m, p, str(o.normalize()), str(n.normalize())) for m, p, o, n in changes] == [
        ("qwen/qwen3.5-9b", "openrouter", "0.06", "0.05")
    ]
