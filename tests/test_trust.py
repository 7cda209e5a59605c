"""Scores worth trusting: spike guard, age decay, agreement, prices and ranking policies."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import polars as pl
import pytest

from schemas.config import ScoringConfig
from scoring import formula
from scoring.identity import build_identity
from scoring.models import cheapest, score_models
from scoring.signals import compute_signals

NOW = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
WEIGHTS = {"huggingface.downloads": 1.0, "github.stars": 1.0}


def series(values, source="huggingface", metric="downloads", model="a/b", end=NOW):
    start = end - timedelta(days=len(values) - 1)
    return [
        (source, model, metric, float(v), (start + timedelta(days=i)).replace(tzinfo=None))
        for i, v in enumerate(values)
    ]


def signals(rows):
    frame = pl.DataFrame(
        rows, schema=["source", "model_id", "metric", "value", "observed_at"], orient="row"
    )
    return compute_signals(frame, WEIGHTS)


def test_one_day_jump_far_outside_history_is_damped():
    steady = [1000 * 1.02**d for d in range(9)]
    jump = steady + [steady[-1] * 1.9]  # +90 % in a day after +2 %/day
    row = signals(series(jump)).row(0, named=True)
    assert row["spike"] is True
    assert row["raw_delta_pct"] == pytest.approx(90.0)
    assert row["delta_pct"] == pytest.approx(2.0)  # counts as its usual pace...
    assert row["trend"] == "stable"  # ...so it does not jump to "surging" on one reading


def test_a_confirmed_jump_is_no_longer_damped():
    steady = [1000 * 1.02**d for d in range(9)]
    level = steady[-1] * 1.9
    confirmed = steady + [level, level * 1.02]  # the new level held the next day
    row = signals(series(confirmed)).row(0, named=True)
    assert row["spike"] is False
    assert row["momentum"] > signals(series(steady)).row(0, named=True)["momentum"]


def test_short_histories_are_never_called_spikes():
    row = signals(series([100, 101, 300])).row(0, named=True)
    assert row["spike"] is False and row["delta_pct"] == pytest.approx(197.0297, rel=1e-4)


def test_decay_halves_per_half_life_and_ends_at_max_age():
    assert formula.decay(0, 3600, 7200) == 1.0
    assert formula.decay(3600, 3600, 7200) == 0.5
    assert formula.decay(7201, 3600, 7200) == 0.0


def model_scores(rows, now=NOW, config=None, prices=()):
    sig = list(signals(rows).iter_rows(named=True))
    identity = build_identity([], [(r["source"], r["model_id"]) for r in sig])
    return {
        m["key"]: m
        for m in score_models(sig, list(prices), identity, config or ScoringConfig(), now)
    }


def test_old_signals_count_less_and_stale_ones_not_at_all():
    rising = [1000 * 1.2**d for d in range(10)]
    fresh = model_scores(series(rising))["a/b"]
    old = model_scores(series(rising, end=NOW - timedelta(days=3)))["a/b"]
    gone = model_scores(series(rising, end=NOW - timedelta(days=8)))["a/b"]
    assert old["momentum_score"] == pytest.approx(fresh["momentum_score"] / 2, rel=1e-6)
    assert old["confidence_weight"] == pytest.approx(0.5)
    assert gone["momentum_score"] == 0.0 and gone["confidence"] == "insufficient"


def test_sources_that_disagree_lower_confidence_and_score():
    up = [1000 * 1.2**d for d in range(10)]
    down = [1000 * 0.6**d for d in range(10)]
    agree = model_scores(series(up) + series(up, "github", "stars"))["a/b"]
    split = model_scores(series(up) + series(down, "github", "stars"))["a/b"]
    assert agree["agreement"] == 1.0 and split["agreement"] == 0.5
    assert split["confidence_weight"] == pytest.approx(0.5)


def quote(model_id, prompt, completion, source="openrouter_endpoints", provider="p"):
    return (
        source,
        model_id,
        provider,
        None if prompt is None else Decimal(prompt),
        None if completion is None else Decimal(completion),
    )


def test_cheapest_live_price_skips_free_batch_and_variable_offers():
    quotes = [
        {
            "source": "openrouter",
            "model_id": "a/b:free",
            "provider": "openrouter",
            "prompt": Decimal(0),
            "completion": Decimal(0),
        },
        {
            "source": "openrouter",
            "model_id": "a/b:batch",
            "provider": "openrouter",
            "prompt": Decimal("0.05"),
            "completion": Decimal("0.1"),
        },
        {
            "source": "openrouter",
            "model_id": "a/b",
            "provider": "openrouter",
            "prompt": None,
            "completion": None,
        },
        {
            "source": "openrouter_endpoints",
            "model_id": "a/b",
            "provider": "fast",
            "prompt": Decimal("0.25"),
            "completion": Decimal("0.25"),
        },
        {
            "source": "openrouter_endpoints",
            "model_id": "a/b",
            "provider": "cheap",
            "prompt": Decimal("0.1"),
            "completion": Decimal("0.5"),
        },
    ]
    best = cheapest(quotes, ratio=3.0)
    assert best["provider"] == "cheap"  # 3:1 blend: 0.20 beats 0.25
    assert formula.blended(0.1, 0.5, 3.0) == pytest.approx(0.2)
    assert cheapest(quotes, ratio=1.0)["provider"] == "fast"  # 1:1 blend: 0.25 beats 0.30


@pytest.mark.parametrize("policy", ["momentum", "cost", "balanced"])
def test_ranking_policies(policy):
    rows = series([1000 * 1.2**d for d in range(10)], model="hot/model") + series(
        [1000.0] * 10, model="cheap/model"
    )
    prices = [quote("hot/model", "3", "15"), quote("cheap/model", "0.05", "0.1")]
    config = ScoringConfig(policy=policy)
    scored = model_scores(rows, config=config, prices=prices)
    hot, cheap = scored["hot/model"], scored["cheap/model"]
    assert cheap["cost_points"] > hot["cost_points"]
    assert cheap["blended_usd_per_mtok"] == pytest.approx(0.0625)
    winner = max(scored.values(), key=lambda m: m["score"])["key"]
    # balanced 1:1: a flat model at $0.06/M beats a +20 %/day one at $6/M
    expected = {"momentum": "hot/model", "cost": "cheap/model", "balanced": "cheap/model"}
    assert winner == expected[policy]
    if policy == "balanced":
        assert hot["score"] == pytest.approx(hot["momentum_score"] + hot["cost_points"])
        config.balanced.momentum = 2.0  # an operator who values adoption twice as much
        rescored = model_scores(rows, config=config, prices=prices)
        assert max(rescored.values(), key=lambda m: m["score"])["key"] == "hot/model"
