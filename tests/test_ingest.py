"""Ingestion into a real DuckDB file: idempotence, isolation of failures, retries."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import respx

import store
from ingest.runner import ingest
from traction.demo.upstream import Upstream, bundled

from helpers import loopback_config

NOW = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


def facts(con) -> list[tuple]:
    return (
        con.execute(
            "SELECT source, model_id, metric, value, observed_at FROM observations ORDER BY ALL"
        ).fetchall()
        + con.execute(
            "SELECT source, model_id, provider, prompt_usd_per_mtok, observed_at FROM prices"
            " ORDER BY ALL"
        ).fetchall()
    )


def test_migrations_are_numbered_and_recorded(tmp_path):
    with store.connect(tmp_path / "a.duckdb") as con:
        versions = con.execute("SELECT version, name FROM schema_version").fetchall()
        tables = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
    assert versions[0] == (1, "001_initial.sql")
    assert {"runs", "observations", "prices", "quarantine", "scores", "snapshots"} <= tables
    with store.connect(tmp_path / "a.duckdb") as con:  # reopening applies nothing twice
        assert con.execute("SELECT count(*) FROM schema_version").fetchone()[0] == len(versions)


def test_ingest_lands_facts_from_loopback_upstream(tmp_path):
    with Upstream() as up:
        up.set_day(0)
        config = loopback_config(tmp_path, up.url)
        with store.connect(config.storage.database) as con:
            outcomes = ingest(con, config, now=NOW)
            assert {o.source: o.status for o in outcomes} == {
                "openrouter": "ok",
                "huggingface": "ok",
                "openrouter_endpoints": "skipped",  # nothing configured, no ranking yet
                "openrouter_rankings": "skipped",  # no OPENROUTER_API_KEY
            }
            hf = con.execute(
                "SELECT DISTINCT model_id FROM observations WHERE source = 'huggingface'"
            ).fetchall()
    # authors Qwen and meta-llama (5 each) plus the overall top 5, deduplicated
    assert ("Qwen/Qwen3.5-9B",) in hf and ("meta-llama/Llama-3.3-70B-Instruct",) in hf
    # Link pagination was followed: page size 5 but the top-5 listing spans one page,
    # and author listings are each one page; every request went to loopback.
    assert all(path.startswith("/api/") for path in up.requests)


def test_reingesting_an_identical_payload_adds_no_facts(tmp_path):
    with Upstream() as up:
        up.set_day(1)
        config = loopback_config(tmp_path, up.url)
        with store.connect(config.storage.database) as con:
            ingest(con, config, now=NOW)
            before = facts(con)
            second = ingest(con, config, now=NOW + timedelta(minutes=5))
            assert {o.status for o in second if o.status != "skipped"} == {"unchanged"}
            assert facts(con) == before
            # even at the same timestamp via a changed-hash path, the primary key holds
            up.payloads["huggingface"] = bundled("huggingface", 1) + []
            con.execute("UPDATE runs SET payload_hash = NULL")
            ingest(con, config, now=NOW)
            assert facts(con) == before


def test_failing_source_changes_nothing_and_does_not_block_the_others(tmp_path):
    with Upstream() as up:
        up.set_day(0)
        config = loopback_config(tmp_path, up.url)
        with store.connect(config.storage.database) as con:
            ingest(con, config, now=NOW)
            before_hf = con.execute(
                "SELECT * FROM observations WHERE source = 'huggingface' ORDER BY ALL"
            ).fetchall()
            up.set_day(7)  # OpenRouter's prices changed on the last bundled day
            up.payloads["huggingface"] = {"error": "this is not a list"}
            outcomes = {o.source: o for o in ingest(con, config, now=NOW + timedelta(days=1))}
            assert outcomes["huggingface"].status == "failed"
            assert "JSON array" in outcomes["huggingface"].error
            assert outcomes["openrouter"].status == "ok"
            after_hf = con.execute(
                "SELECT * FROM observations WHERE source = 'huggingface' ORDER BY ALL"
            ).fetchall()
            assert after_hf == before_hf
            runs = con.execute(
                "SELECT source, status, error FROM runs WHERE kind = 'ingest' ORDER BY started_at"
            ).fetchall()
    assert ("huggingface", "failed", outcomes["huggingface"].error) in runs


def test_quarantined_records_are_stored_with_reason_and_raw_record(tmp_path):
    with Upstream() as up:
        up.set_day(6)
        config = loopback_config(tmp_path, up.url, huggingface={"authors": ["example-org"]})
        with store.connect(config.storage.database) as con:
            ingest(con, config, only=["huggingface"], now=NOW)
            rows = con.execute("SELECT model_id, reason, raw FROM quarantine").fetchall()
            run = con.execute(
                "SELECT records_quarantined FROM runs WHERE source = 'huggingface'"
            ).fetchone()
    assert len(rows) == 1
    model_id, reason, raw = rows[0]
    assert model_id == "example-org/drifted-model"
    assert "downloads" in reason and '"n/a"' in raw
    assert run == (1,)


def test_unreachable_source_is_reported_not_raised(tmp_path):
    config = loopback_config(tmp_path)  # port 9: connection refused
    with store.connect(config.storage.database) as con:
        outcomes = ingest(con, config, only=["openrouter", "huggingface"], now=NOW)
    assert {o.status for o in outcomes} == {"unreachable"}
    assert all("cannot connect" in o.error for o in outcomes)


def test_html_error_page_with_status_200_fails_the_run(tmp_path):
    config = loopback_config(tmp_path, "http://mirror.test", huggingface={"enabled": False})
    with respx.mock:
        respx.get("http://mirror.test/api/v1/models").respond(
            200,
            text="<html><body>Service temporarily unavailable</body></html>",
            headers={"content-type": "text/html"},
        )
        with store.connect(config.storage.database) as con:
            (outcome,) = ingest(con, config, only=["openrouter"], now=NOW)
            assert outcome.status == "failed"
            assert "not JSON" in outcome.error and "text/html" in outcome.error
            assert con.execute("SELECT count(*) FROM prices").fetchone()[0] == 0


def test_tokens_are_sent_but_never_stored(tmp_path, monkeypatch):
    secret = "hf_SECRETTOKEN123"
    monkeypatch.setenv("HF_TOKEN", secret)
    config = loopback_config(tmp_path, "http://mirror.test", openrouter={"enabled": False})
    page = copy.deepcopy(bundled("huggingface", 0))
    page[0]["downloads"] = "drift"  # something lands in quarantine too
    with respx.mock:
        route = respx.get("http://mirror.test/api/models").respond(200, json=page)
        with store.connect(config.storage.database) as con:
            ingest(con, config, now=NOW)
    assert route.calls[0].request.headers["authorization"] == f"Bearer {secret}"
    assert secret.encode() not in (tmp_path / "t.duckdb").read_bytes()


def _crash_on_set_stored(tmp_path, monkeypatch, error: BaseException):
    with Upstream() as up:
        up.set_day(0)
        config = loopback_config(tmp_path, up.url)
        with store.connect(config.storage.database) as con:
            ingest(con, config, only=["huggingface"], now=NOW)
            tables = ("runs", "observations", "raw_pages", "quarantine")
            before = {t: store.rows(con, f"SELECT * FROM {t} ORDER BY ALL") for t in tables}

            def crash(*args, **kwargs):
                raise error

            monkeypatch.setattr(store, "set_stored", crash)
            up.set_day(1)
            try:
                outcomes = ingest(con, config, only=["huggingface"], now=NOW + timedelta(days=1))
            except BaseException as exc:
                assert exc is error
                outcomes = None
            after = {t: store.rows(con, f"SELECT * FROM {t} ORDER BY ALL") for t in before}
    return outcomes, before, after


def test_crash_mid_run_leaves_the_database_as_before(tmp_path, monkeypatch):
    # The process is stopped after the facts were written, before the commit.
    outcomes, before, after = _crash_on_set_stored(tmp_path, monkeypatch, KeyboardInterrupt())
    assert outcomes is None
    assert after == before


def test_error_mid_landing_rolls_back_and_records_a_failed_run(tmp_path, monkeypatch):
    error = RuntimeError("broke after the facts were written")
    (outcome,), before, after = _crash_on_set_stored(tmp_path, monkeypatch, error)
    assert outcome.status == "failed" and "broke after the facts" in outcome.error
    assert outcome.stored == 0
    for table in ("observations", "quarantine"):
        assert after[table] == before[table]  # none of the run's facts landed
    new_runs = set(after["runs"]) - set(before["runs"])
    assert len(new_runs) == 1 and {"failed"} <= set(next(iter(new_runs)))


def test_mostly_quarantined_payload_marks_the_run_degraded(tmp_path):
    with Upstream() as up:
        up.set_day(0)
        page = bundled("huggingface", 0)
        for model in page[:3]:
            model["likes"] = "many"
        up.payloads["huggingface"] = page
        config = loopback_config(tmp_path, up.url, huggingface={"authors": [], "top_n": 20})
        with store.connect(config.storage.database) as con:
            (outcome,) = ingest(con, config, only=["huggingface"], now=NOW)
            status = store.scalar(con, "SELECT status FROM runs WHERE run_id = ?", [outcome.run_id])
    assert outcome.status == status == "degraded"
    assert "quarantined (threshold 20%)" in outcome.error
    assert outcome.stored > 0  # the good records still landed
