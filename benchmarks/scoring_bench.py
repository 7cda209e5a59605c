"""How fast traction scores its observation history, against plain Python.

Builds a synthetic, deterministic (fixed seed) history of Hugging Face downloads / likes /
trending_score and GitHub stars / forks observations (forks are weighted 0, so scoring
drops them) at several sizes, with growing, declining, flat and noisy series, spikes
(on the last day, where the spike guard must catch them, and earlier in the history),
missing days, a second observation on some days, zero values and series of fewer than
3 days. Each size is stored in an in-memory DuckDB database with traction's own schema
(migrations), in observation order as ingestion appends it (`--shuffle`: in random
order, as after a backfill), and read back with `scoring.snapshot.load_history`, the
very call publishing makes; that frame is then scored twice:

* polars: the real `scoring.signals.compute_signals`, best of `--repeat` runs;
* pure Python: the same formula written here with dicts, lists and loops over the rows,
  reusing the scalar helpers of `scoring.formula`. Its input is the same rows as Python
  tuples, converted from the frame outside the timed region. It is timed best of
  `--repeat` too, except once only for sizes above `--python-once-above` rows.

The garbage collector is off while either side is timed (as `timeit` does). Both results
are compared series by series (score, trend, delta_pct, momentum, confidence,
history_days, spike; floats within 1e-9 relative tolerance), and polars is run once more
on the same rows in another order, which must change nothing; any difference exits 2.
Prints a table of rows, seconds and rows/s for each side and the speed-up (and, for
context, how long reading the frame from DuckDB took), then whether the goals hold:
1M rows scored in under 2 s, at least 20x the pure-Python rate.

    python benchmarks/scoring_bench.py [--sizes 10000 100000 1000000] [--repeat 3] [--shuffle]
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple, TypeVar

import duckdb
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import store  # noqa: E402
from schemas.config import ScoringConfig  # noqa: E402
from scoring.formula import (  # noqa: E402
    CONFIDENCE_WEIGHT,
    MOMENTUM_WINDOW,
    TREND_POINTS,
    confidence_of,
    is_spike,
    momentum_of,
    signal_score,
    trend_of,
)
from scoring.growth import growth_signals  # noqa: E402
from scoring.signals import KEYS, WZRD, compute_signals  # noqa: E402
from scoring.snapshot import load_history  # noqa: E402

WEIGHTS: dict[str, float] = {
    "huggingface.downloads": 1.0,
    "huggingface.likes": 0.5,
    "huggingface.trending_score": 0.5,
    "github.stars": 0.5,
    "github.forks": 0.0,  # stored but unweighted: both sides must leave it out
}
GROWTH_CONFIG = ScoringConfig(metric_weights=WEIGHTS)  # the default formula's other settings
# (source, metric, median starting value, whether the value is a count)
METRICS: list[tuple[str, str, float, bool]] = [
    ("huggingface", "downloads", 20_000.0, True),
    ("huggingface", "likes", 200.0, True),
    ("huggingface", "trending_score", 20.0, False),
    ("github", "stars", 2_000.0, True),
    ("github", "forks", 200.0, True),
]
DAYS = 30
START_US = 1_735_689_600_000_000  # 2025-01-01 00:00 UTC, in µs
DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
SEED = 20250101
DEFAULT_SIZES = [10_000, 100_000, 1_000_000]
AS_OF = datetime(2030, 1, 1)  # after every synthetic observation
GOAL_ROWS = 1_000_000
GOAL_SECONDS = 2.0
GOAL_SPEEDUP = 20.0
REL_TOL = 1e-9

Key = tuple[str, str, str]
Row = tuple[str, str, str, float, datetime]
T = TypeVar("T")


class Signal(NamedTuple):
    score: float
    trend: str
    delta_pct: float | None
    momentum: float
    confidence: str
    history_days: int
    spike: bool


FIELDS = list(Signal._fields)  # what is compared, series by series

# Synthetic history -------------------------------------------------------------------


def _series_values(rng: random.Random, base: float, days: int) -> list[float]:
    """One series' daily values, of a randomly chosen shape."""
    kind = rng.random()
    if kind < 0.04:  # never used yet: all zero
        return [0.0] * days
    if kind < 0.07:  # zero at first, then taking off
        zeros = rng.randint(1, max(1, days - 1))
        return [0.0] * zeros + [base * 1.1**t for t in range(days - zeros)]
    if kind < 0.27:  # flat
        rate, noise = 0.0, 0.0
    elif kind < 0.57:  # growth, 0.5 .. 40 % a day
        rate, noise = rng.uniform(0.005, 0.4), rng.uniform(0.0, 0.05)
    elif kind < 0.77:  # decline, e.g. a rolling download count cooling off
        rate, noise = -rng.uniform(0.005, 0.3), rng.uniform(0.0, 0.05)
    else:  # noisy, no clear direction
        rate, noise = 0.0, rng.uniform(0.01, 0.15)
    values = [base * (1.0 + rate) ** t * (1.0 + rng.gauss(0.0, noise)) for t in range(days)]
    values = [max(0.0, v) for v in values]
    if days > 1 and rng.random() < 0.12:  # a one-day jump: on the last day, or earlier on
        at = days - 1 if rng.random() < 0.5 else rng.randrange(1, days)
        values[at] *= rng.uniform(3.0, 12.0)
    return values


