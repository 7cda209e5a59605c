"""Per (source, model, metric) signals from the stored history, computed in polars.

History is kept as change points, so a series is read day by day: the last value of
each day it was observed. Velocity is per day between the last two observed days;
delta % is that velocity relative to the earlier value. Hugging Face `downloads` is
a rolling 30-day count, so a fall is real information (a cooling model), not an error.

With this formula a publish reads every day of every weighted series (one row per series
and day, from `daily_values`: the spike guard weighs a series' whole history), and the
same code scores a raw observation history (tests, benchmarks); the derived signals are
computed for speed (benchmarks/scoring_bench.py) with the same results as the plain formula:

* Strings are read once. A mask per weighted (source, metric) pair comes from comparing
  the two columns with literals, and the model id becomes its categorical code (exact,
  unlike a hash). Unweighted pairs and WZRD rows are never sorted or scored.
* Model code, day and row number are packed into one Int64 key per observation, and each
  pair's keys are sorted on their own: sorting bare integers is several times faster
  than sorting a frame by columns (still the fallback when a key would not fit).
* After that everything is a pass over sorted columns, no group-by over strings and no
  window over series: "the next key is another day" keeps each day's last value, a
  shift plus a same-series test gives the day before, series ends and counts come from
  positions, the last six earlier deltas are picked by position, not grouped.
* The spike guard's median is a group-by on the sorted series; its MAD is only computed
  for the few series whose latest delta could be a spike at all.
* Output rows come out in (source, model_id, metric) order by sorting the distinct
  model ids only.
"""

from __future__ import annotations

from typing import NamedTuple

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

# Packed sort keys are Int64 and non-negative.
_MAX_KEY = (1 << 63) - 1
# Length of a day in each Datetime unit, for the day number of a naive or UTC timestamp.
_DAY = {"ns": 86_400_000_000_000, "us": 86_400_000_000, "ms": 86_400_000}

Pair = tuple[str, str, float]  # (source, metric, weight)


def weighted_pairs(weights: dict[str, float]) -> list[Pair]:
    """The (source, metric) pairs traction scores itself, with their weights.

    A weight key is "source.metric"; every split at a dot is tried, so a key matches
    exactly the rows whose `source + "." + metric` equals it. WZRD is scored from its own
    feed (`wzrd_signals`), and a weight of 0 or less means "stored, not scored".
    """
    pairs: list[Pair] = []
    for key, weight in weights.items():
        if float(weight) <= 0:
            continue
        for at, char in enumerate(key):
            if char == "." and key[:at] != WZRD:
                pairs.append((key[:at], key[at + 1 :], float(weight)))
    return pairs


def _pair_masks(pairs: list[Pair]) -> list[pl.Expr]:
    """One boolean column per weighted pair: is the row this (source, metric)?

    Equality with a literal is one cheap pass over a string column, far cheaper than
    hashing (`is_in`, `replace`), concatenating strings or a `when` chain of codes.
    """
    return [
        (pl.col("source") == source) & (pl.col("metric") == metric) for source, metric, _ in pairs
    ]


def _pair_code(pairs: list[Pair]) -> pl.Expr:
    """The index of the row's (source, metric) in `pairs`; null if not scored."""
    expr = pl.when(False).then(None)
    for index, mask in enumerate(_pair_masks(pairs)):
        expr = expr.when(mask).then(pl.lit(index, dtype=pl.Int64))
    return expr.otherwise(None)


def _model_code() -> pl.Expr:
    """A small integer per model id: its categorical code (one hash per row, exact)."""
    return pl.col("model_id").cast(pl.Categorical).to_physical().cast(pl.Int64)


def _day_number(dtype: pl.DataType) -> pl.Expr:
    """Calendar day of `observed_at` as an integer, as `.dt.date()` reads it.

    For naive and UTC timestamps that is a floor division of the physical value, which
    is cheaper than building a Date column; other time zones take `.dt.date()` itself.
    """
    col = pl.col("observed_at")
    if isinstance(dtype, pl.Datetime) and dtype.time_zone in (None, "UTC"):
        return col.to_physical().cast(pl.Int64) // _DAY[dtype.time_unit]
    return col.dt.date().to_physical().cast(pl.Int64)


