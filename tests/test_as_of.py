"""As-of views of the history: `traction score --as-of`, `snapshot show --at` by the time
a snapshot describes, and catalog times from when records were observed.

Everything goes through the real command (`traction.cli.main`) against real DuckDB files
in a temp dir; the only direct calls are the ones a publish at a chosen time needs."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

import store
from schemas.config import TractionConfig
from scoring.snapshot import build_snapshot, publish
from traction.cli import EXIT_CONFIG, EXIT_NOT_PUBLISHED, main
from traction.config import load_config

# Bundled day 0 was observed then: in the past, so back-filled snapshots are published
# after the time they describe and "now" has seen every day.
T0 = (datetime.now(timezone.utc) - timedelta(days=10)).replace(
    hour=12, minute=0, second=0, microsecond=0
)
DAYS = 4

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(config: TractionConfig, monkeypatch: pytest.MonkeyPatch, capsys) -> Cli:
    """cli(*args) -> (exit code, stdout, stderr) of `traction ARGS`, on the `config`
    fixture's storage (set the way an operator would: TRACTION_STORAGE__* variables)."""
    monkeypatch.setenv("TRACTION_STORAGE__DATABASE", str(config.storage.database))
    monkeypatch.setenv("TRACTION_STORAGE__SNAPSHOT", str(config.storage.snapshot))
    monkeypatch.setenv("TRACTION_STORAGE__ANALYTICS", str(config.storage.analytics))

    def run(*args: str) -> tuple[int, str, str]:
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level
        try:  # main() points logging at this test's captured stderr; put it back afterwards
            code = main(["--log-level", "WARNING", *args])
        finally:
            root.handlers[:] = handlers
            root.setLevel(level)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def effective_config() -> TractionConfig:
    """The configuration the command runs with, so a direct publish scores the same way."""
    return load_config(environ=os.environ)


def bundled(source: str, day: int) -> str:
    return str(resources.files("traction.demo.data") / f"{source}-day{day}.json")


def ingest(cli: Cli, source: str, path: str, when: datetime | str) -> None:
    at = when if isinstance(when, str) else when.isoformat()
    code, out, err = cli("ingest", "--source", source, "--from-file", path, "--observed-at", at)
    assert code == 0, err
    assert f"{source}: ok" in out


@pytest.fixture
def history(cli: Cli) -> Cli:
    """Four bundled days of Hugging Face and OpenRouter dumps, back-filled one a day."""
    for day in range(DAYS):
        for source in ("huggingface", "openrouter"):
            ingest(cli, source, bundled(source, day), T0 + timedelta(days=day))
    return cli


def publish_at(config: TractionConfig, at: datetime) -> dict[str, Any]:
    """Publish through the real path with the clock set to `at`; the stored document."""
    with store.connect(config.storage.database) as con:
        snapshot = build_snapshot(con, config, now=at)
        publish(con, config, snapshot, store.new_run_id())
        body = store.scalar(con, "SELECT body FROM snapshots WHERE version = ?", [snapshot.version])
    return json.loads(body)


def ranking(models: list[dict[str, Any]]) -> list[tuple[str, int, float]]:
    return [(m["key"], m["rank"], m["score"]) for m in models]


# --- traction score --as-of ------------------------------------------------------------


def test_score_as_of_is_what_a_publish_at_that_time_stores(history: Cli):
    at = T0 + timedelta(days=DAYS - 1, hours=1)
    code, out, err = history("score", "--as-of", at.isoformat(), "--json")
    assert code == 0, err
    scored = json.loads(out)
    published = publish_at(effective_config(), at)
    assert datetime.fromisoformat(scored["as_of"]) == at
    assert ranking(scored["models"]) == ranking(published["models"])
    assert len(scored["models"]) > 1
    assert scored["models"] == published["models"]  # every component, every price

    code, out, err = history("score", "--as-of", at.isoformat(), "--top", "3")
    assert code == 0, err
    first = published["models"][0]
    assert f"  {1:>3} {first['key']:<48} {first['score']:>8.3f}" in out
    assert "... " in out and "more (--top N, or --json)" in out


