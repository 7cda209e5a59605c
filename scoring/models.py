"""From signals and prices to one scored entry per model (the formula is in formula.py).

Each entry keeps every term that made its score, so a rank can always be explained.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from schemas.config import ScoringConfig
from schemas.identity import variant

from . import formula
from .identity import Identity

# Variants kept apart from the cheapest-price pick on purpose: `:free` is rate-limited
# to a few requests a minute and `:batch` is asynchronous; neither serves live traffic.
NOT_FOR_LIVE_TRAFFIC = {"free", "batch"}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _decimal_str(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def cheapest(quotes: list[dict], ratio: float) -> dict | None:
    """The live-traffic quote with the lowest blended price, or None."""
    usable = [
        q
        for q in quotes
        if q["prompt"] is not None
        and q["completion"] is not None
        and variant(q["model_id"]) not in NOT_FOR_LIVE_TRAFFIC
    ]
    if not usable:
        return None
    return min(
        usable,
        key=lambda q: (
            formula.blended(float(q["prompt"]), float(q["completion"]), ratio),
            q["source"],
            q["provider"],
        ),
    )


def score_models(
    signals: list[dict],
    prices: list[tuple],
    identity: Identity,
    config: ScoringConfig,
    now: datetime,
) -> list[dict]:
    """Ranked model entries (dicts in the snapshot's `ModelScore` shape, plus `rank`)."""
    now = _aware(now)
    models: dict[str, dict[str, Any]] = {}

    def entry(key: str) -> dict:
        return models.setdefault(key, {"key": key, "components": [], "quotes": []})

    for row in signals:
        key = identity.resolve(row["source"], row["model_id"]) or row["model_id"].lower()
        max_age = config.signal_max_age_by_source.get(row["source"], config.signal_max_age)
        age = (now - _aware(row["last_observed_at"])).total_seconds()
        component = dict(row)
        component["age_seconds"] = round(age, 1)
        component["decay"] = round(formula.decay(age, config.signal_half_life, max_age), 9)
        entry(key)["components"].append(component)

    for source, model_id, provider, prompt, completion in prices:
        key = identity.resolve(source, model_id)
        if key is None:  # a price for a model no primary source lists: nothing to rank
            continue
        entry(key)["quotes"].append(
            {
                "source": source,
                "model_id": model_id,
                "provider": provider,
                "prompt": prompt,
                "completion": completion,
            }
        )

    aliases = identity.aliases  # one pass over every name, not one per model
    scored = []
    for key, model in models.items():
        comps = model["components"]
        total = sum(c["weight"] for c in comps)
        directions: dict[str, float] = {}
        for c in comps:
            directions[c["source"]] = directions.get(c["source"], 0.0) + (
                c["weight"] * c["decay"] * c["confidence_weight"] * formula.direction(c["trend"])
            )
        agree = formula.agreement(directions)
        momentum = (
            agree * sum(c["weight"] * c["decay"] * c["score"] for c in comps) / total
            if total
            else 0.0
        )
        confidence = (
            agree * sum(c["weight"] * c["decay"] * c["confidence_weight"] for c in comps) / total
            if total
            else 0.0
        )
        best = cheapest(model["quotes"], config.input_output_ratio)
        blend = (
            formula.blended(
                float(best["prompt"]), float(best["completion"]), config.input_output_ratio
            )
            if best
            else None
        )
        cost = formula.cost_points(blend, config.cost_reference_usd_per_mtok)
        score = formula.policy_score(
            config.policy, momentum, cost, config.balanced.momentum, config.balanced.cost
        )
        lead = max(
            comps, key=lambda c: (c["weight"] * c["decay"], c["confidence_weight"]), default=None
        )
        scored.append(
            {
                "key": key,
                "aliases": sorted(aliases.get(key, set())),
                "score": round(score, 9),
                "momentum_score": round(momentum, 9),
                "cost_points": round(cost, 9),
                "blended_usd_per_mtok": None if blend is None else round(blend, 9),
                "cheapest": None
                if best is None
                else {
                    "source": best["source"],
                    "model_id": best["model_id"],
                    "provider": best["provider"],
                },
                "agreement": round(agree, 9),
                "confidence_weight": round(confidence, 9),
                "confidence": formula.confidence_label(confidence),
                "trend": lead["trend"] if lead else "insufficient_history",
                "components": [_component(c) for c in comps],
                "prices": [
                    {
                        "source": q["source"],
                        "model_id": q["model_id"],
                        "provider": q["provider"],
                        "prompt_usd_per_mtok": None
                        if q["prompt"] is None
                        else _decimal_str(q["prompt"]),
                        "completion_usd_per_mtok": None
                        if q["completion"] is None
                        else _decimal_str(q["completion"]),
                    }
                    for q in model["quotes"]
                ],
            }
        )
    scored.sort(key=lambda m: (-m["score"], m["key"]))
    for rank, model in enumerate(scored, start=1):
        model["rank"] = rank
    return scored


COMPONENT_FIELDS = (
    "source",
    "metric",
    "value",
    "velocity",
    "delta_pct",
    "raw_delta_pct",
    "spike",
    "trend",
    "trend_points",
    "momentum",
    "confidence",
    "confidence_weight",
    "history_days",
    "weight",
    "age_seconds",
    "decay",
    "score",
)


def _component(row: dict) -> dict:
    out = {k: row[k] for k in COMPONENT_FIELDS}
    for k in ("value", "velocity", "delta_pct", "raw_delta_pct", "momentum", "score"):
        if out[k] is not None:
            out[k] = round(out[k], 9)
    out["spike"] = bool(out["spike"])
    return out