def _day_range(history: pl.DataFrame) -> tuple[int, int]:
    """First and last day number; for naive and UTC times, from the extreme timestamps."""
    dtype = history.schema["observed_at"]
    if isinstance(dtype, pl.Datetime) and dtype.time_zone in (None, "UTC"):
        physical = history["observed_at"].to_physical()
        day = _DAY[dtype.time_unit]
        return int(physical.min()) // day, int(physical.max()) // day
    day = _day_number(dtype)
    first, last = history.select(first=day.min(), last=day.max()).row(0)
    return int(first), int(last)


class _Packing(NamedTuple):
    """How `_packed_keys` packs (series, day, row) into one Int64."""

    row_bits: int  # the low bits: the observation's row in the history
    days: int  # days from the first to the last observation
    models: int  # model codes are below this; series = pair index x models + model code

    def block(self) -> pl.Expr:
        """(series, day): one value per series and day."""
        return pl.col("key") // (1 << self.row_bits)

    def series(self) -> pl.Expr:
        """pair index x model count + model code: one value per series (from `block`)."""
        return pl.col("block") // self.days

    def row(self) -> pl.Expr:
        """The observation's row in the history."""
        return pl.col("key") % (1 << self.row_bits)


def _packed_keys(history: pl.DataFrame, pairs: list[Pair]) -> tuple[pl.Series, _Packing] | None:
    """Every scored observation's key, sorted; None if keys would not fit in 63 bits.

    key = ((pair index x models + model code) x days + day - first day) x 2^row_bits + row,
    so sorting bare integers (several times faster than sorting a frame by columns) puts
    each series' observations together, day by day, in history order. Each pair's rows
    are taken out with its mask and sorted on their own, so no per-row pair code is ever
    computed; in pair order the sorted pieces are sorted as a whole.
    """
    row_bits = max(1, (history.height - 1).bit_length())
    first_day, last_day = _day_range(history)
    days = last_day - first_day + 1
    per_model = days << row_bits  # key values one model code spans
    model = _model_code()
    codes = (
        history.lazy()
        .select(
            model=model,
            # The first day's offset is subtracted with the pair's, below: one pass less.
            base=model * per_model
            + _day_number(history.schema["observed_at"]) * (1 << row_bits)
            + pl.int_range(pl.len(), dtype=pl.Int64),
            **{f"pair{index}": mask for index, mask in enumerate(_pair_masks(pairs))},
        )
        .collect()
    )
    models = int(codes["model"].max()) + 1
    per_pair = models * per_model
    day_numbers = (abs(first_day) + abs(last_day) + 1) << row_bits
    if len(pairs) * per_pair + day_numbers > _MAX_KEY:
        return None  # (and `base` may have wrapped around)
    # Pieces are sorted side by side, each on one thread: a parallel sort of each in turn
    # is no faster on two cores, and twice as slow when something else keeps one busy.
    pieces = pl.collect_all(
        [
            codes.lazy()
            .filter(f"pair{index}")
            .select(key=pl.col("base") + (index * per_pair - (first_day << row_bits)))
            .sort("key", multithreaded=False)
            for index in range(len(pairs))
        ]
    )
    keys = pl.concat([piece["key"] for piece in pieces]).set_sorted()
    return keys, _Packing(row_bits, days, models)


def _column_order(history: pl.DataFrame, pairs: list[Pair], models: int) -> pl.DataFrame:
    """(block, series, day, row) as from packed keys, by sorting columns: for histories
    whose keys are too wide to pack."""
    new_block = (pl.col("series") != pl.col("series").shift(1)) | (
        pl.col("day") != pl.col("day").shift(1)
    )
    return (
        history.select(
            series=_pair_code(pairs) * models + _model_code(),
            day=_day_number(history.schema["observed_at"]),
            row=pl.int_range(pl.len(), dtype=pl.Int64),
        )
        .drop_nulls("series")
        .sort(["series", "day", "row"])
        .with_columns(block=new_block.fill_null(True).cum_sum().set_sorted())
    )