def test_score_as_of_an_earlier_time_sees_only_the_facts_observed_by_then(history: Cli):
    early = T0 + timedelta(days=1, hours=1)  # naive: UTC
    code, out, err = history("score", "--as-of", early.replace(tzinfo=None).isoformat(), "--json")
    assert code == 0, err
    days = {c["history_days"] for m in json.loads(out)["models"] for c in m["components"]}
    assert days == {2}
    later = json.loads(history("score", "--json")[1])  # default: now, every day observed
    assert max(c["history_days"] for m in later["models"] for c in m["components"]) == DAYS


def test_score_as_of_writes_nothing(history: Cli, config: TractionConfig):
    folder = config.storage.database.parent

    def state() -> dict[str, str]:
        return {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir())
            if p.is_file()
        }

    before = state()
    assert not config.storage.snapshot.exists()
    for args in ([], ["--json"], ["--as-of", (T0 + timedelta(days=2)).isoformat()]):
        code, _, err = history("score", *args)
        assert code == 0, err
    assert state() == before  # the database byte for byte, and no new file beside it
    assert not config.storage.snapshot.exists()
    with store.connect(config.storage.database, read_only=True) as con:
        assert store.scalar(con, "SELECT count(*) FROM snapshots") == 0
        assert store.scalar(con, "SELECT count(*) FROM scores") == 0


@pytest.mark.parametrize(
    "args, option",
    [
        (["score", "--as-of", "yesterday"], "--as-of"),
        (["score", "--as-of", "2026-13-01"], "--as-of"),
        (["snapshot", "show", "--at", "yesterday"], "--at"),
        (["explain", "qwen/qwen3.5-9b", "--at", "last tuesday"], "--at"),
        (
            ["ingest", "--source", "openrouter", "--from-file", "x.json", "--observed-at", "1st"],
            "--observed-at",
        ),
    ],
)
def test_a_bad_time_is_one_line_naming_the_option_and_exit_2(history: Cli, args, option):
    code, out, err = history(*args)
    assert code == EXIT_CONFIG
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert option in err and repr(args[-1]) in err


def test_score_without_a_database_says_so_and_exits_1(cli: Cli, config: TractionConfig):
    code, out, err = cli("score", "--as-of", T0.isoformat())
    assert code == EXIT_NOT_PUBLISHED
    assert out == "" and err == f"traction: no database at {config.storage.database}\n"
    assert not config.storage.database.exists()  # not created by asking


# --- snapshot show --at: by the time a snapshot describes ------------------------------


