"""Raw archive, replay and loading saved payloads; and secrets that never land anywhere."""

from __future__ import annotations

import gzip
import json
import logging
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import respx

import store
from ingest.runner import ingest, replay
from traction.demo.upstream import Upstream, bundled

from helpers import loopback_config, traction, write_config
from payloads import PRICE_MAP, RANKINGS, page_of

NOW = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


def test_every_fetched_body_is_archived_once_with_redacted_headers(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_archivetest")
    with Upstream() as up:
        up.set_day(0)
        config = loopback_config(tmp_path, up.url)
        with store.connect(config.storage.database) as con:
            ingest(con, config, now=NOW)
            ingest(con, config, now=NOW + timedelta(hours=1))  # same payloads again
            pages = store.rows(con, "SELECT run_id, url, headers, content_hash FROM raw_pages")
            bodies = store.rows(con, "SELECT content_hash, body, size FROM raw_bodies")
    runs = {p[0] for p in pages}
    assert len(runs) == 4  # two runs each of OpenRouter and Hugging Face
    assert len(bodies) == len({p[3] for p in pages}) < len(pages)  # bodies stored once
    digest, body, size = bodies[0]
    assert len(gzip.decompress(body)) == size
    for _, _, headers, _ in pages:
        assert "authorization" not in json.loads(headers)


def test_replay_rederives_the_same_facts(tmp_path):
    with Upstream() as up:
        up.set_day(2)
        config = loopback_config(tmp_path, up.url)
        with store.connect(config.storage.database) as con:
            outcomes = {o.source: o for o in ingest(con, config, now=NOW)}
            original = store.rows(con, "SELECT * EXCLUDE (run_id) FROM observations ORDER BY ALL")
            con.execute("DELETE FROM observations")  # an operator lost facts, say
            again = replay(con, config, outcomes["huggingface"].run_id)
            replayed = store.rows(con, "SELECT * EXCLUDE (run_id) FROM observations ORDER BY ALL")
            origin = store.rows(
                con, "SELECT origin, replay_of FROM runs WHERE run_id = ?", [again.run_id]
            )
    assert again.status == "ok" and again.stored == len(original)
    assert replayed == original  # same values, same observed_at as the original run
    assert origin == [("replay", outcomes["huggingface"].run_id)]


def test_retention_prunes_old_pages_and_orphaned_bodies(tmp_path):
    with Upstream() as up:
        up.set_day(0)
        config = loopback_config(tmp_path, up.url)
        with store.connect(config.storage.database) as con:
            ingest(con, config, only=["openrouter"], now=NOW)
            con.execute("UPDATE raw_pages SET fetched_at = fetched_at - INTERVAL 40 DAY")
            up.set_day(7)
            ingest(con, config, only=["openrouter"], now=NOW)  # retention 30 days: prunes
            left = store.rows(con, "SELECT count(*) FROM raw_pages")[0][0]
            bodies = store.rows(con, "SELECT count(*) FROM raw_bodies")[0][0]
    assert left == 1 and bodies == 1


def test_from_file_loads_a_real_shaped_dump_for_every_source(tmp_path):
    dumps = {
        "openrouter": bundled("openrouter", 0),
        "huggingface": bundled("huggingface", 6),  # with one drifted record
        "wzrd": page_of(0, "wzrd"),
        "openrouter_endpoints": bundled("openrouter_endpoints", 0)["qwen/qwen3.5-9b"],
        "openrouter_rankings": RANKINGS,
        "github": bundled("github", 0)["QwenLM/Qwen3.5"],
        "litellm_prices": PRICE_MAP,
    }
    config = write_config(tmp_path, "http://127.0.0.1:9")
    for source, payload in dumps.items():
        path = tmp_path / f"{source}.json"
        path.write_text(json.dumps(payload))
        result = traction(
            "ingest",
            "--source",
            source,
            "--from-file",
            str(path),
            "--observed-at",
            "2026-11-01T00:00:00Z",
            config=config,
        )
        assert result.returncode == 0, (source, result.stderr)
        assert f"{source}: ok" in result.stdout or f"{source}: degraded" in result.stdout
    status = json.loads(traction("status", "--json", config=config).stdout)
    sources = status["sources"]
    assert set(sources) == set(dumps)
    hf = sources["huggingface"]["last_run"]
    assert hf["origin"] == "file" and hf["records_quarantined"] == 1
    assert [r.split(":")[0] for r in hf["quarantine_reasons"]] == ["downloads"]
    assert sources["wzrd"]["last_run"]["vintage"] == "C"
    assert sources["openrouter"]["last_run"]["vintage"] == "paged"
    assert sources["openrouter_rankings"]["last_run"]["records_ignored"] == 1  # the "other" row
    assert sources["litellm_prices"]["last_run"]["records_stored"] == 2


def test_replay_from_the_command_line(tmp_path):
    with Upstream() as up:
        up.set_day(0)
        config = write_config(tmp_path, up.url)
        assert traction("ingest", "--source", "openrouter", config=config).returncode == 0
    status = json.loads(traction("status", "--json", config=config).stdout)
    run_id = status["sources"]["openrouter"]["last_run"]["run_id"]
    result = traction("ingest", "--replay", run_id, config=config)
    assert result.returncode == 0 and "openrouter: ok" in result.stdout
    missing = traction("ingest", "--replay", "no-such-run", config=config)
    assert missing.returncode == 1 and "no ingest run" in missing.stderr


SECRETS = {
    "HF_TOKEN": "hf_S3CR3T_hf_token_value",
    "OPENROUTER_API_KEY": "sk-or-v1-S3CR3T_openrouter_key",
    "GITHUB_TOKEN": "ghp_S3CR3T_github_token_value",
}


def everything_stored(con) -> str:
    """Every value of every column of every table, archived bodies decompressed, as text
    (DuckDB compresses its pages, so grepping the file itself would prove nothing)."""
    parts = []
    tables = store.rows(con, "SELECT table_name FROM information_schema.tables")
    for (table,) in tables:
        for row in store.rows(con, f"SELECT * FROM {table}"):
            for value in row:
                if isinstance(value, bytes):
                    value = gzip.decompress(value).decode("utf-8", "replace")
                parts.append(str(value))
    return "\n".join(parts)


def test_tokens_never_reach_logs_archive_database_or_errors(tmp_path, monkeypatch, caplog):
    """Each token is sent upstream, and found nowhere traction writes."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    config = loopback_config(
        tmp_path,
        "http://up.test",
        openrouter_endpoints={"models": ["qwen/qwen3.5-9b"]},
        github={"enabled": True, "repositories": ["QwenLM/Qwen3.5"]},
    )
    seen: dict[str, str] = {}
    with respx.mock:
        for url, payload in [
            ("http://up.test/api/v1/models", bundled("openrouter", 0)),
            (
                "http://up.test/api/v1/models/qwen/qwen3.5-9b/endpoints",
                {"data": {"id": "x", "endpoints": "broken"}},
            ),  # fails: error text is checked
            ("http://up.test/api/v1/datasets/rankings-daily", RANKINGS),
            ("http://up.test/repos/QwenLM/Qwen3.5", {"full_name": "QwenLM/Qwen3.5"}),
        ]:
            respx.get(url__startswith=url).respond(200, json=payload)
        respx.get(url__startswith="http://up.test/api/models").respond(
            401, json={"error": "Invalid credentials in Authorization header"}
        )
        with store.connect(config.storage.database) as con:
            outcomes = ingest(con, config, now=NOW)
        for call in respx.calls:
            seen[call.request.url.host + call.request.url.path] = call.request.headers.get(
                "authorization", ""
            )
    assert seen["up.test/api/v1/models"] == f"Bearer {SECRETS['OPENROUTER_API_KEY']}"
    assert seen["up.test/repos/QwenLM/Qwen3.5"] == f"Bearer {SECRETS['GITHUB_TOKEN']}"
    assert seen["up.test/api/models"] == f"Bearer {SECRETS['HF_TOKEN']}"
    errors = " ".join(o.error or "" for o in outcomes)
    assert "401" in errors  # the failure is reported...
    with store.connect(config.storage.database, read_only=True) as con:
        stored = everything_stored(con)
    assert "QwenLM/Qwen3.5" in stored and "claude-sonnet" in stored  # the scan sees the data
    for value in SECRETS.values():  # ...but no secret, anywhere
        assert value not in errors
        assert value not in caplog.text
        assert value not in stored


def test_tokens_never_reach_the_cli_output(tmp_path):
    config = write_config(tmp_path, "http://127.0.0.1:9")
    env = {name: value for name, value in SECRETS.items()}
    result = subprocess.run(
        [sys.executable, "-m", "traction.cli", "--log-level", "DEBUG", "run", "--once"],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **{k: v for k, v in __import__("os").environ.items() if not k.startswith("TRACTION")},
            **env,
            "TRACTION_CONFIG": str(config),
        },
    )
    assert result.returncode == 1 and "unreachable" in result.stderr
    for value in SECRETS.values():
        assert value not in result.stdout + result.stderr
