"""The default score (`scoring.formula = "traction"`): expected growth, ranked among peers.

Chosen with `traction backtest` on real daily Hugging Face captures, against the
one-line baselines, on both halves of the days (README, "The score"). For each weighted
(source, metric) series, from its daily values (each day's last observation):

    rate_w     = (ln(1 + v_end) - ln(1 + v_start)) / (end - start) over the last w days
                 (start = the series' first day within the window; 0 with one day only)
    age term   = ln(min(age + H, R) / min(max(age, 1), R)) for a model `age` days old
                 (Hugging Face `createdAt`; 0 when unknown or older than R)
    expected   = H x mean over the windows of rate_w + age term
    percentile = rank of `expected` among the series the source listed on its latest day,
                 0 (least) .. 1 (most), ties averaged
    signal     = 4 x (percentile - 0.5)                 (-2 .. 2; 0 is the median model)

Why each part:
* logs, so a model going from 10k to 20k downloads counts as much as one going from 1M
  to 2M, and a 0 -> N jump (a brand-new model) is a large finite number, not a division
  by zero or "insufficient history";
* percentiles per metric, so downloads, likes, stars and token volumes, whose growth
  differs by orders of magnitude, all count (the WZRD formula's thresholds made likes a
  constant), and one day's outlier moves a model by a rank, not by a fixed point;
* short and long windows (`scoring.growth_windows`, per metric in
  `growth_windows_by_metric`): rolling counts (downloads) move with current demand,
  cumulative counts (likes, stars) change by a few units a day and need longer windows to
  tell growth from noise; averaging windows also keeps the top of the ranking stable;
* the age term: Hugging Face `downloads` is a rolling 30-day count, so a model younger
  than R = `scoring.young_model_days` keeps growing while its window fills, and young
  models gain likes fastest: a model released this week is a breakout from its first day;
* not refreshed is not flat: Hugging Face refreshes its counts about once a day at
  varying times, so a capture in which at least `scoring.unrefreshed_share` of a
  source's series repeat their previous value exactly is left out of growth (the next
  capture then carries two days of change over two days, not one). Such a capture still
  confirms the series, so its age (and decay) is measured from it: an identical repeated
  capture does not move a score;
* a model the source no longer lists has no signal from it (it is gone at that time).

Confidence (from days of history) is reported, not multiplied in: a new model with a
strong signal must rank at once, and a model with one day of history has no growth yet,
so it sits at the median (0), not below every flat model. Trend labels for people come
from the percentile: surging (top 10 %), accelerating (next 20 %), stable, decelerating
(bottom 30 % to 10 %), cooling (bottom 10 %).

In the snapshot's components: `velocity` is `expected / H` (log growth per day, the age
term included), `delta_pct` the last refreshed day-over-day change in %, `momentum` the
percentile and `score` the signal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from schemas.config import ScoringConfig
from store import naive_utc

from . import formula
from .signals import KEYS, SIGNAL_SCHEMA, WZRD, weighted_pairs, wzrd_signals

SIGNAL_SPAN = 4.0  # signal = SIGNAL_SPAN x (percentile - 0.5)
# Fewer series than this in a capture and "nearly all repeated" says nothing.
MIN_SERIES_FOR_REFRESH_CHECK = 5

# Percentile floors of the trend labels, checked in order.
TREND_PERCENTILES: list[tuple[str, float]] = [
    ("surging", 0.9),
    ("accelerating", 0.7),
    ("stable", 0.3),
    ("decelerating", 0.1),
]


def _trend_expr(percentile: pl.Expr) -> pl.Expr:
    expr = pl.when(percentile.is_null()).then(pl.lit("insufficient_history"))
    for label, floor in TREND_PERCENTILES:
        expr = expr.when(percentile >= floor).then(pl.lit(label))
    return expr.otherwise(pl.lit("cooling"))


def _age_term_expr(age: pl.Expr, horizon: float, window: float) -> pl.Expr:
    clamped = age.clip(lower_bound=1.0)
    term = (clamped + horizon).clip(upper_bound=window).log() - clamped.clip(
        upper_bound=window
    ).log()
    return pl.when(age.is_null() | (age >= window)).then(0.0).otherwise(term)


def _windows(config: ScoringConfig, source: str, metric: str) -> list[int]:
    return list(config.growth_windows_by_metric.get(f"{source}.{metric}", config.growth_windows))


def daily_frame(history: pl.DataFrame) -> pl.DataFrame:
    """`history` (source, model_id, metric, value, observed_at) as the store's daily values:
    (source, model_id, metric, day, value, observed_at, day_number, prev_value), each
    series' last observation of each day, its day number (1 = the series' first) and the
    value of its previous day (`store.daily_until` reads the same from `daily_values`)."""
    return (
        history.sort([*KEYS, "observed_at"])
        .with_columns(day=pl.col("observed_at").dt.date())
        .group_by([*KEYS, "day"], maintain_order=True)
        .agg(pl.col("value").last(), pl.col("observed_at").last())
        .with_columns(
            day_number=pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over(KEYS),
            prev_value=pl.col("value").shift(1).over(KEYS),
        )
    )


def _daily(daily: pl.DataFrame, pairs: list[tuple[str, str, float]]) -> pl.DataFrame:
    """(series, pair, day, row, value, observed_at, day_number, prev_value): each weighted
    series' daily rows, sorted by series and day; `row` is the row in `daily`. A series is
    one (pair, model id) as a small integer, so that everything after is grouping on
    integers, not strings."""
    by_pair = pl.DataFrame(
        {
            "source": [p[0] for p in pairs],
            "metric": [p[1] for p in pairs],
            "pair": list(range(len(pairs))),
        },
        schema={"source": pl.String, "metric": pl.String, "pair": pl.Int32},
    ).unique(subset=["source", "metric"], keep="first")
    model = pl.col("model_id").cast(pl.Categorical).to_physical().cast(pl.Int64)
    coded = daily.with_row_index("row").with_columns(model=model)
    models = int(coded["model"].max() or 0) + 1
    return (
        coded.join(by_pair, on=["source", "metric"], how="inner")
        .select(
            series=pl.col("pair").cast(pl.Int64) * models + pl.col("model"),
            pair="pair",
            day="day",
            row=pl.col("row").cast(pl.Int64),
            value=pl.col("value").cast(pl.Float64),
            observed_at="observed_at",
            day_number=pl.col("day_number").cast(pl.Int64),
            prev_value=pl.col("prev_value").cast(pl.Float64),
        )
        .sort("series", "day")
    )


def _refreshed(daily: pl.DataFrame, share: float, older: Older | None = None) -> pl.DataFrame:
    """`daily` without the captures (pair, day) in which at least `share` of the series
    seen before repeat their previous day's value (`prev_value`) exactly: the source did
    not refresh them. `older`: the days before which `daily` holds only some series, and
    those days' verdicts, judged on every series."""
    flagged = daily.with_columns(same=pl.col("value") == pl.col("prev_value"))
    if older is not None:
        flagged = flagged.join(older.full_from, on="pair", how="left").filter(
            pl.col("full_from").is_null() | (pl.col("day") >= pl.col("full_from"))
        )
    stale = (
        flagged.filter(pl.col("same").is_not_null())
        .group_by("pair", "day")
        .agg(share=pl.col("same").mean(), n=pl.len())
        .filter((pl.col("n") >= MIN_SERIES_FOR_REFRESH_CHECK) & (pl.col("share") >= share))
        .select("pair", "day")
    )
    if older is not None:
        stale = pl.concat([stale, older.stale])
    if stale.is_empty():
        return daily
    return daily.join(stale, on=["pair", "day"], how="anti", maintain_order="left")


