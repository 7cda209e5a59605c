"""Issue 12: one source's odd response or out-of-range record never sinks the cycle.

Every case here crashed, mislabelled or hid a failure before: a redirect loop, a bad
Content-Encoding or JSON nested out of stack raised out of the whole cycle; a price over
DECIMAL(38, 18) or a count over DOUBLE failed the source's insert; a rankings day
`2026-13-45` became exit 2; skipped-only runs said "every source failed"; a payload of
error objects was `degraded` and kept the source looking fresh; hostile model ids
became snapshot keys.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

import store
from ingest.http import Fetched
from ingest.runner import Fetch, ingest, land
from ingest.sources import build_sources
from schemas.limits import MODEL_ID_MAX_LENGTH, check_model_id
from traction.cli import EXIT_CONFIG, EXIT_PARTIAL, EXIT_PUBLISHED, main
from traction.config import load_config
from traction.demo.upstream import Upstream, bundled
from traction.pipeline import run_cycle

from helpers import FAULTS, Misbehaving, cycle_toml, loopback_config

NOW = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
HOSTILE_IDS = [
    "Qwen/evil\x00model",
    "Qwen/\x1b[31mred\x1b[0m",
    "Qwen/\u202egnp.exe",
    "Qwen/" + "x" * 200_000,
]


def land_payload(tmp_path: Path, source_name: str, payload, config=None):
    """Land one payload for `source_name` into a real DuckDB file, as a fetch would."""
    config = config or loopback_config(tmp_path)
    source = build_sources(config, only_enabled=False)[source_name]
    page = Fetched("http://up.test/", 200, {}, json.dumps(payload).encode(), NOW, payload)
    with store.connect(tmp_path / "land.duckdb") as con:
        outcome = land(con, config, source, Fetch([page]), NOW, force=True)
        facts = store.rows(
            con,
            "SELECT model_id FROM observations UNION ALL SELECT model_id FROM prices"
            " UNION ALL SELECT model_id FROM catalog",
        )
        quarantined = store.rows(con, "SELECT model_id, reason FROM quarantine")
        run = store.rows(con, "SELECT status, error FROM runs WHERE run_id = ?", [outcome.run_id])[
            0
        ]
    return outcome, {f[0] for f in facts}, quarantined, run


# Item 1: an odd response fails its source's run, and the others land and publish.


@pytest.mark.parametrize("fault", FAULTS)
def test_one_misbehaving_upstream_fails_only_its_source(tmp_path, fault):
    with Upstream() as up, Misbehaving(fault) as bad:
        up.set_day(0)
        config = load_config(cycle_toml(tmp_path, up.url))
        config.sources.huggingface.base_url = bad.url
        report = run_cycle(config, now=NOW)
        with store.connect(config.storage.database) as con:
            runs = dict(
                store.rows(
                    con, "SELECT source, status FROM runs WHERE kind = 'ingest' ORDER BY source"
                )
            )
            landed = dict(
                store.rows(con, "SELECT source, count(*) FROM observations GROUP BY source")
            )
            prices = store.scalar(con, "SELECT count(*) FROM prices")
            error = store.scalar(
                con, "SELECT error FROM runs WHERE source = 'huggingface' AND kind = 'ingest'"
            )
    assert bad.requests >= 1
    assert runs["huggingface"] == "failed" and error
    expected = {
        "redirect_loop": "TooManyRedirects",
        "bad_content_encoding": "DecodingError",
        "deep_nesting": "nested deeper",
    }[fault]
    assert expected in error
    assert runs["openrouter"] == "ok" and runs["github"] == "ok"
    assert prices > 0 and landed.get("github", 0) > 0
    assert report.published and report.snapshot is not None
    assert [o.source for o in report.failures] == ["huggingface"]


def test_a_source_whose_parse_raises_records_a_failed_run(tmp_path, monkeypatch):
    """The daemon's "cycle for X crashed" every interval, with failures_total at 0: an
    unexpected error is now the source's failed run, counted like any other failure."""
    with Upstream() as up:
        up.set_day(0)
        config = load_config(cycle_toml(tmp_path, up.url))
        from ingest.sources.github import GitHubSource

        def broken(self, payloads, observed_at):
            raise TypeError("a bug in the parser")

        monkeypatch.setattr(GitHubSource, "parse", broken)
        report = run_cycle(config, now=NOW)
        with store.connect(config.storage.database) as con:
            status = store.last_status(con, "github")
            failed = store.scalar(
                con, "SELECT count(*) FROM runs WHERE source = 'github' AND status = 'failed'"
            )
    assert status == "failed" and failed == 1
    assert report.published
    (github,) = [o for o in report.outcomes if o.source == "github"]
    assert github.failed and "TypeError: a bug in the parser" in github.error


