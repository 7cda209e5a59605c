"""`traction backtest`: would the ranking have routed traffic well, day by day?

For every day in the stored history, it scores what was known by the end of that day
through the same code publishing runs (`scoring.snapshot.score_at`, the clock injected)
and measures the ranking against what happened over the next `horizon` days
(`scoring.evaluation`), beside one-line baselines computed from the same daily values.
Each horizon's days are also reported in two halves, earlier and later, so that a
choice that only fits one week's noise shows. It reads the database only, so it runs on
any operator's history after a few weeks of running, while the worker keeps going
(against the analytics copy, or a copy of the file).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

import store
from schemas.config import TractionConfig
from schemas.errors import TractionError
from schemas.identity import match_deployment, norm, read_model_list
from scoring import evaluation as ev
from scoring.identity import PRIMARY_SOURCES, Identity
from scoring.signals import weighted_pairs
from scoring.snapshot import load_identity, score_at

FORMULA_NAMES = {"traction": "traction", "wzrd": "traction (wzrd formula)"}


class BacktestError(TractionError, ValueError):
    """The backtest cannot run on this input (said in one line, exit 2 or 1)."""


@dataclass
class Options:
    horizons: list[int] = field(default_factory=lambda: [7])
    since: date | None = None
    until: date | None = None
    top: int = 20
    turnover_top: int = 10
    lookback: int = 7
    formulas: list[str] = field(default_factory=lambda: ["traction", "wzrd"])
    breakout_metric: str = "huggingface.downloads"
    breakout_threshold: float = 10_000.0
    model_list: list[dict[str, Any]] | None = None
    seed: int = 0


def end_of(day: date) -> datetime:
    """The as-of time of a day: its last microsecond, UTC (every capture of it is known)."""
    return datetime.combine(day, time.max, tzinfo=timezone.utc)


def load_daily(
    con: duckdb.DuckDBPyConnection, config: TractionConfig
) -> tuple[pl.DataFrame, dict[str, str]]:
    """(key, metric, day, value): each weighted series' last value of each day, keyed by
    the model key the snapshot uses; metric is `source.metric`. Plus, per key, an id."""
    pairs = [(s, m) for s, m, _ in weighted_pairs(config.scoring.metric_weights)]
    if not pairs:
        raise BacktestError("no weighted metrics (scoring.metric_weights): nothing to measure")
    raw = pl.DataFrame(store.daily_values(con, pairs))
    if raw.is_empty():
        raise BacktestError("no observations of a weighted metric: ingest for a few weeks first")
    # who is who as of the history's end (not the wall clock: a replayed history may end
    # long ago, and ids count as present only near the time asked about)
    identity = load_identity(con, config, now=end_of(raw["day"].max()))
    ids = raw.select("source", "model_id").unique()
    keys = ids.with_columns(
        key=pl.struct("source", "model_id").map_elements(
            lambda r: _key(identity, r["source"], r["model_id"]), return_dtype=pl.String
        )
    )
    daily = (
        raw.join(keys, on=["source", "model_id"])
        .group_by("key", "source", "metric", "day")
        .agg(pl.col("value").max())
        .select(
            "key",
            metric=pl.col("source") + "." + pl.col("metric"),
            day=pl.col("day").cast(pl.Date),
            value=pl.col("value").cast(pl.Float64),
        )
        .sort("key", "metric", "day")
    )
    names = dict(zip(keys["key"].to_list(), keys["model_id"].to_list(), strict=True))
    return daily, names


def _key(identity: Identity, source: str, model_id: str) -> str:
    """The model key of a series. A primary source's id that identity no longer holds (it
    left the source's list) names a model of its own: never fold it onto another by
    normalisation (`Qwen/X-AWQ` is not `Qwen/X`)."""
    known = identity.key_of.get((source, model_id))
    if known:
        return known
    if source in PRIMARY_SOURCES:
        return norm(model_id)
    return identity.key(source, model_id)


def _formula_scores(
    con: duckdb.DuckDBPyConnection, config: TractionConfig, formula: str, day: date
) -> tuple[pl.DataFrame, dict[str, str]]:
    """(key, score) as a publish at the end of `day` would rank, and alias -> key."""
    scoring = config.scoring.model_copy(update={"formula": formula})
    models = score_at(con, config.model_copy(update={"scoring": scoring}), end_of(day))
    aliases = {}
    for m in models:
        for alias in (m["key"], *m["aliases"]):
            aliases[alias.lower()] = m["key"]
    frame = pl.DataFrame(
        {"key": [m["key"] for m in models], "score": [float(m["score"]) for m in models]},
        schema={"key": pl.String, "score": pl.Float64},
    )
    return frame, aliases


def _halves(days: list[date]) -> dict[str, list[date]]:
    half = len(days) // 2
    return {"all": days, "first half": days[:half], "second half": days[half:]}


def _summary(per_day: dict[date, dict[str, float]], days: list[date]) -> dict[str, Any]:
    measures = sorted({k for d in days for k in per_day.get(d, {})})
    return {
        "days": len(days),
        "from": days[0].isoformat() if days else None,
        "to": days[-1].isoformat() if days else None,
        **{m: ev.mean([per_day[d].get(m) for d in days if d in per_day]) for m in measures},
    }


def _group_choices(
    model_list: list[dict[str, Any]], aliases: dict[str, str]
) -> dict[str, list[tuple[int, str]]]:
    """group -> [(deployment index, model key)] for deployments that match a model."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for index, deployment in enumerate(model_list):
        name = deployment.get("model_name")
        if not isinstance(name, str):
            continue
        key = match_deployment(deployment, aliases)
        groups.setdefault(name, [])
        if key is not None:
            groups[name].append((index, key))
    return groups


