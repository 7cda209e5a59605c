"""The scoring formula, in one place.

It starts from litellm-wzrd-momentum 0.1.0's so that a feed-era ranking can be
reproduced exactly (its golden values 3.43925 / 0.14025 / -2.069 are pinned in the
tests):

    signal score = cw * (trend_points + momentum * 0.3 + clamp(delta_pct / 100, -2, 2) * 0.25)

`cw` is the confidence weight (insufficient 0, low 0.5, normal 1). traction computes
trend, momentum and delta itself from stored history. Then, per model:

    decay            = 0.5 ** (age / half_life), or 0 past the source's max age
    momentum score   = agreement x sum(weight x decay x signal score) / sum(weight)
    confidence       = agreement x sum(weight x decay x cw) / sum(weight)
    agreement        = 0.5 + 0.5 x |sum of source directions| / sources with a direction
                       (1 with fewer than two such sources)
    blended price    = (ratio x prompt + completion) / (ratio + 1), USD per million tokens
    cost points      = 3 / (1 + blended / reference)         (free = 3, reference = 1.5)
    score            = momentum score                         (policy `momentum`)
                     | cost points                            (policy `cost`)
                     | w_m x momentum score + w_c x cost points (policy `balanced`)
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

# Spike guard: a day-over-day delta more than SPIKE_Z robust deviations (1.4826 x MAD,
# at least SPIKE_FLOOR_PCT points) from the median of the series' earlier deltas, with
# at least SPIKE_MIN_HISTORY of them, counts as that median until confirmed.
SPIKE_Z = 5.0
SPIKE_FLOOR_PCT = 5.0
SPIKE_MIN_HISTORY = 4

CONFIDENCE_WEIGHT = {"insufficient": 0.0, "low": 0.5, "normal": 1.0}
LOW_CONFIDENCE_DAYS = 3  # fewer distinct days than this: insufficient
NORMAL_CONFIDENCE_DAYS = 7  # at least this many: normal


# Scalar forms of the per-signal formula. Scoring runs the polars expressions below; these
# are the reference they are checked against (benchmarks/scoring_bench.py's plain-Python
# twin, the golden-value tests) and what a test uses to state an expected signal.


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


def is_spike(delta: float | None, earlier: list[float]) -> bool:
    if delta is None or len(earlier) < SPIKE_MIN_HISTORY:
        return False
    ordered = sorted(earlier)
    median = _median(ordered)
    mad = _median(sorted(abs(d - median) for d in ordered))
    return abs(delta - median) > SPIKE_Z * max(1.4826 * mad, SPIKE_FLOOR_PCT)


def _median(ordered: list[float]) -> float:
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


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


def spike_expr(delta: pl.Expr, median: pl.Expr, mad: pl.Expr, count: pl.Expr) -> pl.Expr:
    scale = pl.max_horizontal(mad * 1.4826, pl.lit(SPIKE_FLOOR_PCT))
    return (
        (count >= SPIKE_MIN_HISTORY)
        & delta.is_not_null()
        & ((delta - median).abs() > SPIKE_Z * scale)
    ).fill_null(False)


def spike_possible_expr(delta: pl.Expr, median: pl.Expr, count: pl.Expr) -> pl.Expr:
    """Whether `spike_expr` could hold whatever the MAD: its scale is never below
    SPIKE_FLOOR_PCT, so a delta within SPIKE_Z x SPIKE_FLOOR_PCT of the median is never a
    spike. Lets scoring compute the (costly) MAD only where it can decide anything."""
    return (
        (count >= SPIKE_MIN_HISTORY)
        & delta.is_not_null()
        & ((delta - median).abs() > SPIKE_Z * SPIKE_FLOOR_PCT)
    ).fill_null(False)


def score_expr(trend_points: pl.Expr, momentum: pl.Expr, delta: pl.Expr, cw: pl.Expr) -> pl.Expr:
    clamped = (delta.fill_nan(None).fill_null(0.0) / 100.0).clip(-DELTA_CLAMP, DELTA_CLAMP)
    return cw * (trend_points + momentum.clip(0.0, 1.0) * MOMENTUM_WEIGHT + clamped * DELTA_WEIGHT)


# Model-level terms -------------------------------------------------------------------

COST_POINTS = 3.0  # the cost scale matches the largest trend's points


def decay(age_seconds: float, half_life: float, max_age: float) -> float:
    """How much a signal of this age still counts: halves every `half_life`, 0 past max."""
    if age_seconds > max_age:
        return 0.0
    return 0.5 ** (max(0.0, age_seconds) / half_life)


def direction(trend: str) -> int:
    points = TREND_POINTS.get(trend, 0.0)
    return (points > 0) - (points < 0)


def agreement(directions: dict[str, float]) -> float:
    """Per source weighted direction (-1..1) -> a factor in 0.5..1."""
    signs = [(d > 0) - (d < 0) for d in directions.values() if d]
    if len(signs) < 2:
        return 1.0
    return 0.5 + 0.5 * abs(sum(signs)) / len(signs)


def confidence_label(weight: float) -> str:
    return "normal" if weight >= 0.75 else "low" if weight >= 0.25 else "insufficient"


def blended(prompt: float, completion: float, ratio: float) -> float:
    return (ratio * prompt + completion) / (ratio + 1.0)


def cost_points(blended_usd_per_mtok: float | None, reference: float) -> float:
    if blended_usd_per_mtok is None:
        return 0.0
    return COST_POINTS / (1.0 + blended_usd_per_mtok / reference)


def policy_score(policy: str, momentum: float, cost: float, w_momentum: float, w_cost: float):
    if policy == "cost":
        return cost
    if policy == "balanced":
        return w_momentum * momentum + w_cost * cost
    return momentum