def test_the_daemon_job_logs_a_source_failure_not_a_crashed_cycle(tmp_path, monkeypatch, caplog):
    from ingest.sources.openrouter import OpenRouterSource
    from traction.daemon import cycle_job

    def broken(self, payloads, observed_at):
        raise OverflowError("int too large to convert to float")

    monkeypatch.setattr(OpenRouterSource, "parse", broken)
    with Upstream() as up:
        up.set_day(0)
        config = load_config(cycle_toml(tmp_path, up.url))
        with caplog.at_level("INFO"):
            cycle_job(config, "openrouter")
            cycle_job(config, "openrouter")
        with store.connect(config.storage.database) as con:
            failed = store.scalar(
                con, "SELECT count(*) FROM runs WHERE source = 'openrouter' AND status = 'failed'"
            )
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "crashed" in m]
    assert any(m.startswith("openrouter failed: OverflowError") for m in messages)
    assert failed == 2  # what traction_run_failures_total counts


# Item 2: an out-of-range record is quarantined; the rest of its payload lands.


def test_out_of_range_openrouter_records_are_quarantined(tmp_path):
    payload = bundled("openrouter", 0)
    good = payload["data"][0]
    broken = []
    for n, change in enumerate(
        [
            {"pricing": {"prompt": "1e30", "completion": "0"}},  # over DECIMAL(38, 18)
            {"pricing": {"prompt": "1e1000000000", "completion": "0"}},  # decimal.Overflow
            {"context_length": 2**64},  # over BIGINT
        ]
    ):
        record = copy.deepcopy(good)
        record.update(change, id=f"evil/range-{n}", canonical_slug=f"evil/range-{n}")
        broken.append(record)
    payload["data"] = [*payload["data"], *broken]
    outcome, facts, quarantined, run = land_payload(tmp_path, "openrouter", payload)
    assert outcome.status in ("ok", "degraded") and run[0] == outcome.status
    assert outcome.quarantined == 3 and outcome.stored > 0
    assert good["id"] in facts and not {r["id"] for r in broken} & facts
    reasons = " | ".join(reason for _, reason in quarantined)
    assert reasons.count("DECIMAL(38, 18)") == 2 and "1E+1000000000" in reasons
    assert "BIGINT" in reasons


def test_hugging_face_count_beyond_double_is_quarantined(tmp_path):
    payload = [m for m in bundled("huggingface", 0) if m["id"].startswith("Qwen/")][:3]
    payload.append(dict(payload[0], id="Qwen/huge", downloads=10**309, likes=1))
    outcome, facts, quarantined, _ = land_payload(tmp_path, "huggingface", payload)
    assert outcome.status in ("ok", "degraded") and outcome.quarantined == 1
    assert "Qwen/huge" not in facts and payload[0]["id"] in facts
    assert quarantined[0][0] == "Qwen/huge" and "out of range" in quarantined[0][1]


def test_litellm_price_beyond_decimal_is_quarantined(tmp_path):
    config = loopback_config(tmp_path)
    payload = {
        "groq/ok": {"litellm_provider": "groq", "input_cost_per_token": Decimal("1e-7")},
        "groq/huge": {"litellm_provider": "groq", "input_cost_per_token": Decimal("1e30")},
        "groq/long": {"litellm_provider": "groq", "max_input_tokens": 2**70},
    }
    source = build_sources(config, only_enabled=False)["litellm_prices"]
    body = json.dumps(payload, default=str).encode()
    with store.connect(tmp_path / "l.duckdb") as con:
        outcome = land(
            con, config, source, Fetch([Fetched("file://x", 200, {}, body, NOW, payload)]), NOW
        )
    assert outcome.status in ("ok", "degraded") and outcome.quarantined == 2
    assert outcome.stored == 1


