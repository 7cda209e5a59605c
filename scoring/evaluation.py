"""How good a ranking was: each day's scores against what happened over the next days.

A ranking routes traffic, so it is judged the way a router uses it, as of each day, on
facts known by then, against the adoption that followed:

* realized growth of a model's metric over `horizon` days is
  `log1p(value at as_of + horizon) - log1p(value at as_of)`: a log, so a model going from
  10k to 20k counts as much as one going from 1M to 2M;
* the composite outcome is the mean percentile rank of a model's realized growth over
  the metrics it has (so downloads, likes, stars and tokens all count the same);
* Spearman is the rank correlation of a day's scores with that day's outcome, among the
  models the ranking scored and the outcome knows; precision@N the share of the ranking's
  top N that are among the outcome's top N;
* turnover is how many of the top `turnover_n` models are new from one day to the next
  (traffic that moves for nothing costs warm caches and trust);
* breakout latency is how many days after a new model first reaches `threshold` on its
  breakout metric (having been seen below it) the ranking puts it in its top N.

Baselines are computed from the same daily values (`baselines`), so any scorer can be
set beside the obvious one-liners. Everything here is pure polars on small frames; the
backtest command (`traction/backtest.py`) gathers the inputs from a database.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

COMPOSITE = "composite"


@dataclass(frozen=True)
class Breakout:
    """A model first seen below `threshold` on a metric that later reached it."""

    key: str
    day: date  # the first day at or above the threshold
    value: float


def realized(daily: pl.DataFrame, as_of: date, horizon: int) -> pl.DataFrame:
    """(key, metric, growth) over the `horizon` days after `as_of`.

    A series needs a value observed on `as_of` and one observed after it, by the target
    day; the later one is the last observed by then. A model that left the list is left
    out (its future is unknown, not zero)."""
    target = as_of + timedelta(days=horizon)
    start = daily.filter(pl.col("day") == as_of).select("key", "metric", start="value")
    end = (
        daily.filter((pl.col("day") > as_of) & (pl.col("day") <= target))
        .sort("day")
        .group_by("key", "metric")
        .agg(end=pl.col("value").last(), end_day=pl.col("day").last())
        .filter(pl.col("end_day") == target)
    )
    return (
        start.join(end, on=["key", "metric"], how="inner")
        .with_columns(growth=pl.col("end").log1p() - pl.col("start").clip(0).log1p())
        .select("key", "metric", "growth")
    )


def with_composite(growth: pl.DataFrame) -> pl.DataFrame:
    """Add each key's composite outcome: the mean over its metrics of the percentile rank
    of its growth among all keys with that metric (0 = least growth, 1 = most)."""
    if growth.is_empty():
        return growth
    ranked = growth.with_columns(
        pct=(pl.col("growth").rank("average").over("metric") - 1)
        / (pl.len().over("metric") - 1).clip(1)
    )
    composite = (
        ranked.group_by("key")
        .agg(growth=pl.col("pct").mean())
        .with_columns(metric=pl.lit(COMPOSITE))
    )
    return pl.concat([growth, composite.select("key", "metric", "growth")])


def spearman(scores: pl.Series, outcome: pl.Series) -> float | None:
    """Rank correlation (ties get average ranks); None below 3 pairs or when the outcome
    has no spread. A ranking without spread (it knows nothing yet) scores 0 rather than
    being skipped, so a ranking cannot look better by abstaining on hard days."""
    if len(scores) < 3:
        return None
    a = scores.rank("average")
    b = outcome.rank("average")
    if b.std() == 0:
        return None
    if a.std() == 0:
        return 0.0
    return float(pl.DataFrame({"a": a, "b": b}).select(pl.corr("a", "b")).item())


def top(scores: pl.DataFrame, n: int, column: str = "score") -> list[str]:
    """The n best keys, ties broken by key (as snapshots rank)."""
    return scores.sort([column, "key"], descending=[True, False]).head(n)["key"].to_list()


def day_measures(scores: pl.DataFrame, outcome: pl.DataFrame, top_n: int) -> dict[str, float]:
    """One ranking's measures for one day, per metric and for the composite.

    `scores`: (key, score) for every model the ranking scored; `outcome`: (key, metric,
    growth) with the composite included. Every ranking is judged on the same models, the
    outcome's: one the ranking left out counts as its median (neutral, as the adapter
    treats a deployment the snapshot does not know), so leaving out the hard cases (new
    models) earns nothing."""
    found: dict[str, float] = {}
    neutral = scores["score"].median() if scores.height else 0.0
    for metric in outcome["metric"].unique().sort().to_list():
        joined = (
            outcome.filter(pl.col("metric") == metric)
            .join(scores, on="key", how="left")
            .with_columns(pl.col("score").fill_null(neutral))
        )
        rho = spearman(joined["score"], joined["growth"])
        if rho is not None:
            found[f"spearman.{metric}"] = rho
        n = min(top_n, joined.height)
        if n:
            best = set(top(joined, n, "score"))
            gained = set(top(joined, n, "growth"))
            found[f"precision.{metric}"] = len(best & gained) / n
    return found


def turnover(previous: list[str] | None, current: list[str]) -> float | None:
    """How many of today's top are new since yesterday's top (None on the first day)."""
    if previous is None:
        return None
    return float(len(set(current) - set(previous)))


def breakouts(
    daily: pl.DataFrame, metric: str, threshold: float, first: date, last: date
) -> list[Breakout]:
    """New models crossing `threshold` on `metric` between `first` and `last`.

    A breakout is the first day a model's value is at or above the threshold, when the
    model was seen below it before: a model that was already large when the history
    starts is not new."""
    series = daily.filter(pl.col("metric") == metric).sort("key", "day")
    found = []
    for (key,), rows in series.group_by("key", maintain_order=True):
        values = rows["value"].to_list()
        days = rows["day"].to_list()
        if not values or values[0] >= threshold:
            continue
        for day, value in zip(days, values, strict=True):
            if value >= threshold:
                if first <= day <= last:
                    found.append(Breakout(key=str(key), day=day, value=value))
                break
    return found


def latency(breakout: Breakout, tops: dict[date, list[str]]) -> int | None:
    """Days from the breakout to the first ranking (that day or later) with the model in
    its top; None if it never got there within the evaluated days."""
    for day in sorted(d for d in tops if d >= breakout.day):
        if breakout.key in tops[day]:
            return (day - breakout.day).days
    return None


# Baselines --------------------------------------------------------------------------


def trailing_growth(daily: pl.DataFrame, as_of: date, lookback: int) -> pl.DataFrame:
    """(key, metric, growth): log growth per day over the last `lookback` days before and
    including `as_of` (from the earliest value in that window, for a shorter history)."""
    window = daily.filter(
        (pl.col("day") <= as_of) & (pl.col("day") >= as_of - timedelta(days=lookback))
    ).sort("day")
    return (
        window.group_by("key", "metric")
        .agg(
            first=pl.col("value").first(),
            last=pl.col("value").last(),
            span=(pl.col("day").last() - pl.col("day").first()).dt.total_days(),
            last_day=pl.col("day").last(),
        )
        .filter((pl.col("last_day") == as_of) & (pl.col("span") > 0))
        .select(
            "key",
            "metric",
            growth=(pl.col("last").log1p() - pl.col("first").clip(0).log1p()) / pl.col("span"),
        )
    )


def mean_rank(growth: pl.DataFrame) -> pl.DataFrame:
    """(key, score): the mean percentile rank of each key's growth over its metrics."""
    composite = with_composite(growth)
    if composite.is_empty():
        return pl.DataFrame(schema={"key": pl.String, "score": pl.Float64})
    return composite.filter(pl.col("metric") == COMPOSITE).select("key", score=pl.col("growth"))