def synthetic_columns(rows: int, seed: int = SEED) -> dict[str, list]:
    """At least `rows` observations, model by model, as columns (observed_at in µs)."""
    rng = random.Random(seed)
    source: list[str] = []
    model: list[str] = []
    metric: list[str] = []
    value: list[float] = []
    at: list[int] = []
    n = 0
    while len(value) < rows:
        model_id = f"org-{n % 211}/model-{n:07d}"
        n += 1
        for src, name, median, count in METRICS:
            roll = rng.random()
            if roll < 0.05:  # brand new: one or two days of history
                first = DAYS - rng.randint(1, 2)
            elif roll < 0.2:  # listed a few days or weeks ago
                first = rng.randrange(1, DAYS - 2)
            else:
                first = 0
            base = median * math.exp(rng.gauss(0.0, 1.5))
            values = _series_values(rng, base, DAYS - first)
            minute = rng.randrange(0, 60)
            for offset, v in enumerate(values):
                day = first + offset
                if offset and rng.random() < 0.04:  # a missed collection day
                    continue
                v = float(round(v)) if count else round(v, 3)
                stamp = START_US + day * DAY_US + (6 * 60 + minute) * 60_000_000
                if rng.random() < 0.05:  # an earlier observation the same day: superseded
                    source.append(src)
                    model.append(model_id)
                    metric.append(name)
                    value.append(float(round(v * rng.uniform(0.5, 1.0), 3)))
                    at.append(stamp - rng.randint(1, 5) * HOUR_US)
                source.append(src)
                model.append(model_id)
                metric.append(name)
                value.append(v)
                at.append(stamp)
    return {"source": source, "model_id": model, "metric": metric, "value": value, "at": at}


def history_frame(columns: dict[str, list], rows: int, shuffle: bool = False) -> pl.DataFrame:
    """The first `rows` observations, in observation order (or shuffled)."""
    frame = (
        pl.DataFrame(
            {name: col[:rows] for name, col in columns.items()},
            schema={
                "source": pl.String,
                "model_id": pl.String,
                "metric": pl.String,
                "value": pl.Float64,
                "at": pl.Int64,
            },
        )
        .with_columns(observed_at=pl.col("at").cast(pl.Datetime("us")))
        .drop("at")
    )
    if shuffle:
        return frame.sample(fraction=1.0, shuffle=True, seed=rows)
    return frame.sort("observed_at", maintain_order=True)


def stored_history(frame: pl.DataFrame) -> tuple[pl.DataFrame, float]:
    """`frame` appended to a fresh in-memory store, then read back as publishing reads it
    (`load_history`), with the seconds that read took. The frame that comes back is laid
    out as DuckDB hands it over (chunks, string buffers), which is what scoring gets."""
    con = duckdb.connect()
    try:
        store.migrate(con)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "observations.parquet"
            frame.write_parquet(path)
            con.execute(
                "INSERT INTO observations (source, model_id, metric, value, observed_at, run_id)"
                " SELECT source, model_id, metric, value, observed_at, 'bench'"
                " FROM read_parquet(?)",
                [str(path)],
            )
        start = time.perf_counter()
        history = load_history(con, AS_OF)
        return history, time.perf_counter() - start
    finally:
        con.close()


# The same signals in plain Python ----------------------------------------------------