def test_snapshot_show_at_picks_by_generated_at_when_back_filled(history: Cli):
    """Back-fill publishes today the snapshots of past days, newest day first: by publish
    time none of them existed at any of those days, and by version the wrong one wins."""
    config = effective_config()
    for day in reversed(range(DAYS)):  # versions 1..4 describe days 3, 2, 1, 0
        publish_at(config, T0 + timedelta(days=day, hours=1))

    at = T0 + timedelta(days=1, hours=2)
    code, out, err = history("snapshot", "show", "--at", at.isoformat(), "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["version"] == 3
    assert datetime.fromisoformat(shown["generated_at"]) == T0 + timedelta(days=1, hours=1)

    code, out, err = history("snapshot", "show", "--at", at.isoformat())
    assert code == 0, err
    assert out.startswith("snapshot v3 ")

    code, out, err = history("explain", "qwen/qwen3.5-9b", "--at", at.isoformat())
    assert code == 0, err
    assert "in snapshot v3 " in out

    exact = T0 + timedelta(days=2, hours=1)  # generated exactly then: that one
    assert (
        json.loads(history("snapshot", "show", "--at", exact.isoformat(), "--json")[1])["version"]
        == 2
    )

    code, out, err = history("snapshot", "show", "--at", T0.isoformat())  # before the first
    assert code == EXIT_NOT_PUBLISHED and "no snapshot" in err

    latest = json.loads(history("snapshot", "show", "--json")[1])  # no --at: newest published
    assert latest["version"] == DAYS


# --- catalog times from observed_at ----------------------------------------------------


def openrouter_payload(models: list[dict[str, Any]]) -> dict[str, Any]:
    """A minimal /api/v1/models page in OpenRouter's shape (the fields the contract needs)."""
    return {
        "data": [
            {
                "id": m["id"],
                "canonical_slug": m.get("slug", m["id"]),
                "hugging_face_id": m.get("hf", ""),
                "name": m["name"],
                "created": 1780300800,
                "context_length": m.get("context", 131072),
                "architecture": {"modality": "text->text", "input_modalities": ["text"]},
                "pricing": {"prompt": "0.0000001", "completion": "0.0000004"},
                **({"alias_target": {"slug": m["alias"]}} if "alias" in m else {}),
            }
            for m in models
        ]
    }


# Three dumps of the catalogue; times as --observed-at takes them (one with an offset).
DUMPS = {
    "2026-11-01T08:00:00Z": [
        {"id": "acme/alpha", "name": "Acme: Alpha (preview)", "context": 32768, "alias": "x/y"},
        {"id": "acme/retired", "name": "Acme: Retired", "alias": "acme/alpha"},
    ],
    "2026-11-03T14:00:00+02:00": [  # 12:00 UTC
        {"id": "acme/alpha", "name": "Acme: Alpha", "context": 65536, "hf": "acme/Alpha"},
    ],
    "2026-11-05T08:00:00": [  # no zone: UTC
        {
            "id": "acme/alpha",
            "name": "Acme: Alpha 1.1",
            "slug": "acme/alpha-20261105",
            "context": 131072,
            "hf": "acme/Alpha-1.1",
        },
        {"id": "acme/beta", "name": "Acme: Beta"},
    ],
}


def catalog_after(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, order: list[str]
) -> list[tuple]:
    """Load DUMPS in `order` into a fresh database `name`; its catalog, minus run_id."""
    monkeypatch.setenv("TRACTION_STORAGE__DATABASE", str(tmp_path / f"{name}.duckdb"))
    for when in order:
        path = tmp_path / f"{name}-{order.index(when)}.json"
        path.write_text(json.dumps(openrouter_payload(DUMPS[when])))
        ingest(cli, "openrouter", str(path), when)
    with store.connect(tmp_path / f"{name}.duckdb", read_only=True) as con:
        return store.rows(
            con,
            "SELECT model_id, canonical_slug, hugging_face_id, display_name, context_length,"
            " alias_target, first_seen_at, last_seen_at FROM catalog ORDER BY model_id",
        )


def test_catalog_seen_times_are_the_observed_times_in_any_ingest_order(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    first, middle, last = DUMPS
    in_order = catalog_after(cli, monkeypatch, tmp_path, "forward", [first, middle, last])
    newest_first = catalog_after(cli, monkeypatch, tmp_path, "backward", [last, middle, first])
    shuffled = catalog_after(cli, monkeypatch, tmp_path, "shuffled", [middle, last, first])
    assert in_order == newest_first == shuffled

    nov = lambda day, hour: datetime(2026, 11, day, hour)  # noqa: E731 (stored naive UTC)
    assert in_order == [
        # identity facts from the newest dump listing the model, times spanning all of them
        (
            "acme/alpha",
            "acme/alpha-20261105",
            "acme/Alpha-1.1",
            "Acme: Alpha 1.1",
            131072,
            None,
            nov(1, 8),
            nov(5, 8),
        ),
        ("acme/beta", "acme/beta", None, "Acme: Beta", 131072, None, nov(5, 8), nov(5, 8)),
        (
            "acme/retired",
            "acme/retired",
            None,
            "Acme: Retired",
            131072,
            "acme/alpha",
            nov(1, 8),
            nov(1, 8),
        ),
    ]


def test_a_negative_top_is_refused_naming_the_option(history: Cli, capsys):
    """`--top -2` would slice from the end of the ranking (and count "more" wrongly)."""
    for args in (["score"], ["snapshot", "show"]):
        with pytest.raises(SystemExit) as exit_:  # argparse's own exit, with usage
            history(*args, "--top", "-2")
        assert exit_.value.code == EXIT_CONFIG
        assert "argument --top: '-2' is not a whole number >= 0" in capsys.readouterr().err
