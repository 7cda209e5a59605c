"""What the router believed, and why: `snapshot show`, `explain` and `resolve`."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import duckdb

import store
from schemas.config import TractionConfig
from schemas.identity import norm, route_candidates, strip_suffixes
from schemas.snapshot import ModelScore, Snapshot


def parse_time(text: str) -> datetime:
    """ISO 8601; a time without a zone is UTC. ValueError if it is not one."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def snapshot_at(con: duckdb.DuckDBPyConnection, at: datetime | None) -> Snapshot | None:
    """The snapshot that describes `at`: the latest with generated_at <= at (the newest
    version of equal ones), or without `at` the newest published.

    By generated_at, not published_at: a back-filled history (snapshots published today
    for past days) then answers "what would the router have believed at T", which is what
    an as-of view is for; by publish time every back-filled day would be invisible."""
    body = store.snapshot_body_at(con, at)
    return Snapshot.model_validate_json(body) if body is not None else None


def _table(models: list[ModelScore], top: int) -> list[str]:
    """The ranked rows `snapshot show` and `score` share, so both read the same way."""
    lines = [
        f"  {'#':>3} {'model':<48} {'score':>8} {'momentum':>9} {'cost':>6} "
        f"{'trend':<13} {'confidence':<12}",
    ]
    for m in models[:top]:
        lines.append(
            f"  {m.rank:>3} {m.key:<48} {m.score:>8.3f} {m.momentum_score:>9.3f} "
            f"{m.cost_points:>6.2f} {m.trend:<13} {m.confidence:<12}"
        )
    if len(models) > top:
        lines.append(f"  ... {len(models) - top} more (--top N, or --json)")
    return lines


def render_snapshot(snapshot: Snapshot, top: int = 20) -> str:
    lines = [
        f"snapshot v{snapshot.version} ({snapshot.contract_version}), policy {snapshot.policy}",
        f"generated {snapshot.generated_at.isoformat()}, stale after"
        f" {snapshot.stale_after.isoformat()}, {len(snapshot.models)} models",
        "sources: "
        + ", ".join(
            f"{name} {'STALE' if s.stale else 'fresh'}" for name, s in snapshot.sources.items()
        ),
        "",
    ]
    return "\n".join(lines + _table(snapshot.models, top))


def render_scores(as_of: datetime, policy: str, models: list[ModelScore], top: int = 20) -> str:
    """`traction score`: the ranking a publish at `as_of` would hold, marked as not
    published so nobody mistakes it for what routers were sent."""
    lines = [
        f"as of {as_of.isoformat()}, policy {policy}, {len(models)} models"
        " (scored now, not published)",
        "",
    ]
    return "\n".join(lines + _table(models, top))


def find_model(snapshot: Snapshot, name: str) -> ModelScore | None:
    """The snapshot's model for any of its names, a LiteLLM route included (same tiers as
    the adapter: exact, provider prefix removed, deployment suffix removed)."""
    index = {alias: m for m in snapshot.models for alias in (m.key, *m.aliases)}
    names = [norm(name)] + [norm(c) for c in route_candidates(name)]
    for tier in (names, [s for s in map(strip_suffixes, names) if s]):
        found = {index[n].key: index[n] for n in tier if n in index}
        if len(found) == 1:
            return next(iter(found.values()))
        if found:
            return None  # ambiguous
    return None


def render_explanation(snapshot: Snapshot, model: ModelScore) -> str:
    lines = [
        f"{model.key}: rank {model.rank} of {len(snapshot.models)} in snapshot v{snapshot.version}"
        f" (policy {snapshot.policy})",
        f"score {model.score:.4f} = "
        + {
            "momentum": "momentum score",
            "cost": "cost points",
            "balanced": "w_momentum x momentum score + w_cost x cost points",
        }[snapshot.policy],
        f"momentum score {model.momentum_score:.4f} (agreement x{model.agreement:.2f});"
        f" cost points {model.cost_points:.3f}"
        + (
            f" for ${model.blended_usd_per_mtok:.4f}/M blended via {model.cheapest.provider}"
            f" ({model.cheapest.source})"
            if model.cheapest and model.blended_usd_per_mtok is not None
            else " (no usable price)"
        ),
        f"confidence {model.confidence} ({model.confidence_weight:.2f}), trend {model.trend}",
        "",
        f"  {'source.metric':<34} {'value':>14} {'velocity':>9} {'delta%':>8} {'trend':<13}"
        f" {'mom.':>5} {'conf':<12} {'days':>4} {'age':>6} {'decay':>5} {'weight':>6}"
        f" {'score':>7}",
    ]
    for c in model.components:
        delta = "-" if c.delta_pct is None else f"{c.delta_pct:.1f}"
        if c.spike:
            delta += "*"
        velocity = "-" if c.velocity is None else f"{c.velocity:.3g}"
        lines.append(
            f"  {c.source + '.' + c.metric:<34} {c.value:>14.1f} {velocity:>9} {delta:>8}"
            f" {c.trend:<13} {c.momentum:>5.2f} {c.confidence:<12} {c.history_days:>4}"
            f" {c.age_seconds / 3600:>5.0f}h {c.decay:>5.2f} {c.weight:>6.2f} {c.score:>7.3f}"
        )
    lines.append(
        "  (traction formula: velocity = expected log growth per day, age term included;"
        " mom. = percentile among the source's models. wzrd formula: change per day, and"
        " the logistic of the mean daily delta)"
    )
    if any(c.spike for c in model.components):
        lines.append("  * a jump far outside the series' history, damped until confirmed")
    if model.prices:
        lines.append("")
        lines.append("  prices (USD per million tokens, prompt / completion):")
        for p in model.prices:
            lines.append(
                f"    {p.source:<22} {p.provider:<24} {p.model_id:<44} "
                f"{p.prompt_usd_per_mtok or 'varies'} / {p.completion_usd_per_mtok or 'varies'}"
            )
    if model.aliases:
        lines.append("")
        lines.append("  also known as: " + ", ".join(model.aliases))
    return "\n".join(lines)


def resolve(con: duckdb.DuckDBPyConnection, config: TractionConfig, text: str) -> dict[str, Any]:
    from scoring.snapshot import load_identity

    found = load_identity(con, config).lookup(text)
    return {
        "query": found.query,
        "key": found.key,
        "evidence": found.evidence,
        "candidates": found.candidates,
    }


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)