def pure_python_signals(rows: list[Row], weights: dict[str, float]) -> dict[Key, Signal]:
    """Per weighted (source, model, metric) series, as `compute_signals` scores it."""
    weighted = {tuple(k.split(".", 1)) for k, w in weights.items() if w > 0}
    daily: dict[Key, dict[date, tuple[datetime, float]]] = {}
    for source, model_id, metric, value, observed_at in rows:
        if source == WZRD or (source, metric) not in weighted:
            continue
        key = (source, model_id, metric)
        days = daily.get(key)
        if days is None:
            days = daily[key] = {}
        day = observed_at.date()
        seen = days.get(day)
        if seen is None or observed_at >= seen[0]:  # the last value of each day
            days[day] = (observed_at, value)
    return {key: _series_signal(days) for key, days in daily.items()}


def _series_signal(by_day: dict[date, tuple[datetime, float]]) -> Signal:
    days = sorted(by_day)
    values = [by_day[d][1] for d in days]
    deltas: list[float | None] = [None]
    for i in range(1, len(days)):
        prev, value = values[i - 1], values[i]
        velocity = (value - prev) / (days[i] - days[i - 1]).days  # spread over the gap
        if prev > 0:
            deltas.append(velocity / prev * 100.0)
        elif prev == 0 and value == 0:
            deltas.append(0.0)
        else:
            deltas.append(None)
    raw = deltas[-1]
    earlier = [d for d in deltas[:-1] if d is not None]
    spike = is_spike(raw, earlier)
    delta = statistics.median(earlier) if spike else raw
    recent = earlier[max(0, len(earlier) - (MOMENTUM_WINDOW - 1)) :]
    mean = None if delta is None else (sum(recent) + delta) / (len(recent) + 1)
    trend = trend_of(delta)
    momentum = momentum_of(mean)
    confidence = confidence_of(len(days))
    score = signal_score(TREND_POINTS[trend], momentum, delta, CONFIDENCE_WEIGHT[confidence])
    return Signal(score, trend, delta, momentum, confidence, len(days), spike)


# Checking and timing -----------------------------------------------------------------


def polars_by_series(frame: pl.DataFrame) -> dict[Key, Signal]:
    return {
        (row[0], row[1], row[2]): Signal(*row[3:])
        for row in frame.select([*KEYS, *FIELDS]).iter_rows()
    }


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=REL_TOL) or (math.isnan(a) and math.isnan(b))
    return a == b


def differences(got: dict[Key, Signal], want: dict[Key, Signal], limit: int = 10) -> list[str]:
    problems = [f"only in polars: {key}" for key in sorted(got.keys() - want.keys())]
    problems += [f"only in pure Python: {key}" for key in sorted(want.keys() - got.keys())]
    for key in sorted(got.keys() & want.keys()):
        for field, a, b in zip(FIELDS, got[key], want[key], strict=True):
            if not _same(a, b):
                problems.append(f"{key} {field}: polars {a!r} != pure Python {b!r}")
    if len(problems) > limit:
        return [*problems[:limit], f"... and {len(problems) - limit} more"]
    return problems


def bit_identical(got: dict[Key, Signal], want: dict[Key, Signal]) -> tuple[int, int]:
    """How many of the compared floats are equal to the last bit, out of how many."""
    pairs = [
        (a, b)
        for key in got.keys() & want.keys()
        for a, b in zip(got[key], want[key], strict=True)
        if isinstance(a, float) and isinstance(b, float)
    ]
    return sum(a == b for a, b in pairs), len(pairs)


def best_of(runs: int, fn: Callable[[], T]) -> tuple[float, T]:
    """The fastest of `runs` calls (garbage collector off while timed) and its result."""
    best = math.inf
    for _ in range(runs):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            result = fn()
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
    return best, result