def _group_hits(
    groups: dict[str, list[tuple[int, str]]],
    rankings: dict[str, pl.DataFrame],
    outcome: pl.DataFrame,
) -> dict[str, list[float]]:
    """Per ranking, per group with two or more distinct matched models that the outcome
    knows: 1 if the deployment it ranks first serves the model that gained most."""
    composite = dict(
        outcome.filter(pl.col("metric") == ev.COMPOSITE).select("key", "growth").iter_rows()
    )
    hits: dict[str, list[float]] = {}
    for members in groups.values():
        known = [(i, k) for i, k in members if k in composite]
        if len({k for _, k in known}) < 2:
            continue
        best = max(composite[k] for _, k in known)
        winners = {k for _, k in known if composite[k] == best}
        for name, scores in [*rankings.items(), ("deployment order", None)]:
            if scores is None:
                chosen = known[0][1]
            else:
                lookup = dict(scores.select("key", "score").iter_rows())
                # The adapter's rule: highest score, unknown = 0, ties keep deployment order.
                chosen = max(known, key=lambda ik: (lookup.get(ik[1], 0.0), -ik[0]))[1]
            hits.setdefault(name, []).append(1.0 if chosen in winners else 0.0)
    return hits


def run(con: duckdb.DuckDBPyConnection, config: TractionConfig, options: Options) -> dict:
    """Every measure, per horizon, per ranking, for all days and each half (a dict that
    `--json` prints as it is and `render` turns into tables)."""
    daily, _ = load_daily(con, config)
    all_days = sorted(daily["day"].unique().to_list())
    days = [
        d
        for d in all_days
        if (options.since is None or d >= options.since)
        and (options.until is None or d <= options.until)
    ]
    if len(days) < 2:
        raise BacktestError(
            f"{len(days)} day(s) of history in range; the backtest needs at least two"
        )
    metrics = sorted(daily["metric"].unique().to_list())
    rankings_by_day: dict[date, dict[str, pl.DataFrame]] = {}
    aliases_by_day: dict[date, dict[str, str]] = {}
    for day in days:
        ranked: dict[str, pl.DataFrame] = {}
        for formula in options.formulas:
            ranked[FORMULA_NAMES[formula]], aliases = _formula_scores(con, config, formula, day)
            aliases_by_day.setdefault(day, aliases)
        ranked.update(ev.baselines(daily, day, metrics, options.lookback, options.seed))
        rankings_by_day[day] = ranked
    names = list(rankings_by_day[days[0]])

    result: dict[str, Any] = {
        "history": {"from": all_days[0].isoformat(), "to": all_days[-1].isoformat()},
        "metrics": metrics,
        "rankings": names,
        "top": options.top,
        "turnover_top": options.turnover_top,
        "horizons": {},
    }
    last = all_days[-1]
    for horizon in options.horizons:
        scored_days = [d for d in days if d + timedelta(days=horizon) <= last]
        per_day: dict[str, dict[date, dict[str, float]]] = {n: {} for n in names}
        group_hits: dict[str, dict[date, float]] = {}
        for day in scored_days:
            outcome = ev.with_composite(ev.realized(daily, day, horizon))
            if outcome.is_empty():
                continue
            for name, scores in rankings_by_day[day].items():
                per_day[name][day] = ev.day_measures(scores, outcome, options.top)
            if options.model_list:
                groups = _group_choices(options.model_list, aliases_by_day[day])
                for name, hits in _group_hits(groups, rankings_by_day[day], outcome).items():
                    group_hits.setdefault(name, {})[day] = sum(hits) / len(hits)
        evaluated = [d for d in scored_days if d in per_day[names[0]]]
        parts = _halves(evaluated)
        result["horizons"][str(horizon)] = {
            "days": [d.isoformat() for d in evaluated],
            "rankings": {
                name: {part: _summary(per_day[name], ds) for part, ds in parts.items()}
                for name in names
            },
            "group_hit_rate": {
                name: {part: ev.mean([by_day.get(d) for d in ds]) for part, ds in parts.items()}
                for name, by_day in group_hits.items()
            },
            "per_day": {
                name: {d.isoformat(): m for d, m in per_day[name].items()} for name in names
            },
        }

    turnover: dict[str, dict[str, float | None]] = {}
    tops: dict[str, dict[date, list[str]]] = {}
    for name in names:
        previous = None
        series: dict[str, float | None] = {}
        for day in days:
            current = ev.top(rankings_by_day[day][name], options.turnover_top)
            series[day.isoformat()] = ev.turnover(previous, current)
            previous = current
            tops.setdefault(name, {})[day] = ev.top(rankings_by_day[day][name], options.top)
        turnover[name] = series
    result["turnover"] = {
        name: {
            "mean": ev.mean([v for v in series.values() if v is not None]),
            "per_day": series,
        }
        for name, series in turnover.items()
    }
    first_seen = daily.group_by("key").agg(pl.col("day").min())
    new_keys = set(first_seen.filter(pl.col("day") > all_days[0])["key"].to_list())
    found = [
        b
        for b in ev.breakouts(
            daily, options.breakout_metric, options.breakout_threshold, days[0], days[-1]
        )
        if b.key in new_keys
    ]
    result["breakouts"] = {
        "metric": options.breakout_metric,
        "threshold": options.breakout_threshold,
        "events": [
            {
                "key": b.key,
                "day": b.day.isoformat(),
                "value": b.value,
                "latency_days": {name: ev.latency(b, tops[name]) for name in names},
            }
            for b in found
        ],
        "mean_latency_days": {name: _mean_latency(found, tops[name], days[-1]) for name in names},
    }
    return result