def baselines(
    daily: pl.DataFrame, as_of: date, metrics: list[str], lookback: int, seed: int
) -> dict[str, pl.DataFrame]:
    """The one-line rankings a scorer must beat, as of `as_of`, each (key, score):
    trailing log growth of each metric alone and of all of them (mean percentile rank),
    the last day's log change (mean percentile rank), and a random order."""
    known = daily.filter(pl.col("day") <= as_of)
    trailing = trailing_growth(known, as_of, lookback)
    found: dict[str, pl.DataFrame] = {}
    for metric in metrics:  # (empty until a series has two days: it knows nothing yet)
        one = trailing.filter(pl.col("metric") == metric)
        found[f"trailing {lookback}d {metric}"] = one.select("key", score=pl.col("growth"))
    if len(metrics) > 1:
        found[f"trailing {lookback}d, all metrics"] = mean_rank(
            trailing.filter(pl.col("metric").is_in(metrics))
        )
    last_day = trailing_growth(known, as_of, 1)
    found["last-day change"] = mean_rank(last_day.filter(pl.col("metric").is_in(metrics)))
    keys = known.filter(pl.col("day") == as_of)["key"].unique().sort().to_list()
    rng = random.Random(f"{seed}:{as_of.isoformat()}")
    found["random"] = pl.DataFrame(
        {"key": keys, "score": [rng.random() for _ in keys]},
        schema={"key": pl.String, "score": pl.Float64},
    )
    return found


# Summaries --------------------------------------------------------------------------


def mean(values: list[float]) -> float | None:
    finite = [v for v in values if v is not None and not math.isnan(v)]
    return sum(finite) / len(finite) if finite else None