def coverage(signals: dict[Key, Signal]) -> str:
    s = signals.values()
    trends = Counter(x.trend for x in s)
    conf = Counter(x.confidence for x in s)
    return (
        f"{len(signals)} series; trends "
        + ", ".join(f"{k} {v}" for k, v in trends.most_common())
        + "; confidence "
        + ", ".join(f"{k} {v}" for k, v in conf.most_common())
        + f"; spikes {sum(x.spike for x in s)}; no delta {sum(x.delta_pct is None for x in s)}"
        + f"; zero delta {sum(x.delta_pct == 0.0 for x in s)}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=DEFAULT_SIZES, metavar="ROWS")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument(
        "--python-once-above",
        type=int,
        default=2_000_000,
        metavar="ROWS",
        help="time pure Python once only above this many rows (default 2000000)",
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--shuffle",
        action="store_true",
        help="store the rows in random order, not in observation order (as after a backfill)",
    )
    args = parser.parse_args()
    if min(args.sizes) < 1 or args.repeat < 1:
        parser.error("sizes and --repeat must be at least 1")
    sizes = sorted(set(args.sizes))

    columns = synthetic_columns(sizes[-1], args.seed)
    print(
        f"polars {pl.__version__}, {pl.thread_pool_size()} threads; Python "
        f"{sys.version.split()[0]}; synthetic history, seed {args.seed}, up to {DAYS} days"
    )
    order = "random order (--shuffle)" if args.shuffle else "observation order"
    print(
        f"stored in DuckDB in {order}, read back with load_history ('read s', not in "
        f"either timing); best of {args.repeat} runs (pure Python: see 'runs'), its input "
        "converted to tuples outside the timing"
    )
    header = (
        f"{'rows':>10} {'series':>8} {'read s':>7} {'polars s':>9} {'polars rows/s':>14} "
        f"{'python s':>9} {'runs':>4} {'python rows/s':>14} {'speed-up':>9}"
        f" {'traction s':>10} {'vs wzrd':>7}"
    )
    print(header)
    print("-" * len(header))
    results: list[tuple[int, float, float]] = []
    exact = compared = 0
    for size in sizes:
        history, read_s = stored_history(history_frame(columns, size, args.shuffle))
        rows: list[Row] = history.rows()  # Python tuples for the pure-Python side, untimed
        pl_s, pl_out = best_of(args.repeat, lambda h=history: compute_signals(h, WEIGHTS))
        py_runs = 1 if size > args.python_once_above else args.repeat
        py_s, py_out = best_of(py_runs, lambda r=rows: pure_python_signals(r, WEIGHTS))
        got = polars_by_series(pl_out)
        problems = differences(got, py_out)
        reordered = history.sample(fraction=1.0, shuffle=True, seed=size + 1)
        if not compute_signals(reordered, WEIGHTS).equals(pl_out):
            problems.append("polars scores the same rows differently in another order")
        if problems:
            print(f"MISMATCH at {size} rows:", file=sys.stderr)
            for line in problems:
                print(f"  {line}", file=sys.stderr)
            return 2
        # The default formula (scoring/growth.py) on the same frame, beside WZRD's polars.
        now = history["observed_at"].max()
        tr_s, tr_out = best_of(
            args.repeat, lambda h=history, t=now: growth_signals(h, GROWTH_CONFIG, t)
        )
        if not growth_signals(reordered, GROWTH_CONFIG, now).equals(tr_out):
            print(f"MISMATCH at {size} rows: traction formula depends on row order")
            return 2
        same, total = bit_identical(got, py_out)
        exact, compared = exact + same, compared + total
        results.append((size, pl_s, py_s))
        print(
            f"{size:>10,} {len(got):>8,} {read_s:>7.3f} {pl_s:>9.3f} {size / pl_s:>14,.0f} "
            f"{py_s:>9.3f} {py_runs:>4} {size / py_s:>14,.0f} {py_s / pl_s:>8.1f}x"
            f" {tr_s:>10.3f} {tr_s / pl_s:>6.1f}x"
        )
        largest = py_out
    print(
        f"results identical at every size: floats within {REL_TOL:g} relative "
        f"({exact:,} of {compared:,} bit for bit), and in any row order"
    )
    print(f"largest set: {coverage(largest)}")

    at_goal = [r for r in results if r[0] >= GOAL_ROWS]
    if not at_goal:
        print(f"goals: not measured (no size of at least {GOAL_ROWS:,} rows)")
        return 0
    size, pl_s, py_s = at_goal[0]
    fast, ahead = pl_s < GOAL_SECONDS, py_s / pl_s >= GOAL_SPEEDUP
    verdict = "both goals hold" if fast and ahead else "goals NOT met"
    print(
        f"goals at {size:,} rows: polars {pl_s:.2f} s (< {GOAL_SECONDS:g} s: "
        f"{'yes' if fast else 'NO'}), {py_s / pl_s:.1f}x pure Python "
        f"(>= {GOAL_SPEEDUP:g}x: {'yes' if ahead else 'NO'}) -> {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
