"""Per (source, model, metric) signals from the stored history, computed in polars.

History is kept as change points, so a series is read day by day: the last value of
each day it was observed. Velocity is per day between the last two observed days;
delta % is that velocity relative to the earlier value. Hugging Face `downloads` is
a rolling 30-day count, so a fall is real information (a cooling model), not an error.
"""

from __future__ import annotations

import polars as pl

from . import formula

KEYS = ["source", "model_id", "metric"]

SIGNAL_SCHEMA = {
    "source": pl.String,
    "model_id": pl.String,
    "metric": pl.String,
    "value": pl.Float64,
    "velocity": pl.Float64,
    "delta_pct": pl.Float64,
    "trend": pl.String,
    "trend_points": pl.Float64,
    "momentum": pl.Float64,
    "confidence": pl.String,
    "confidence_weight": pl.Float64,
    "history_days": pl.Int64,
    "raw_delta_pct": pl.Float64,
    "spike": pl.Boolean,
    "last_observed_at": pl.Datetime("us"),
    "weight": pl.Float64,
    "score": pl.Float64,
}

# WZRD sends its own judgement; these are the metrics its source lands.
WZRD = "wzrd"
WZRD_TREND_LABELS = {
    3.0: "surging",
    2.0: "accelerating",
    0.0: "stable",
    -1.0: "decelerating",
    -2.0: "cooling",
}


def derived_signals(history: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Signals traction computes itself from raw counts (every source but WZRD)."""
    daily = (
        history.lazy()
        .filter(pl.col("source") != WZRD)
        .with_columns(day=pl.col("observed_at").dt.date())
        .sort("observed_at")
        .group_by([*KEYS, "day"])
        .agg(pl.col("value").last(), last_at=pl.col("observed_at").last())
        .sort([*KEYS, "day"])
    )
    prev = pl.col("value").shift(1).over(KEYS)
    gap = (pl.col("day") - pl.col("day").shift(1).over(KEYS)).dt.total_days()
    daily = daily.with_columns(
        velocity=(pl.col("value") - prev) / gap,
        prev_value=prev,
    ).with_columns(
        delta_pct=pl.when(pl.col("prev_value") > 0)
        .then(pl.col("velocity") / pl.col("prev_value") * 100.0)
        .when((pl.col("prev_value") == 0) & (pl.col("value") == 0))
        .then(0.0)
        .otherwise(None)
    )
    delta = pl.col("delta_pct")
    earlier = delta.head(pl.len() - 1).drop_nulls()  # every day-over-day delta but the last
    recent = earlier.tail(formula.MOMENTUM_WINDOW - 1)
    per_series = daily.group_by(KEYS).agg(
        value=pl.col("value").last(),
        velocity=pl.col("velocity").last(),
        raw_delta_pct=delta.last(),
        earlier_median=earlier.median(),
        earlier_mad=(earlier - earlier.median()).abs().median(),
        earlier_count=earlier.len().cast(pl.Int64),
        recent_sum=recent.sum(),
        recent_count=recent.len().cast(pl.Int64),
        history_days=pl.len().cast(pl.Int64),
        last_observed_at=pl.col("last_at").last(),
    )
    spike = formula.spike_expr(
        pl.col("raw_delta_pct"),
        pl.col("earlier_median"),
        pl.col("earlier_mad"),
        pl.col("earlier_count"),
    )
    per_series = (
        per_series.with_columns(spike=spike)
        .with_columns(
            # A jump far outside the series' own history counts as its usual pace until the
            # next observation confirms it (by then it is history, and momentum takes it in).
            delta_pct=pl.when(pl.col("spike"))
            .then(pl.col("earlier_median"))
            .otherwise(pl.col("raw_delta_pct")),
        )
        .with_columns(
            mean_delta=pl.when(pl.col("delta_pct").is_null())
            .then(None)
            .otherwise((pl.col("recent_sum") + pl.col("delta_pct")) / (pl.col("recent_count") + 1)),
        )
    )
    return per_series.with_columns(
        trend=formula.trend_expr(pl.col("delta_pct")),
        momentum=formula.momentum_expr(pl.col("mean_delta")),
        confidence=formula.confidence_expr(pl.col("history_days")),
    ).with_columns(
        trend_points=pl.col("trend").replace_strict(formula.TREND_POINTS, return_dtype=pl.Float64),
        confidence_weight=pl.col("confidence").replace_strict(
            formula.CONFIDENCE_WEIGHT, return_dtype=pl.Float64
        ),
    )


def wzrd_signals(history: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """The feed's own trend, momentum, delta and confidence, latest per model."""
    rows = history.lazy().filter(pl.col("source") == WZRD)
    days = rows.group_by("model_id").agg(
        history_days=pl.col("observed_at").dt.date().n_unique().cast(pl.Int64),
        last_observed_at=pl.col("observed_at").max(),
    )
    latest = (
        rows.sort("observed_at")
        .group_by(["model_id", "metric"])
        .agg(pl.col("value").last())
        .group_by("model_id")
        .agg(
            trend_points=pl.col("value").filter(pl.col("metric") == "trend_points").first(),
            momentum=pl.col("value").filter(pl.col("metric") == "momentum").first(),
            delta_pct=pl.col("value").filter(pl.col("metric") == "delta_pct").first(),
            confidence_weight=pl.col("value")
            .filter(pl.col("metric") == "confidence_weight")
            .first(),
        )
        .filter(pl.col("trend_points").is_not_null() & pl.col("momentum").is_not_null())
        .with_columns(pl.col("confidence_weight").fill_null(0.5))
    )
    return latest.join(days, on="model_id", how="left").with_columns(
        source=pl.lit(WZRD),
        metric=pl.lit("momentum"),
        value=pl.col("momentum"),
        velocity=pl.lit(None, dtype=pl.Float64),
        raw_delta_pct=pl.col("delta_pct"),
        spike=pl.lit(False),  # the feed judged its own history
        trend=pl.col("trend_points").replace_strict(
            WZRD_TREND_LABELS, default="stable", return_dtype=pl.String
        ),
        confidence=pl.when(pl.col("confidence_weight") >= 1.0)
        .then(pl.lit("normal"))
        .when(pl.col("confidence_weight") > 0.0)
        .then(pl.lit("low"))
        .otherwise(pl.lit("insufficient")),
    )


def compute_signals(history: pl.DataFrame, weights: dict[str, float]) -> pl.DataFrame:
    """Every weighted signal with every term of the formula, ready to aggregate per model."""
    if history.is_empty():
        return pl.DataFrame(schema=SIGNAL_SCHEMA)
    weight_table = pl.LazyFrame(
        {"weight_key": list(weights), "weight": [float(w) for w in weights.values()]},
        schema={"weight_key": pl.String, "weight": pl.Float64},
    )
    columns = [c for c in SIGNAL_SCHEMA if c not in ("weight", "score")]
    both = pl.concat(
        [derived_signals(history).select(columns), wzrd_signals(history).select(columns)],
        how="vertical_relaxed",
    )
    return (
        both.with_columns(weight_key=pl.col("source") + "." + pl.col("metric"))
        .join(weight_table, on="weight_key", how="inner")
        .filter(pl.col("weight") > 0)
        .with_columns(
            score=formula.score_expr(
                pl.col("trend_points"),
                pl.col("momentum"),
                pl.col("delta_pct"),
                pl.col("confidence_weight"),
            )
        )
        .select(list(SIGNAL_SCHEMA))
        .sort(KEYS)
        .collect()
    )