@dataclass
class Older:
    """What scoring read further back for the series that needed it: `full_from`, per
    pair (index), the first day of which `daily` holds every series; `stale`, the
    (pair, day) captures before it the source did not refresh (`store.unrefreshed_days`)."""

    full_from: pl.DataFrame  # pair (Int32), full_from (Date)
    stale: pl.DataFrame  # pair (Int32), day (Date)

    @staticmethod
    def of(
        pairs: list[tuple[str, str, float]],
        full_from: dict[Pair, date],
        stale: list[tuple[str, str, date]],
    ) -> Older:
        index: dict[Pair, int] = {}
        for i, (source, metric, _) in enumerate(pairs):
            index.setdefault((source, metric), i)  # `_daily` codes a pair by its first
        return Older(
            pl.DataFrame(
                {
                    "pair": [index[p] for p in full_from if p in index],
                    "full_from": [d for p, d in full_from.items() if p in index],
                },
                schema={"pair": pl.Int32, "full_from": pl.Date},
            ),
            pl.DataFrame(
                {
                    "pair": [index[(s, m)] for s, m, _ in stale if (s, m) in index],
                    "day": [d for s, m, d in stale if (s, m) in index],
                },
                schema={"pair": pl.Int32, "day": pl.Date},
            ),
        )


