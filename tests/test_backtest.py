"""The default score against what happened next: the backtest's measures on series with
known answers, and the traction formula's promises (breakouts rank at once, flat models
never lead, a repeated capture moves nothing), through a real DuckDB file."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest

import store
from ingest.runner import ingest_files
from scoring import evaluation as ev
from scoring.snapshot import score_at
from traction.backtest import end_of
from traction.cli import main

START = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
DAYS = 16
BREAKOUT = "newlab/rocket-7b"  # created on day 5, listed from day 6, 60k downloads day 7
FLAT = "steady/flat-13b"


def world(seed: int = 7) -> list[list[dict]]:
    """Daily Hugging Face list payloads: 40 established models whose downloads and likes
    grow at their own steady pace (so the future is predictable from the past), one flat
    model, and one new model that breaks out."""
    rng = random.Random(seed)
    models = []
    for i in range(40):
        models.append(
            {
                "id": f"org{i % 4}/model-{i:02d}",
                "downloads": rng.uniform(20_000, 900_000),
                "likes": rng.uniform(200, 9_000),
                "growth": rng.uniform(-0.03, 0.06),
                "created": "2024-05-01T00:00:00.000Z",
            }
        )
    days = []
    for day in range(DAYS):
        payload = []
        for m in models:
            scale = (1 + m["growth"]) ** day
            payload.append(
                {
                    "id": m["id"],
                    "downloads": int(m["downloads"] * scale),
                    "likes": int(m["likes"] * (1 + m["growth"] / 3) ** day),
                    "createdAt": m["created"],
                }
            )
        payload.append(
            {"id": FLAT, "downloads": 150_000, "likes": 2_000, "createdAt": "2023-01-01T00:00:00Z"}
        )
        if day >= 6:
            downloads = 5 if day == 6 else 60_000 * 1.4 ** (day - 7)
            # No createdAt: its age is unknown, so only its growth can make it rank.
            payload.append(
                {"id": BREAKOUT, "downloads": int(downloads), "likes": 40 + 60 * (day - 6)}
            )
        days.append(payload)
    return days


def ingest_days(config, tmp_path: Path, payloads: list[list[dict]]) -> None:
    with store.connect(config.storage.database) as con:
        for day, payload in enumerate(payloads):
            path = tmp_path / f"day{day:02d}.json"
            path.write_text(json.dumps(payload))
            outcome = ingest_files(con, config, "huggingface", [path], START + timedelta(days=day))
            assert outcome.status == "ok", outcome


@pytest.fixture
def history(config, tmp_path: Path):
    ingest_days(config, tmp_path, world())
    return config


def ranking(config, day: int) -> list[str]:
    with store.connect(config.storage.database, read_only=True) as con:
        models = score_at(con, config, end_of((START + timedelta(days=day)).date()))
    return [m["key"] for m in models]


def test_a_planted_breakout_enters_the_top_on_its_first_day(history):
    before = ranking(history, 6)  # listed, 5 downloads, one day of history: no growth yet
    on_the_day = ranking(history, 7)  # 5 -> 60,000 downloads
    assert BREAKOUT in before and before.index(BREAKOUT) >= 10
    assert on_the_day.index(BREAKOUT) < 5


def test_a_model_created_this_week_ranks_from_its_first_listing(config, tmp_path):
    payloads = world()
    for payload in payloads[6:]:  # the same breakout, but Hugging Face says when it was made
        for record in payload:
            if record["id"] == BREAKOUT:
                record["createdAt"] = (START + timedelta(days=5)).isoformat()
    ingest_days(config, tmp_path, payloads[:7])
    assert ranking(config, 6).index(BREAKOUT) < 10


def test_a_flat_model_never_enters_the_top(history):
    for day in range(DAYS):
        assert FLAT not in ranking(history, day)[:10], day


def test_an_identical_repeated_capture_does_not_move_a_score(config, tmp_path):
    payloads = world()[:8]
    payloads.append(payloads[-1])  # day 8: the source did not refresh
    ingest_days(config, tmp_path, payloads)
    with store.connect(config.storage.database, read_only=True) as con:
        before = score_at(con, config, end_of((START + timedelta(days=7)).date()))
        after = score_at(con, config, end_of((START + timedelta(days=8)).date()))
    assert [(m["key"], m["score"]) for m in after] == [(m["key"], m["score"]) for m in before]
    # ... while the next refreshed capture, in which one model jumps, moves it.
    changed = [dict(record) for record in world()[9]]
    slowest = min(before, key=lambda m: m["score"])["key"]
    for record in changed:
        if record["id"].lower() == slowest:
            record["downloads"] *= 3
    ingest_days(config, tmp_path, [*payloads[:8], payloads[7], changed])
    with store.connect(config.storage.database, read_only=True) as con:
        moved = score_at(con, config, end_of((START + timedelta(days=9)).date()))
    score = {m["key"]: m["score"] for m in moved}
    assert score[slowest] > max(m["score"] for m in before if m["key"] == slowest)


def test_the_wzrd_formula_stays_selectable(history):
    history.scoring.formula = "wzrd"
    with store.connect(history.storage.database, read_only=True) as con:
        models = score_at(con, history, end_of((START + timedelta(days=10)).date()))
    flat = next(m for m in models if m["key"] == FLAT)
    downloads = next(c for c in flat["components"] if c["metric"] == "downloads")
    # WZRD's thresholds: 0 % a day is `stable`, 0 trend points, momentum 0.5.
    assert (downloads["trend"], downloads["trend_points"], downloads["momentum"]) == (
        "stable",
        0.0,
        0.5,
    )
    assert downloads["score"] == pytest.approx(0.5 * 0.3)


# The measures themselves ---------------------------------------------------------------


def daily_frame(series: dict[str, list[float]], metric: str = "hf.downloads") -> pl.DataFrame:
    first = date(2026, 1, 1)
    return pl.DataFrame(
        [
            (key, metric, first + timedelta(days=i), float(v))
            for key, values in series.items()
            for i, v in enumerate(values)
        ],
        schema={"key": pl.String, "metric": pl.String, "day": pl.Date, "value": pl.Float64},
        orient="row",
    )


def test_a_perfect_ranking_scores_one_and_its_reverse_minus_one():
    daily = daily_frame({f"m{i}": [100.0, 100.0 * (1 + i / 10)] for i in range(30)})
    outcome = ev.with_composite(ev.realized(daily, date(2026, 1, 1), 1))
    truth = outcome.filter(pl.col("metric") == ev.COMPOSITE).select("key", score="growth")
    perfect = ev.day_measures(truth, outcome, top_n=5)
    reverse = ev.day_measures(truth.with_columns(score=-pl.col("score")), outcome, top_n=5)
    assert perfect["spearman.composite"] == pytest.approx(1.0)
    assert perfect["precision.composite"] == 1.0
    assert reverse["spearman.composite"] == pytest.approx(-1.0)
    assert reverse["precision.composite"] == 0.0


def test_a_ranking_identical_to_a_baseline_gets_its_figures():
    rng = random.Random(3)
    daily = daily_frame(
        {f"m{i}": [1000 * (1 + rng.uniform(-0.1, 0.2)) ** d for d in range(12)] for i in range(25)}
    )
    as_of = date(2026, 1, 8)
    outcome = ev.with_composite(ev.realized(daily, as_of, 3))
    found = ev.baselines(daily, as_of, ["hf.downloads"], 7, seed=1)
    baseline = found["trailing 7d hf.downloads"]
    copy = baseline.sample(fraction=1.0, shuffle=True, seed=5)  # same scores, other order
    assert ev.day_measures(copy, outcome, 10) == ev.day_measures(baseline, outcome, 10)
    # A ranking that leaves models out is judged on the same models, at its median:
    # abstaining on the hard ones earns nothing.
    partial = baseline.head(5)
    assert ev.day_measures(partial, outcome, 10) != ev.day_measures(baseline, outcome, 10)


def test_turnover_and_breakout_latency():
    assert ev.turnover(None, ["a", "b"]) is None
    assert ev.turnover(["a", "b", "c"], ["a", "d", "e"]) == 2.0
    daily = daily_frame({"old": [20_000.0] * 5, "new": [3, 4, 12_000, 30_000, 50_000]})
    (found,) = ev.breakouts(daily, "hf.downloads", 10_000, date(2026, 1, 1), date(2026, 1, 5))
    assert (found.key, found.day) == ("new", date(2026, 1, 3))
    tops = {date(2026, 1, d): (["new"] if d >= 4 else ["old"]) for d in range(1, 6)}
    assert ev.latency(found, tops) == 1
    assert ev.latency(found, {date(2026, 1, 3): ["old"]}) is None


# The command --------------------------------------------------------------------------


def write_config(tmp_path: Path, config) -> Path:
    path = tmp_path / "traction.toml"
    path.write_text(
        f'[storage]\ndatabase = "{config.storage.database}"\n'
        f'snapshot = "{config.storage.snapshot}"\nanalytics = ""\n'
    )
    return path


def test_backtest_command_table_json_and_chart(history, tmp_path, capsys):
    cfg = write_config(tmp_path, history)
    chart = tmp_path / "backtest.svg"
    assert main(["--config", str(cfg), "backtest", "--horizon", "3", "--plot", str(chart)]) == 0
    table = capsys.readouterr().out
    for name in ("traction", "traction (wzrd formula)", "trailing 7d, all metrics", "random"):
        assert f"\n  {name} " in table
    assert "1 breakouts: newlab/rocket-7b 2026-03-08" in table
    svg = ET.parse(chart).getroot()
    assert len(svg.findall(".//{http://www.w3.org/2000/svg}polyline")) >= 2 * 6

    png = tmp_path / "backtest.png"
    assert main(["--config", str(cfg), "backtest", "--horizon", "3", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()

    assert main(["--config", str(cfg), "backtest", "--horizon", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    block = result["horizons"]["3"]
    traction = block["rankings"]["traction"]
    # Steady growers: the past predicts the future, and traction reads it.
    assert traction["all"]["spearman.composite"] > 0.8
    assert (
        traction["all"]["spearman.composite"]
        > block["rankings"]["random"]["all"]["spearman.composite"] + 0.5
    )
    assert traction["first half"]["days"] + traction["second half"]["days"] == len(block["days"])
    (event,) = result["breakouts"]["events"]
    assert event["key"] == BREAKOUT and event["latency_days"]["traction"] == 0
    assert result["turnover"]["traction"]["mean"] <= 2


def test_backtest_group_hit_rate_from_a_litellm_model_list(history, tmp_path, capsys):
    cfg = write_config(tmp_path, history)
    models = tmp_path / "config.yaml"
    models.write_text(
        "model_list:\n"
        "  - model_name: chat\n"
        "    litellm_params: {model: together_ai/org0/model-00}\n"
        "  - model_name: chat\n"
        "    litellm_params: {model: together_ai/org1/model-01}\n"
        "  - model_name: chat\n"
        "    litellm_params: {model: openai/gpt-4o}\n"  # matches nothing: left out
    )
    args = ["--config", str(cfg), "backtest", "--horizon", "3", "--json"]
    assert main([*args, "--model-list", str(models)]) == 0
    hits = json.loads(capsys.readouterr().out)["horizons"]["3"]["group_hit_rate"]
    assert set(hits) >= {"traction", "deployment order", "random"}
    assert hits["traction"]["all"] == 1.0  # steady growers: the faster one keeps gaining most


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--horizon", "0"], "--horizon 0"),
        (["--horizon", "99999999999"], "--horizon 99999999999"),
        (["--breakout-threshold", "1e400"], "--breakout-threshold inf"),
        (["--since", "yesterday"], "--since 'yesterday'"),
        (["--plot", "chart.pdf"], "--plot chart.pdf"),
        (["--model-list", "missing.yaml"], "--model-list missing.yaml"),
        (["--model-list", "unclosed.yaml"], "--model-list unclosed.yaml"),
    ],
)
def test_backtest_bad_arguments_are_one_line_and_exit_2(
    history, tmp_path, capsys, monkeypatch, args, message
):
    cfg = write_config(tmp_path, history)
    (tmp_path / "unclosed.yaml").write_text("model_list: [1, 2\n")
    monkeypatch.chdir(tmp_path)
    assert main(["--config", str(cfg), "backtest", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_backtest_without_history_says_so(config, tmp_path, capsys):
    cfg = write_config(tmp_path, config)
    assert main(["--config", str(cfg), "backtest"]) == 1
    assert "no database" in capsys.readouterr().err
    with store.connect(config.storage.database):
        pass
    assert main(["--config", str(cfg), "backtest"]) == 1
    assert "no observations" in capsys.readouterr().err


@pytest.mark.parametrize("created", ["not a date", "0001-01-01T00:00:00Z", "9999-12-31T23:59Z"])
def test_a_bad_created_at_costs_the_age_term_not_the_record(config, tmp_path, created):
    payload = [{"id": "org/odd-date", "downloads": 10, "likes": 1, "createdAt": created}]
    ingest_days(config, tmp_path, [payload])
    with store.connect(config.storage.database, read_only=True) as con:
        assert store.rows(con, "SELECT count(*) FROM observations")[0][0] == 2
        assert store.rows(con, "SELECT count(created_at) FROM catalog")[0][0] == 0


def test_a_database_an_older_traction_wrote_is_migrated_by_a_reader(config, tmp_path, capsys):
    """`score` and `backtest` open read-only; a database from before the catalog's
    created_at and the listings (migrations 004-005) is migrated first, history kept."""
    import duckdb

    database = config.storage.database
    database.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(database))
    con.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL)"
    )
    for number, name, sql in store.migration_files()[:3]:
        con.execute(sql)
        con.execute("INSERT INTO schema_version VALUES (?, ?, now())", [number, name])
    for day, value in enumerate([100.0, 180.0, 320.0]):
        con.execute(
            "INSERT INTO observations VALUES ('huggingface', 'org/old-model', 'downloads', ?, ?,"
            " 'r')",
            [value, (START + timedelta(days=day)).replace(tzinfo=None)],
        )
    con.close()
    cfg = write_config(tmp_path, config)
    at = (START + timedelta(days=2, hours=1)).isoformat()
    assert main(["--config", str(cfg), "score", "--as-of", at, "--json"]) == 0
    (model,) = json.loads(capsys.readouterr().out)["models"]
    assert model["key"] == "org/old-model"
    with store.connect(database, read_only=True) as con:
        assert store.scalar(con, "SELECT max(version) FROM schema_version") == max(
            number for number, _, _ in store.migration_files()
        )
        assert store.scalar(con, "SELECT count(*) FROM observations") == 3