# Item 3: a bad date in one row is that row's problem, never a configuration error.


def test_impossible_rankings_date_is_quarantined_not_a_config_error(tmp_path, monkeypatch, capsys):
    rankings = {
        "data": [
            {"date": "2026-11-19", "model_permaslug": "qwen/qwen3.5-9b", "total_tokens": "9"},
            {"date": "2026-13-45", "model_permaslug": "qwen/qwen3.5-9b", "total_tokens": "9"},
        ]
    }
    with Upstream() as up:
        up.set_day(0)
        up.payloads["openrouter_rankings"] = rankings
        path = cycle_toml(tmp_path, up.url)
        monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-test")
        code = main(["--config", str(path), "run", "--once"])
    out = capsys.readouterr()
    assert code != EXIT_CONFIG
    assert code == EXIT_PUBLISHED, out.err
    assert "openrouter_rankings: ok" in out.out or "openrouter_rankings: degraded" in out.out
    with store.connect(tmp_path / "data" / "traction.duckdb") as con:
        (reason,) = store.rows(
            con, "SELECT reason FROM quarantine WHERE source = 'openrouter_rankings'"
        )[0]
    assert "2026-13-45 is not a calendar date" in reason


# Item 8: skipped is not failed.


def test_a_run_where_every_source_was_skipped_is_not_a_failure(tmp_path, monkeypatch, capsys):
    with Upstream() as up:
        up.set_day(0)
        path = cycle_toml(tmp_path, up.url)
        assert main(["--config", str(path), "run", "--once"]) == EXIT_PUBLISHED
        capsys.readouterr()
        # No OPENROUTER_API_KEY: rankings is skipped; endpoints has no models: skipped.
        only = ["--source", "openrouter_rankings", "--source", "openrouter_endpoints"]
        code = main(["--config", str(path), "run", "--once", *only])
    out = capsys.readouterr()
    assert "every source failed" not in out.err + out.out
    assert "openrouter_rankings: skipped" in out.out
    assert code == EXIT_PUBLISHED, out.err
    assert "stays current" in out.out


def test_skipped_only_cycle_has_no_refusal_for_the_daemon_to_warn_about(tmp_path):
    with Upstream() as up:
        up.set_day(0)
        config = load_config(cycle_toml(tmp_path, up.url))
        run_cycle(config, now=NOW)
        report = run_cycle(config, now=NOW + timedelta(minutes=5), only=["openrouter_rankings"])
    assert [o.status for o in report.outcomes] == ["skipped"]
    assert report.refused is None and not report.failures
    assert report.up_to_date


# Item 9: nothing usable from a non-empty payload is a failure, and does not look fresh.


def test_github_error_object_fails_the_run_and_keeps_last_success(tmp_path):
    config = loopback_config(tmp_path, github={"enabled": True, "repositories": ["QwenLM/Qwen3.5"]})
    with Upstream() as up:
        up.set_day(0)
        config = loopback_config(
            tmp_path, up.url, github={"enabled": True, "repositories": ["QwenLM/Qwen3.5"]}
        )
        with store.connect(config.storage.database) as con:
            (first,) = ingest(con, config, only=["github"], now=NOW)
            assert first.status == "ok"
            up.payloads["github"] = {
                "QwenLM/Qwen3.5": {
                    "message": "API rate limit exceeded",
                    "documentation_url": "https://docs.github.com/rest",
                }
            }
            (second,) = ingest(con, config, only=["github"], now=NOW + timedelta(hours=1))
            last_ok = store.last_success(con, "github")
            quarantined = store.scalar(
                con, "SELECT count(*) FROM quarantine WHERE run_id = ?", [second.run_id]
            )
    assert second.status == "failed" and second.failed
    assert "no record passed its contract" in second.error
    assert last_ok == NOW.replace(tzinfo=None)  # the failed run did not refresh it
    assert quarantined == 1  # and why it failed is kept