def _last_of_each_day(order: pl.DataFrame, row: pl.Expr, times: pl.Series) -> pl.DataFrame:
    """Keep each (series, day)'s latest observation (on a tie, the later row).

    `order` is sorted by (series, day, row) and has a `block` column, one value per
    (series, day). The store appends as it observes, so its rows are usually in time
    order, at least within each block (a backfill appends whole old days); then the last
    row of a block is its latest. Only if not is each block's latest time looked up,
    with a window over all blocks (several times slower).
    """
    last_in_block = (pl.col("block") != pl.col("block").shift(-1)).fill_null(True)
    if times.is_sorted():
        return order.filter(last_in_block)
    at = times.rechunk().to_physical().gather(order.select(row).to_series())
    order = order.with_columns(at=at)
    in_order = (pl.col("block") != pl.col("block").shift(1)) | (
        pl.col("at") >= pl.col("at").shift(1)
    )
    if order.select(in_order.fill_null(True).all()).item():
        return order.filter(last_in_block).drop("at")
    latest = pl.col("at") == pl.col("at").max().over("block")
    return order.filter(latest).filter(last_in_block).drop("at")


def _daily_values(history: pl.DataFrame, pairs: list[Pair]) -> tuple[pl.DataFrame, int]:
    """(series, day, row, value): each series' last observation of each day it was
    observed, sorted by series then day, and the number of model codes. series = pair
    index x model codes + model code; `day` only counts days within a series (the gap
    between two of its rows is the gap in days); `row` is the row in `history`."""
    times = history["observed_at"]
    packed = _packed_keys(history, pairs)
    if packed is None:
        models = int(history.select(_model_code().max()).item()) + 1
        order = _column_order(history, pairs, models)
        daily = _last_of_each_day(order, pl.col("row"), times).select(
            pl.col("series").set_sorted(), "day", "row"
        )
    else:
        keys, packing = packed
        models = packing.models
        order = keys.to_frame().with_columns(block=packing.block().set_sorted())
        daily = _last_of_each_day(order, packing.row(), times).select(
            # Within a series, blocks are as far apart as their days.
            series=packing.series().set_sorted(),
            day=pl.col("block"),
            row=packing.row(),
        )
    value = history["value"].rechunk()  # one chunk gathers several times faster
    return daily.with_columns(value=value.gather(daily["row"]).cast(pl.Float64)), models


def _spread(values: pl.Series, present: pl.Series) -> pl.Series:
    """`values` has one item per true in `present`: put each at its place, null elsewhere."""
    if values.is_empty():
        return pl.Series(values.name, [None] * len(present), dtype=values.dtype)
    at = (present.cast(pl.Int64).cum_sum() - 1).clip(lower_bound=0)
    return pl.select(pl.when(present).then(values.gather(at))).to_series().alias(values.name)


