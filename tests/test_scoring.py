"""The scoring formula, pinned with golden values, over real DuckDB history."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import store
from ingest.runner import ingest_files
from scoring import formula
from scoring.identity import build_identity
from scoring.signals import compute_signals
from scoring.snapshot import build_snapshot

from payloads import WZRD_A

NOW = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
WEIGHTS = {"huggingface.downloads": 1.0, "wzrd.momentum": 1.0}
FEED_TIME = datetime(2026, 3, 26, 12, tzinfo=timezone.utc)  # WZRD_A["generated_at"]


def history(series: dict[tuple[str, str], list[float]], start=NOW - timedelta(days=30)):
    rows = [
        ("huggingface", model, metric, value, start + timedelta(days=day))
        for (model, metric), values in series.items()
        for day, value in enumerate(values)
    ]
    return pl.DataFrame(
        rows, schema=["source", "model_id", "metric", "value", "observed_at"], orient="row"
    )


def test_seed_golden_values_through_store_and_snapshot(tmp_path, config):
    """litellm-wzrd-momentum 0.1.0's fixture scores 3.43925 / 0.14025 / -2.069 here too."""
    config.sources.wzrd.enabled = True
    config.scoring.metric_weights = {"wzrd.momentum": 1.0}
    with store.connect(tmp_path / "g.duckdb") as con:
        dump = tmp_path / "wzrd-vintage-a.json"
        dump.write_text(json.dumps(WZRD_A))
        assert ingest_files(con, config, "wzrd", [dump]).status == "ok"
        snapshot = build_snapshot(con, config, now=FEED_TIME)  # age 0: no decay
    scores = {m.key: m.score for m in snapshot.models}
    assert scores == {
        "qwen/qwen3.5-9b": pytest.approx(3.43925, abs=1e-9),
        "meta-llama/llama-3.3-70b-instruct": pytest.approx(0.14025, abs=1e-9),
        "mistralai/mistral-7b-instruct-v0.3": pytest.approx(-2.069, abs=1e-9),
    }
    assert [m.key for m in snapshot.models] == list(scores)  # ranked by score
    top = snapshot.models[0].components[0]
    assert (top.trend, top.momentum, top.delta_pct, top.confidence) == (
        "surging",
        0.92,
        65.3,
        "normal",
    )


def test_derived_signal_golden_values():
    """10 days of +20 %/day downloads: every term computed by hand."""
    values = [1000 * 1.2**d for d in range(10)]
    sig = compute_signals(history({("a/rising", "downloads"): values}), WEIGHTS).row(0, named=True)
    assert sig["history_days"] == 10
    assert sig["velocity"] == pytest.approx(values[-1] - values[-2])
    assert sig["delta_pct"] == pytest.approx(20.0)
    assert sig["trend"] == "accelerating"  # > 8 %, not > 30 %
    assert sig["momentum"] == pytest.approx(1 / (1 + math.exp(-2.0)))  # mean delta 20 / scale 10
    assert sig["confidence"] == "normal"
    expected = 1.0 * (2.0 + sig["momentum"] * 0.3 + 0.20 * 0.25)
    assert sig["score"] == pytest.approx(expected)
    assert sig["score"] == pytest.approx(2.3142384, abs=1e-6)


@pytest.mark.parametrize(
    ("delta", "trend"),
    [
        (31, "surging"),
        (30, "accelerating"),
        (9, "accelerating"),
        (8, "stable"),
        (0, "stable"),
        (-14, "stable"),
        (-15, "decelerating"),
        (-49, "decelerating"),
        (-50, "cooling"),
        (None, "insufficient_history"),
    ],
)
def test_trend_thresholds(delta, trend):
    assert formula.trend_of(delta) == trend
    expr = pl.DataFrame({"d": [delta]}, schema={"d": pl.Float64}).select(
        formula.trend_expr(pl.col("d"))
    )
    assert expr.item() == trend  # the polars and the scalar formula agree


@pytest.mark.parametrize(
    ("days", "label", "weight"),
    [
        (1, "insufficient", 0.0),
        (2, "insufficient", 0.0),
        (3, "low", 0.5),
        (6, "low", 0.5),
        (7, "normal", 1.0),
    ],
)
def test_confidence_grows_with_history(days, label, weight):
    sig = compute_signals(
        history({("a/b", "downloads"): [100.0 + d for d in range(days)]}), WEIGHTS
    )
    row = sig.row(0, named=True)
    assert (row["confidence"], row["confidence_weight"]) == (label, weight)
    if weight == 0.0:
        assert row["score"] == 0.0  # insufficient history never moves a ranking


def test_falling_rolling_downloads_read_as_cooling_not_an_error():
    sig = compute_signals(history({("a/b", "downloads"): [1000, 900, 800, 300]}), WEIGHTS)
    row = sig.row(0, named=True)
    assert row["trend"] == "cooling" and row["score"] < 0


