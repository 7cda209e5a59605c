"""The scoring formula, in one place.

It starts from litellm-wzrd-momentum 0.1.0's so that a feed-era ranking can be
reproduced exactly (its golden values 3.43925 / 0.14025 / -2.069 are pinned in the
tests):

    signal score = cw * (trend_points + momentum * 0.3 + clamp(delta_pct / 100, -2, 2) * 0.25)

`cw` is the confidence weight (insufficient 0, low 0.5, normal 1). traction computes
trend, momentum and delta itself from stored history; a model's score is the
weighted mean of its signal scores (weights from `scoring.metric_weights`).
"""

from __future__ import annotations

import math

import polars as pl

TREND_POINTS: dict[str, float] = {
    "surging": 3.0,
    "accelerating": 2.0,
    "stable": 0.0,
    "insufficient_history": 0.0,
    "decelerating": -1.0,
    "cooling": -2.0,
}

# (label, lower bound on day-over-day delta %), checked in order; WZRD's published cut-offs.
TREND_THRESHOLDS: list[tuple[str, float]] = [
    ("surging", 30.0),
    ("accelerating", 8.0),
    ("stable", -15.0),
    ("decelerating", -50.0),
]

MOMENTUM_WEIGHT = 0.3
DELTA_WEIGHT = 0.25
DELTA_CLAMP = 2.0

# Momentum squashes the mean daily delta % over the last MOMENTUM_WINDOW intervals
# into 0..1 with a logistic of scale MOMENTUM_SCALE: flat = 0.5, +10 %/day = 0.73.
MOMENTUM_WINDOW = 7
MOMENTUM_SCALE = 10.0

CONFIDENCE_WEIGHT = {"insufficient": 0.0, "low": 0.5, "normal": 1.0}
LOW_CONFIDENCE_DAYS = 3  # fewer distinct days than this: insufficient
NORMAL_CONFIDENCE_DAYS = 7  # at least this many: normal


def trend_of(delta_pct: float | None) -> str:
    if delta_pct is None or math.isnan(delta_pct):
        return "insufficient_history"
    for label, floor in TREND_THRESHOLDS:
        if delta_pct > floor:
            return label
    return "cooling"


def confidence_of(history_days: int) -> str:
    if history_days < LOW_CONFIDENCE_DAYS:
        return "insufficient"
    if history_days < NORMAL_CONFIDENCE_DAYS:
        return "low"
    return "normal"


def momentum_of(mean_delta_pct: float | None) -> float:
    if mean_delta_pct is None or math.isnan(mean_delta_pct):
        return 0.5
    return 1.0 / (1.0 + math.exp(-mean_delta_pct / MOMENTUM_SCALE))


def signal_score(trend_points: float, momentum: float, delta_pct: float | None, cw: float) -> float:
    delta = 0.0 if delta_pct is None else max(-DELTA_CLAMP, min(DELTA_CLAMP, delta_pct / 100.0))
    momentum = max(0.0, min(1.0, momentum))
    return cw * (trend_points + momentum * MOMENTUM_WEIGHT + delta * DELTA_WEIGHT)


# The same formula as polars expressions, for scoring whole frames at once.


def trend_expr(delta: pl.Expr) -> pl.Expr:
    expr = pl.when(delta.is_null() | delta.is_nan()).then(pl.lit("insufficient_history"))
    for label, floor in TREND_THRESHOLDS:
        expr = expr.when(delta > floor).then(pl.lit(label))
    return expr.otherwise(pl.lit("cooling"))


def confidence_expr(days: pl.Expr) -> pl.Expr:
    return (
        pl.when(days < LOW_CONFIDENCE_DAYS)
        .then(pl.lit("insufficient"))
        .when(days < NORMAL_CONFIDENCE_DAYS)
        .then(pl.lit("low"))
        .otherwise(pl.lit("normal"))
    )


def momentum_expr(mean_delta: pl.Expr) -> pl.Expr:
    return (
        pl.when(mean_delta.is_null() | mean_delta.is_nan())
        .then(0.5)
        .otherwise(1.0 / (1.0 + (-mean_delta / MOMENTUM_SCALE).exp()))
    )


def score_expr(trend_points: pl.Expr, momentum: pl.Expr, delta: pl.Expr, cw: pl.Expr) -> pl.Expr:
    clamped = (delta.fill_nan(None).fill_null(0.0) / 100.0).clip(-DELTA_CLAMP, DELTA_CLAMP)
    return cw * (trend_points + momentum.clip(0.0, 1.0) * MOMENTUM_WEIGHT + clamped * DELTA_WEIGHT)