def _series_terms(daily: pl.DataFrame) -> pl.DataFrame:
    """Per series: latest value, velocity and delta, history length, spike guard inputs.

    `daily` holds one row per (series, day), sorted by series then day, with `value`.
    """
    same_series = pl.col("series") == pl.col("series").shift(1)
    prev = pl.col("value").shift(1)  # the previous day's value, if `same_series`
    velocity = (pl.col("value") - prev) / (pl.col("day") - pl.col("day").shift(1))
    daily = (
        daily.lazy()
        .select(
            "series",
            "row",
            "value",
            velocity=velocity,  # meaningless on a series' first day: never read there
            delta_pct=pl.when(same_series & (prev > 0))
            .then(velocity / prev * 100.0)
            .when(same_series & (prev == 0) & (pl.col("value") == 0))
            .then(0.0)
            .otherwise(None),
            last=(pl.col("series") != pl.col("series").shift(-1)).fill_null(True),
        )
        .collect()
    )
    # Every day-over-day delta but the latest: the series' own history, for the guard.
    no_delta = daily["delta_pct"].is_null() & ~daily["last"]
    earlier = daily.select(pl.col("series").set_sorted(), "delta_pct").filter(
        ~no_delta & ~daily["last"]
    )
    # Where each series ends, in `daily` and in `earlier`: counts are differences. Rows
    # before the end of the k-th series (from 0) that are not in `earlier`: k ends before
    # it, and the few rows without a delta (each series' first day, mostly).
    ends = daily["last"].arg_true().cast(pl.Int64)
    skipped = no_delta.arg_true().search_sorted(ends, side="right").cast(pl.Int64)
    earlier_ends = ends - pl.int_range(len(ends), dtype=pl.Int64, eager=True) - skipped
    history_days = ends - ends.shift(1, fill_value=-1)
    latest = (
        daily.select("series", "row", "value", "velocity", raw_delta_pct="delta_pct")
        .filter(daily["last"])
        .with_columns(
            velocity=pl.when(history_days > 1).then(pl.col("velocity")),
            history_days=history_days,
            earlier_count=earlier_ends - earlier_ends.shift(1, fill_value=0),
            earlier_end=earlier_ends - 1,  # where the series' last one is in `earlier`
        )
    )
    medians = earlier.group_by("series", maintain_order=True).agg(pl.col("delta_pct").median())
    latest = latest.with_columns(
        earlier_median=_spread(medians["delta_pct"], latest["earlier_count"] > 0),
        recent_count=pl.col("earlier_count").clip(upper_bound=formula.MOMENTUM_WINDOW - 1),
        recent_sum=_recent_sum(earlier["delta_pct"], latest),
    )
    return latest.with_columns(earlier_mad=_suspects_mad(earlier["delta_pct"], latest))


def _recent_sum(earlier: pl.Series, latest: pl.DataFrame) -> pl.Series:
    """Sum of each series' last MOMENTUM_WINDOW - 1 earlier deltas, oldest first (as plain
    Python adds them), picked by position (they end at `earlier_end`) instead of grouped.

    A slot the series has no delta for adds 0.0, which changes no sum (it never is -0.0).
    """
    if earlier.is_empty():
        return pl.Series("recent_sum", [0.0] * latest.height, dtype=pl.Float64)
    end = latest["earlier_end"]
    back = range(formula.MOMENTUM_WINDOW - 2, -1, -1)  # deltas before the series' last one
    total = pl.lit(0.0)
    for n in back:
        total = total + pl.when(pl.col("earlier_count") > n).then(f"back{n}").otherwise(0.0)
    return (
        latest.select("earlier_count")
        .with_columns(**{f"back{n}": earlier.gather((end - n).clip(lower_bound=0)) for n in back})
        .select(total.alias("recent_sum"))
        .to_series()
    )


def _suspects_mad(earlier: pl.Series, latest: pl.DataFrame) -> pl.Series:
    """The median absolute deviation of the earlier deltas, only where it could matter.

    Elsewhere (most series) the latest delta is too close to the median to be a spike
    whatever the MAD (`formula.spike_possible_expr`), and it stays null, which
    `spike_expr` reads as the floor. The MAD's rows are picked by position in `earlier`.
    """
    could_spike = formula.spike_possible_expr(
        pl.col("raw_delta_pct"), pl.col("earlier_median"), pl.col("earlier_count")
    )
    suspect = latest.select(could_spike).to_series()
    if not suspect.any():
        return pl.Series("earlier_mad", [None] * latest.height, dtype=pl.Float64)
    first = pl.col("earlier_end") - pl.col("earlier_count") + 1
    ranges = (
        latest.filter(suspect)
        .select("series", "earlier_median", at=pl.int_ranges(first, pl.col("earlier_end") + 1))
        .explode("at")
    )
    deviation = (earlier.gather(ranges["at"]) - ranges["earlier_median"]).abs()
    mads = (
        ranges.select("series", deviation=deviation)
        .group_by("series", maintain_order=True)
        .agg(pl.col("deviation").median())
    )
    return _spread(mads["deviation"], suspect).alias("earlier_mad")