def test_missing_days_are_spread_over_the_gap():
    start = NOW - timedelta(days=10)
    frame = pl.DataFrame(
        [
            ("huggingface", "a/b", "downloads", 100.0, start),
            ("huggingface", "a/b", "downloads", 110.0, start + timedelta(days=1)),
            ("huggingface", "a/b", "downloads", 130.0, start + timedelta(days=3)),
        ],
        schema=["source", "model_id", "metric", "value", "observed_at"],
        orient="row",
    )
    row = compute_signals(frame, WEIGHTS).row(0, named=True)
    assert row["velocity"] == pytest.approx(10.0)  # 20 over 2 days
    assert row["delta_pct"] == pytest.approx(10.0 / 110.0 * 100)


def test_last_value_of_a_day_wins_and_unweighted_metrics_are_left_out():
    start = NOW - timedelta(days=3)
    frame = pl.DataFrame(
        [
            ("huggingface", "a/b", "downloads", 100.0, start),
            ("huggingface", "a/b", "downloads", 50.0, start + timedelta(days=1)),
            ("huggingface", "a/b", "downloads", 200.0, start + timedelta(days=1, hours=5)),
            ("huggingface", "a/b", "likes", 5.0, start),
        ],
        schema=["source", "model_id", "metric", "value", "observed_at"],
        orient="row",
    )
    sig = compute_signals(frame, WEIGHTS)
    assert sig["metric"].to_list() == ["downloads"]
    assert sig.row(0, named=True)["delta_pct"] == pytest.approx(100.0)


def test_identity_links_openrouter_to_hugging_face_and_folds_variants():
    catalog = [
        (
            "openrouter",
            "meta-llama/llama-3.3-70b-instruct",
            "meta-llama/llama-3.3-70b-instruct-20241206",
            "meta-llama/Llama-3.3-70B-Instruct",
        ),
        (
            "openrouter",
            "meta-llama/llama-3.3-70b-instruct:free",
            "meta-llama/llama-3.3-70b-instruct-20241206",
            "meta-llama/Llama-3.3-70B-Instruct",
        ),
        ("openrouter", "anthropic/claude-sonnet-4.5", "anthropic/claude-sonnet-4.5", None),
    ]
    observed = [("huggingface", "meta-llama/Llama-3.3-70B-Instruct"), ("huggingface", "x/y")]
    ident = build_identity(catalog, observed)
    key = "meta-llama/llama-3.3-70b-instruct"
    assert ident.key("openrouter", "meta-llama/llama-3.3-70b-instruct:free") == key
    assert ident.key("huggingface", "meta-llama/Llama-3.3-70B-Instruct") == key
    assert "meta-llama/llama-3.3-70b-instruct:free" in ident.aliases[key]
    assert ident.key("openrouter", "anthropic/claude-sonnet-4.5") == "anthropic/claude-sonnet-4.5"


def test_identity_drops_an_alias_two_models_claim():
    catalog = [
        ("openrouter", "a/model", "shared/slug", "org/model-a"),
        ("openrouter", "b/model", "shared/slug", "org/model-b"),
    ]
    ident = build_identity(catalog, [])
    assert all("shared/slug" not in aliases for aliases in ident.aliases.values())


def _varied_history(seed: int = 7) -> pl.DataFrame:
    """Many series with growth, decline, spikes, gaps and several readings a day."""
    import random

    rng = random.Random(seed)
    rows = []
    for m in range(40):
        level = rng.uniform(100, 100_000)
        for day in range(rng.randint(1, 20)):
            if rng.random() < 0.15:
                continue  # a missing day
            level *= rng.uniform(0.7, 1.6) if rng.random() > 0.05 else 5.0  # rare spikes
            for reading in range(rng.randint(1, 3)):
                when = NOW - timedelta(days=20 - day, hours=reading * 3)
                for metric in ("downloads", "likes"):
                    rows.append(("huggingface", f"org/m{m}", metric, level + reading, when))
    return pl.DataFrame(
        rows, schema=["source", "model_id", "metric", "value", "observed_at"], orient="row"
    )


def test_scores_do_not_depend_on_the_order_rows_arrive_in():
    """A backfill lands old days after new ones: the scores must be the same."""
    weights = {"huggingface.downloads": 1.0, "huggingface.likes": 0.5}
    history_ = _varied_history()
    expected = compute_signals(history_, weights)
    for seed in (1, 2):
        shuffled = history_.sample(fraction=1.0, shuffle=True, seed=seed)
        assert_frame_equal(compute_signals(shuffled, weights), expected, rtol=1e-12)
    assert expected.height == 80 and expected["confidence"].n_unique() >= 2


def test_the_column_sort_fallback_scores_like_the_packed_sort(monkeypatch):
    """Histories too wide to pack into one integer key take the slower path, same scores."""
    import scoring.signals as signals

    weights = {"huggingface.downloads": 1.0, "huggingface.likes": 0.5}
    history_ = _varied_history(seed=11)
    packed = compute_signals(history_, weights)
    monkeypatch.setattr(signals, "_MAX_KEY", 1)
    assert_frame_equal(compute_signals(history_, weights), packed, rtol=1e-12)