def test_partial_cycle_with_a_dead_source_exits_partial(tmp_path, monkeypatch, capsys):
    with Upstream() as up:
        up.set_day(0)
        up.payloads["github"] = {
            repo: {"message": "Not Found"} for repo in ("QwenLM/Qwen3.5", "meta-llama/llama-models")
        }
        code = main(["--config", str(cycle_toml(tmp_path, up.url)), "run", "--once"])
    out = capsys.readouterr()
    assert code == EXIT_PARTIAL, out.err
    assert "github: failed: no record passed its contract" in out.err


# Item 12: ids are checked, duplicates counted.


@pytest.mark.parametrize("bad_id", HOSTILE_IDS, ids=["nul", "esc", "rtl", "200k"])
def test_hostile_model_ids_are_quarantined_in_every_source(tmp_path, bad_id):
    payloads = {
        "huggingface": [{"id": bad_id, "downloads": 1, "likes": 1}],
        "openrouter": {
            "data": [
                {
                    "id": bad_id,
                    "name": "x",
                    "created": 1,
                    "pricing": {"prompt": "0", "completion": "0"},
                    "architecture": {},
                }
            ]
        },
        "wzrd": {"models": [{"model": bad_id, "trend": "stable", "score": 0.5}]},
        "openrouter_rankings": {
            "data": [{"date": "2026-11-19", "model_permaslug": bad_id, "total_tokens": 5}]
        },
        "github": {
            "full_name": bad_id.replace("Qwen/", "Qwen/r"),
            "stargazers_count": 1,
            "forks_count": 1,
        },
    }
    for name, payload in payloads.items():
        outcome, facts, quarantined, _ = land_payload(tmp_path / name, name, payload)
        assert outcome.status == "failed" and outcome.quarantined == 1, name
        assert facts == set(), name
        stored_id = quarantined[0][0]
        assert stored_id is None or len(stored_id) <= MODEL_ID_MAX_LENGTH
        assert stored_id is None or check_model_id(stored_id)  # printable, short


def test_hostile_ids_never_reach_the_snapshot_or_the_terminal(tmp_path, capsys):
    with Upstream() as up:
        up.set_day(0)
        models = [m for m in bundled("huggingface", 0) if m["id"].startswith("Qwen/")]
        up.payloads["huggingface"] = models + [
            dict(models[0], id=bad, downloads=10**9) for bad in HOSTILE_IDS
        ]
        path = cycle_toml(tmp_path, up.url)
        assert main(["--config", str(path), "run", "--once"]) == EXIT_PUBLISHED
        capsys.readouterr()
        assert main(["--config", str(path), "snapshot", "show"]) == 0
    shown = capsys.readouterr().out
    for char in ("\x00", "\x1b", "\u202e"):
        assert char not in shown
    snapshot = json.loads((tmp_path / "data" / "snapshot.json").read_text())
    for model in snapshot["models"]:
        check_model_id(model["key"])


def test_duplicate_github_and_wzrd_records_are_counted(tmp_path):
    repo = bundled("github", 0)["QwenLM/Qwen3.5"]
    config = loopback_config(
        tmp_path, github={"repositories": ["QwenLM/Qwen3.5", "qwenlm/qwen3.5"]}
    )
    source = build_sources(config, only_enabled=False)["github"]
    result = source.parse([repo, copy.deepcopy(repo)], NOW)
    assert (result.records_fetched, result.accepted, result.duplicates) == (2, 1, 1)
    record = {"model": "qwen/qwen3.5-9b", "trend": "stable", "score": 0.5}
    outcome, _, _, _ = land_payload(tmp_path, "wzrd", {"models": [record, dict(record)]})
    assert (outcome.fetched, outcome.duplicates, outcome.status) == (2, 1, "ok")