def _mean_latency(found: Iterable[ev.Breakout], tops: dict[date, list[str]], last: date):
    """Mean days to the top; a breakout never reached counts as the days it was watched
    (a lower bound), so a ranking cannot improve its mean by missing breakouts."""
    values = []
    for b in found:
        got = ev.latency(b, tops)
        values.append(float(got) if got is not None else float((last - b.day).days + 1))
    return ev.mean(values)


# Rendering --------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def render(result: dict) -> str:
    """Terminal tables: per horizon, each ranking's composite Spearman and precision@N on
    all days and on each half; then turnover, breakout latency and group hit rates."""
    top = result["top"]
    lines = [
        f"backtest over {result['history']['from']} .. {result['history']['to']}"
        f" (metrics: {', '.join(result['metrics'])})",
        "outcome: mean percentile rank of each model's log growth over the metrics it has;"
        f" precision@{top}: share of the ranking's top {top} among the outcome's top {top}",
    ]
    width = max(len(n) for n in result["rankings"]) + 2
    for horizon, block in result["horizons"].items():
        days = block["days"]
        if not days:
            lines += ["", f"horizon {horizon} days: no day has {horizon} days of future yet"]
            continue
        half = len(days) // 2
        lines += [
            "",
            f"horizon {horizon} days: {len(days)} as-of days {days[0]} .. {days[-1]}"
            f" (first half to {days[half - 1] if half else '-'}, second from {days[half]})",
            f"  {'ranking':<{width}} {'Spearman':>8} {'1st':>7} {'2nd':>7}"
            f"   {'P@' + str(top):>6} {'1st':>6} {'2nd':>6}",
        ]
        for name, parts in block["rankings"].items():
            rho = [parts[p].get("spearman.composite") for p in ("all", "first half", "second half")]
            prec = [
                parts[p].get("precision.composite") for p in ("all", "first half", "second half")
            ]
            lines.append(
                f"  {name:<{width}} {_fmt(rho[0]):>8} {_fmt(rho[1]):>7} {_fmt(rho[2]):>7}"
                f"   {_fmt(prec[0], 2):>6} {_fmt(prec[1], 2):>6} {_fmt(prec[2], 2):>6}"
            )
        if block["group_hit_rate"]:
            lines.append("  model groups: share of days the top deployment gained most")
            for name, parts in block["group_hit_rate"].items():
                lines.append(
                    f"  {name:<{width}} {_fmt(parts['all'], 2):>8}"
                    f" {_fmt(parts['first half'], 2):>7} {_fmt(parts['second half'], 2):>7}"
                )
    breakouts = result["breakouts"]
    events = breakouts["events"]
    lines += [
        "",
        f"stability and breakouts (every day): top-{result['turnover_top']} models new each"
        f" day; days from a new model first reaching {breakouts['threshold']:,.0f}"
        f" {breakouts['metric']} to the top {top} ({len(events)} breakouts"
        + (": " + ", ".join(f"{e['key']} {e['day']}" for e in events) if events else "")
        + ")",
        f"  {'ranking':<{width}} {'turnover/day':>12} {'latency':>8}",
    ]
    for name in result["rankings"]:
        lines.append(
            f"  {name:<{width}} {_fmt(result['turnover'][name]['mean'], 2):>12}"
            f" {_fmt(breakouts['mean_latency_days'][name], 1):>8}"
        )
    return "\n".join(lines)


def load_model_list(path: Path) -> list[dict[str, Any]]:
    """The `model_list` of a LiteLLM config.yaml (or a bare list): `schemas.identity`'s
    reader, as the worker's snapshot scope reads it."""
    try:
        return read_model_list(path)
    except ValueError as exc:
        raise BacktestError(f"--model-list {path}: {exc}") from None