def derived_signals(history: pl.DataFrame, pairs: list[Pair]) -> pl.DataFrame:
    """Signals traction computes itself from raw counts (every source but WZRD), with
    each series' weight, for the weighted (source, metric) pairs in `pairs`, sorted by
    source, model id and metric."""
    if not pairs:
        return pl.DataFrame()
    daily, models = _daily_values(history, pairs)
    if daily.is_empty():
        return pl.DataFrame()
    terms = _series_terms(daily)
    rows = terms["row"]
    # Source, metric and weight are the pair's: looked up among a handful, not gathered.
    by_pair = pl.DataFrame(
        {
            "source": [source for source, _, _ in pairs],
            "metric": [metric for _, metric, _ in pairs],
            "weight": [weight for _, _, weight in pairs],
            "source_rank": _ranks([source for source, _, _ in pairs]),
            "metric_rank": _ranks([metric for _, metric, _ in pairs]),
        }
    )
    terms = pl.concat(
        [
            terms.with_columns(
                model_id=history["model_id"].gather(rows),
                last_observed_at=history["observed_at"].gather(rows),
            ),
            by_pair[terms["series"] // models],
        ],
        how="horizontal",
    )
    return _in_key_order(terms, len(pairs)).pipe(_apply_formula)


def _ranks(names: list[str]) -> list[int]:
    """Each name's place among the distinct names, in sort order."""
    order = {name: rank for rank, name in enumerate(sorted(set(names)))}
    return [order[name] for name in names]


def _in_key_order(terms: pl.DataFrame, pairs: int) -> pl.DataFrame:
    """`terms` sorted by source, model id and metric (KEYS). Source and metric ranks come
    with the pair, so only the distinct model ids are sorted as strings (a fraction of the
    rows) and the rows are then ordered by one integer."""
    ids = terms.select(pl.col("model_id").unique()).sort("model_id")
    ranked = terms.join(ids.with_row_index("model_rank"), on="model_id", how="left")
    position = (
        pl.col("source_rank").cast(pl.Int64) * ids.height + pl.col("model_rank")
    ) * pairs + pl.col("metric_rank")
    return ranked.sort(position).drop("model_rank", "source_rank", "metric_rank")


def _apply_formula(per_series: pl.DataFrame) -> pl.DataFrame:
    """Spike guard, trend, momentum and confidence from a series' terms."""
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
    columns = [c for c in SIGNAL_SCHEMA if c != "score"]
    parts = []
    derived = derived_signals(history, weighted_pairs(weights))
    if not derived.is_empty():
        parts.append(derived.select(columns))
    wzrd_weight = float(weights.get(f"{WZRD}.momentum", 0.0))
    if wzrd_weight > 0:
        wzrd = wzrd_signals(history).with_columns(weight=pl.lit(wzrd_weight)).collect()
        parts.append(wzrd.select(columns))
    if not parts:  # (timestamps keep their time zone, as they would with rows)
        return pl.DataFrame(
            schema={**SIGNAL_SCHEMA, "last_observed_at": history.schema["observed_at"]}
        )
    signals = pl.concat(parts, how="vertical_relaxed").with_columns(
        score=formula.score_expr(
            pl.col("trend_points"),
            pl.col("momentum"),
            pl.col("delta_pct"),
            pl.col("confidence_weight"),
        )
    )
    signals = signals.select(list(SIGNAL_SCHEMA))
    derived_only = len(parts) == 1 and not derived.is_empty()
    return signals if derived_only else signals.sort(KEYS)  # derived come sorted