def growth_signals(
    history: pl.DataFrame,
    config: ScoringConfig,
    now: datetime,
    created: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every weighted signal in `SIGNAL_SCHEMA`, scored with the traction formula, from a
    whole history of observations (benchmarks and tests; publishing reads the store's
    daily values with `growth_signals_daily`).

    `created`: (source, model_id, created_at) for the age term; `now` is the as-of time
    (ages are measured to it)."""
    if history.is_empty():
        return pl.DataFrame(schema=SIGNAL_SCHEMA)
    return growth_signals_daily(daily_frame(history), config, now, created)[0]


Pair = tuple[str, str]


def lookbacks(config: ScoringConfig) -> dict[Pair, int]:
    """Days before each weighted pair's last day that its growth reads at least: the
    longest window, and the day before it (whose value says whether the window's first
    day was refreshed comes with each row, as `prev_value`)."""
    return {
        (source, metric): max(_windows(config, source, metric)) + 1
        for source, metric, _ in weighted_pairs(config.metric_weights)
    }


def growth_signals_daily(
    daily: pl.DataFrame,
    config: ScoringConfig,
    now: datetime,
    created: pl.DataFrame | None = None,
    since: dict[Pair, date] | None = None,
    older: tuple[dict[Pair, date], list[tuple[str, str, date]]] | None = None,
) -> tuple[pl.DataFrame, dict[Pair, set[str]]]:
    """`growth_signals` from daily values (`store.daily_until`'s columns), and the series
    (model ids by pair) whose days from `since[pair]` on were too few to score them
    exactly (days before them that their growth windows or previous refreshed day reach):
    the caller reads those series again from further back. Without `since`, the daily
    values are every day of every series. `older`: when `daily` holds, before
    `full_from[pair]`, the days of some series only (those read further back), the
    unrefreshed (source, metric, day) captures before then, judged on every series."""
    if daily.is_empty():
        return pl.DataFrame(schema=SIGNAL_SCHEMA), {}
    pairs = weighted_pairs(config.metric_weights)
    series = _daily(daily, pairs) if pairs else pl.DataFrame()
    parts: list[pl.DataFrame] = []
    short: dict[Pair, set[str]] = {}
    if not series.is_empty():
        verdicts = Older.of(pairs, *older) if older is not None else None
        scored, short = _score_series(
            series, daily, pairs, config, now, created, since or {}, verdicts
        )
        parts.append(scored)
    wzrd_weight = float(config.metric_weights.get(f"{WZRD}.momentum", 0.0))
    if wzrd_weight > 0:
        wzrd = wzrd_signals(daily).with_columns(weight=pl.lit(wzrd_weight)).collect()
        if not wzrd.is_empty():
            parts.append(
                wzrd.with_columns(
                    score=formula.score_expr(
                        pl.col("trend_points"),
                        pl.col("momentum"),
                        pl.col("delta_pct"),
                        pl.col("confidence_weight"),
                    )
                ).select(list(SIGNAL_SCHEMA))
            )
    if not parts:
        return pl.DataFrame(schema=SIGNAL_SCHEMA), short
    signals = pl.concat(parts, how="vertical_relaxed").select(list(SIGNAL_SCHEMA)).sort(KEYS)
    return signals, short


def _score_series(
    daily: pl.DataFrame,
    history: pl.DataFrame,
    pairs: list[tuple[str, str, float]],
    config: ScoringConfig,
    now: datetime,
    created: pl.DataFrame | None,
    since: dict[Pair, date],
    older: Older | None = None,
) -> tuple[pl.DataFrame, dict[Pair, set[str]]]:
    series = ["series"]
    horizon = float(config.horizon_days)
    # What each series was last confirmed at, and whether its source still lists it.
    seen = daily.group_by("series", maintain_order=True).agg(
        pl.col("pair").first(),
        history_days=pl.col("day_number").last().cast(pl.Int64),
        first_number=pl.col("day_number").first(),
        last_day=pl.col("day").last(),
        last_observed_at=pl.col("observed_at").last(),
        value=pl.col("value").last(),
        row=pl.col("row").last(),
    )
    latest = seen.group_by("pair").agg(pair_day=pl.col("last_day").max())
    seen = seen.join(latest, on="pair").filter(pl.col("last_day") == pl.col("pair_day"))
    by_pair = pl.DataFrame(
        {
            "pair": list(range(len(pairs))),
            "source": [p[0] for p in pairs],
            "metric": [p[1] for p in pairs],
            "weight": [p[2] for p in pairs],
        },
        schema={"pair": pl.Int32, "source": pl.String, "metric": pl.String, "weight": pl.Float64},
    )
    seen = seen.join(by_pair, on="pair").with_columns(
        model_id=history["model_id"].gather(seen["row"])
    )

    kept = _refreshed(daily, config.unrefreshed_share, older).join(
        seen.select(series), on=series, how="semi", maintain_order="left"
    )
    ends = kept.group_by(series, maintain_order=True).agg(
        end_day=pl.col("day").last(),
        end_value=pl.col("value").last(),
        prev_value=pl.col("value").slice(-2, 1).first(),
        prev_day=pl.col("day").slice(-2, 1).first(),
        kept_days=pl.len(),
    )
    kept = kept.join(ends.select("series", "end_day"), on=series)
    # Which pairs measure growth over each window (likes and stars take longer ones).
    pairs_by_window: dict[int, list[int]] = {}
    for index, (source, metric, _) in enumerate(pairs):
        for window in _windows(config, source, metric):
            pairs_by_window.setdefault(window, []).append(index)
    rates = [
        kept.filter(
            pl.col("pair").is_in(indexes)
            & (pl.col("day") >= pl.col("end_day") - pl.duration(days=window))
        )
        .group_by(series)  # (rows keep their day order within a series)
        .agg(
            start=pl.col("value").first(),
            end=pl.col("value").last(),
            span=(pl.col("day").last() - pl.col("day").first()).dt.total_days(),
        )
        .select(
            *series,
            rate=pl.when(pl.col("span") > 0)
            .then(
                (pl.col("end").clip(0).log1p() - pl.col("start").clip(0).log1p()) / pl.col("span")
            )
            .otherwise(0.0),
        )
        for window, indexes in pairs_by_window.items()
    ]
    rate = pl.concat(rates).group_by(series).agg(pl.col("rate").mean())
    short = _short_series(seen, ends, pairs, config, since)
    scored = seen.join(rate, on=series, how="left").join(ends, on=series, how="left")
    if created is not None and not created.is_empty():
        ages = created.select(
            "source",
            "model_id",
            age=(
                pl.lit(naive_utc(now)) - pl.col("created_at").cast(pl.Datetime("us"))
            ).dt.total_seconds()
            / 86400.0,
        ).unique(subset=["source", "model_id"], keep="last")
        scored = scored.join(ages, on=["source", "model_id"], how="left")
    else:
        scored = scored.with_columns(age=pl.lit(None, dtype=pl.Float64))
    young = _age_term_expr(pl.col("age"), horizon, float(config.young_model_days))
    expected = horizon * pl.col("rate").fill_null(0.0) + young
    scored = scored.with_columns(expected=expected).with_columns(
        percentile=(
            (pl.col("expected").rank("average").over("pair") - 1)
            / (pl.len().over("pair") - 1).clip(lower_bound=1)
        ).cast(pl.Float64)
    )
    single = pl.len().over("pair") == 1
    return _signals(scored, single, horizon), short


def _short_series(
    seen: pl.DataFrame,
    ends: pl.DataFrame,
    pairs: list[tuple[str, str, float]],
    config: ScoringConfig,
    since: dict[Pair, date],
) -> dict[Pair, set[str]]:
    """The series (model ids by pair) that have days before `since[pair]` and need one:
    their last two refreshed days, or their longest growth window back from their last
    refreshed day, are not all within the days read."""
    if not since:
        return {}
    starts = pl.DataFrame(
        {
            "pair": list(range(len(pairs))),
            "start": [since.get((s, m)) for s, m, _ in pairs],
            "longest": [max(_windows(config, s, m)) for s, m, _ in pairs],
        },
        schema={"pair": pl.Int32, "start": pl.Date, "longest": pl.Int64},
    ).filter(pl.col("start").is_not_null())
    lacking = (
        seen.select("series", "pair", "first_number", "model_id")
        .join(starts, on="pair")
        .join(ends.select("series", "end_day", "kept_days"), on="series", how="left")
        .filter(
            (pl.col("first_number") > 1)
            & (
                pl.col("end_day").is_null()
                | (pl.col("kept_days") < 2)
                | (pl.col("end_day") - pl.duration(days=pl.col("longest")) < pl.col("start"))
            )
        )
    )
    short: dict[Pair, set[str]] = {}
    for i, model_id in lacking.select("pair", "model_id").iter_rows():
        short.setdefault((pairs[i][0], pairs[i][1]), set()).add(model_id)
    return short


def _signals(scored: pl.DataFrame, single: pl.Expr, horizon: float) -> pl.DataFrame:
    """The signal columns from a scored series' terms."""
    delta = (
        pl.when(
            pl.col("prev_value").is_not_null()
            & (pl.col("kept_days") > 1)
            & (pl.col("prev_value") > 0)
        )
        .then(
            (pl.col("end_value") - pl.col("prev_value"))
            / pl.col("prev_value")
            / (pl.col("end_day") - pl.col("prev_day")).dt.total_days()
            * 100.0
        )
        .otherwise(None)
    )
    return scored.with_columns(
        percentile=pl.when(single).then(0.5).otherwise(pl.col("percentile")),
    ).select(
        "source",
        "model_id",
        "metric",
        "value",
        velocity=pl.col("expected") / horizon,
        delta_pct=delta,
        trend=_trend_expr(pl.col("percentile")),
        trend_points=_trend_expr(pl.col("percentile")).replace_strict(
            formula.TREND_POINTS, return_dtype=pl.Float64
        ),
        momentum=pl.col("percentile"),
        confidence=formula.confidence_expr(pl.col("history_days")),
        confidence_weight=formula.confidence_expr(pl.col("history_days")).replace_strict(
            formula.CONFIDENCE_WEIGHT, return_dtype=pl.Float64
        ),
        history_days="history_days",
        raw_delta_pct=delta,
        spike=pl.lit(False),
        last_observed_at=pl.col("last_observed_at").cast(pl.Datetime("us")),
        weight="weight",
        score=SIGNAL_SPAN * (pl.col("percentile") - 0.5),
    )
