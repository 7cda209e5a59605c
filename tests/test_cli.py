"""The `traction` command as an operator runs it: a real subprocess, real files."""

from __future__ import annotations

import json
import time

from traction.demo.upstream import Upstream

from helpers import traction, write_config


def test_run_once_publishes_then_survives_every_source_down(tmp_path):
    with Upstream() as up:
        up.set_day(0)
        up.payloads["wzrd"] = {"contract_version": "wzrd.momentum.v1", "count": 0, "models": []}
        config = write_config(tmp_path, up.url)
        ok = traction("run", "--once", config=config)
    assert ok.returncode == 0, ok.stderr
    assert "published snapshot v1" in ok.stdout
    snapshot = tmp_path / "data" / "snapshot.json"
    before = snapshot.read_bytes()

    down = traction("run", "--once", config=write_config(tmp_path, "http://127.0.0.1:9"))
    assert down.returncode == 1
    failures = [line for line in down.stderr.splitlines() if ": unreachable: " in line]
    # one reason per source; the endpoints source was planned from the first snapshot's ranking
    assert sorted(line.split(":")[0] for line in failures) == [
        "huggingface",
        "openrouter",
        "openrouter_endpoints",
        "wzrd",
    ]
    assert "openrouter_rankings: skipped: OPENROUTER_API_KEY is not set" in down.stdout
    assert "no snapshot published" in down.stderr
    assert snapshot.read_bytes() == before  # byte for byte


def test_status_json_reports_runs_and_snapshot(tmp_path):
    with Upstream() as up:
        up.set_day(6)  # the day with one drifted Hugging Face record
        config = write_config(tmp_path, up.url)
        config.write_text(
            config.read_text().replace(
                'authors = ["Qwen", "meta-llama"]', 'authors = ["example-org", "Qwen"]'
            )
        )
        assert traction("run", "--once", "--source", "huggingface", config=config).returncode == 0
    status = traction("status", "--json", config=config)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    hf = report["sources"]["huggingface"]
    assert hf["last_run"]["status"] == "ok"
    assert hf["last_run"]["records_quarantined"] == 1 and hf["quarantined_total"] == 1
    assert hf["last_run"]["records_stored"] == hf["observations_total"] > 0
    assert report["snapshot"]["version"] == 1 and report["snapshot"]["file_present"]
    text = traction("status", config=config)
    assert "huggingface" in text.stdout and "snapshot v1" in text.stdout


def test_config_error_exits_2_naming_the_key(tmp_path):
    result = traction("run", "--once", TRACTION_SOURCES__HUGGINGFACE__TOP_N="many")
    assert result.returncode == 2
    assert "sources.huggingface.top_n" in result.stderr and "'many'" in result.stderr


def test_schema_command_prints_the_snapshot_json_schema():
    result = traction("schema")
    assert result.returncode == 0
    assert json.loads(result.stdout)["title"] == "Snapshot"


def test_demo_ranks_and_routes_a_real_litellm_call(tmp_path):
    result = traction(
        "demo",
        "--data-dir",
        str(tmp_path / "demo"),
        cwd=tmp_path,
        LITELLM_LOCAL_MODEL_COST_MAP="True",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    ranking = [line.split() for line in out.splitlines() if line.strip()[:2].strip().isdigit()]
    assert [row[1] for row in ranking][:2] == ["qwen3.5-9b", "qwen3.5-35b"]
    assert ranking[-1][1] == "mistral-small" and "cooling" in ranking[-1]
    assert "served by deployment 'qwen3.5-9b'" in out
    assert (tmp_path / "demo" / "snapshot.json").exists()


def test_run_once_due_paces_sources_for_cron(tmp_path):
    """Cron may call `run --once --due` every few minutes: a source runs only once its
    interval has passed since its last run."""
    with Upstream() as up:
        up.set_day(0)
        config = write_config(tmp_path, up.url)
        text = config.read_text().replace(
            "[sources.openrouter]\n", "[sources.openrouter]\ninterval = 1\n", 1
        )
        config.write_text(text)
        first = traction("run", "--once", "--due", config=config)
        assert first.returncode in (0, 3), first.stderr
        ran = lambda out: {line.split(":")[0] for line in out.stdout.splitlines()}  # noqa: E731
        assert {"huggingface", "openrouter"} <= ran(first)
        time.sleep(1.1)  # openrouter's 1 s interval passes; huggingface's hour does not
        second = traction("run", "--once", "--due", config=config)
        assert second.returncode in (0, 3), second.stderr
        assert "openrouter" in ran(second) and "huggingface" not in ran(second)
        quiet = traction("run", "--once", "--due", "--source", "huggingface", config=config)
        assert quiet.returncode == 0 and quiet.stdout.startswith("nothing due; next: huggingface")
    misuse = traction("run", "--due", config=config)
    assert misuse.returncode == 2 and "--due goes with --once" in misuse.stderr
