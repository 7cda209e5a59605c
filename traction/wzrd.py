"""The WZRD projection: the snapshot's scores in the retired WZRD momentum feed's contract
(`traction serve`'s `/v1/signals/momentum`).

How traction's model entries become WZRD records, and why:

- One record per snapshot model that has at least one signal component, in rank order.
  A model with no component (only prices) has no momentum to report, so it is left out
  rather than given an invented neutral score.
- `model` is the model's key: its Hugging Face repo id lowercased when any source links
  one (WZRD's own ids were Hugging Face style; every known consumer compares them
  case-insensitively). `trend` is the model's trend (that of its heaviest signal).
- The heaviest signal (largest weight x decay, then confidence weight: the one that gave
  the model its trend) supplies `score`/`momentum_score` (its momentum, the logistic of
  its mean daily delta: always in [0, 1]), `delta_pct` (null when it has no delta yet),
  `history_depth` (its days of history) and `platform` (its source, `openrouter_rankings`
  reported as WZRD's `openrouter`).
- `confidence` is the model's label (normal, low, insufficient). `action` follows the
  trend (surging -> pre_warm_urgent, accelerating -> pre_warm, stable -> maintain,
  decelerating -> watch, cooling -> consider_deprovision, else observe), except that an
  `insufficient` confidence is always `observe`, as WZRD documented ("observe-only; no
  proactive push").
- Both vintages at once: the vintage-C envelope and fields, plus vintage A's integer
  `signal_version` (2) and per-record `velocity_trend, momentum_score,
  velocity_delta_pct, history_confidence, routing_implication, history_depth`, because
  litellm-wzrd-momentum 0.1.0 rejects a payload without them. Its `velocity_delta_pct`
  must be a number (0.1.0 divides it), so a missing delta is sent there as 0.0, which
  adds nothing to its score; `delta_pct` stays null.
- Extra records for aliases. litellm-wzrd-momentum matches a deployment to a record by
  exact equality of its route (whole, without the provider, or the last segment) before
  falling back to substrings in either direction, first hit in payload order. So an
  alias that names this exact model in another catalogue (`together_ai/qwen/qwen3.5-9b`,
  the OpenRouter id `deepseek/deepseek-v3.2`, a dated slug) is published as its own
  record, turning what would be a substring guess into an exact match. Only aliases
  that contain the key's last path segment qualify: family and repository names
  (`openai/gpt-oss`, `qwenlm/qwen3.5`, `meta-llama/llama-models`) would hand the
  substring tier a short name that sibling models contain (`openai/gpt-oss-20b` would
  match `openai/gpt-oss-120b`'s scores). Alias records repeat their model's values, carry
  `alias_of` with the key, and come after every primary record, so a substring guess
  meets the primary ids first and `limit` cuts alias records before any model.
- Staleness: a snapshot past its `stale_after` is still served (the values are what
  traction computed), but every record says `confidence: insufficient` and `action:
  observe`, and its `reason` and the envelope's `provenance.stale` say why. WZRD's
  consumers weigh `insufficient` 0, so they fall back to deployment order, exactly as
  traction's own adapter does with a stale snapshot. Nothing else is rewritten.
- `generated_at` is the snapshot's (when the scores were computed, not when served);
  `provenance.root_seq` is the snapshot's version; `update_interval_secs` is advisory:
  how often a client may usefully poll (traction publishes on its own schedule).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs

from schemas.errors import TractionError
from schemas.snapshot import ModelScore, SignalComponent, Snapshot

WZRD_CONTRACT = "wzrd.momentum.v1"
WZRD_SIGNAL_VERSION = 2  # vintage A, as litellm-wzrd-momentum 0.1.0's fixture carried it
WZRD_MAX_LIMIT = 100
TRENDING = ("surging", "accelerating")
ACTIONS = {
    "surging": "pre_warm_urgent",
    "accelerating": "pre_warm",
    "stable": "maintain",
    "decelerating": "watch",
    "cooling": "consider_deprovision",
}
PLATFORMS = {"openrouter_rankings": "openrouter", "openrouter_endpoints": "openrouter"}


def iso(when: datetime) -> str:
    """`when` in UTC with a `Z`, as WZRD wrote times."""
    return when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def lead_component(model: ModelScore) -> SignalComponent | None:
    """The signal that gave the model its trend: the scorer's own choice (scoring/models.py)."""
    return max(
        model.components, key=lambda c: (c.weight * c.decay, c.confidence_weight), default=None
    )


def exact_aliases(model: ModelScore) -> list[str]:
    """Aliases that name this very model (they contain the key's last path segment).

    Family and repository names (`openai/gpt-oss` for `openai/gpt-oss-120b`) fail the
    test; published, they would let a client's substring matching give this model's
    scores to its siblings.
    """
    tail = model.key.rsplit("/", 1)[-1]
    return [a for a in model.aliases if a != model.key and tail in a]


def wzrd_record(model: ModelScore, snapshot: Snapshot, stale: bool) -> dict[str, Any] | None:
    """One model in both WZRD vintages' field names, or None when it has no signal."""
    lead = lead_component(model)
    if lead is None:
        return None
    confidence = "insufficient" if stale else model.confidence
    action = "observe" if confidence == "insufficient" else ACTIONS.get(model.trend, "observe")
    momentum = round(min(1.0, max(0.0, lead.momentum)), 6)
    delta = None if lead.delta_pct is None else round(lead.delta_pct, 4)
    platform = PLATFORMS.get(lead.source, lead.source)
    pace = "no delta yet" if delta is None else f"{delta:+.1f}%/day"
    reason = (
        f"{lead.source} {lead.metric}: {pace}, momentum {momentum:.2f} over "
        f"{lead.history_days} days; traction rank {model.rank} of {len(snapshot.models)}"
        f" in snapshot v{snapshot.version}"
    )
    if stale:
        reason = f"stale snapshot (past {iso(snapshot.stale_after)}), observe only; " + reason
    return {
        "model": model.key,
        "trend": model.trend,
        "score": momentum,
        "action": action,
        "confidence": confidence,
        "platform": platform,
        "reason": reason,
        "delta_pct": delta,
        "rank": model.rank,
        # vintage A (litellm-wzrd-momentum 0.1.0 requires the first four)
        "velocity_trend": model.trend,
        "momentum_score": momentum,
        "velocity_delta_pct": 0.0 if delta is None else delta,
        "history_confidence": confidence,
        "routing_implication": action,
        "history_depth": lead.history_days,
    }


def wzrd_payload(
    snapshot: Snapshot,
    now: datetime,
    limit: int = WZRD_MAX_LIMIT,
    trending: bool = False,
    platform: str | None = None,
    update_interval: int = 300,
) -> dict[str, Any]:
    """The `/v1/signals/momentum` body for a snapshot (see the module docstring)."""
    stale = snapshot.is_stale(now)
    primary: list[tuple[ModelScore, dict[str, Any]]] = []
    for model in snapshot.models:
        record = wzrd_record(model, snapshot, stale)
        if record is None:
            continue
        if trending and record["trend"] not in TRENDING:
            continue
        if platform is not None and record["platform"] != platform.lower():
            continue
        primary.append((model, record))
    records = [record for _, record in primary]
    for model, record in primary:
        for alias in exact_aliases(model):
            records.append({**record, "model": alias, "alias_of": model.key})
    records = records[:limit]
    return {
        "contract_version": WZRD_CONTRACT,
        "signal_version": WZRD_SIGNAL_VERSION,
        "generated_at": iso(snapshot.generated_at),
        "update_interval_secs": update_interval,
        "provenance": {
            "source": "traction",
            "root_seq": snapshot.version,
            "content_hash": snapshot.content_hash,
            "policy": snapshot.policy,
            "stale_after": iso(snapshot.stale_after),
            "stale": stale,
        },
        "count": len(records),
        "models": records,
    }


class BadRequest(TractionError, ValueError):
    """A query parameter the client got wrong (answered with 400, never a guess)."""


def wzrd_params(query: str) -> dict[str, Any]:
    """`limit`, `trending`, `platform` as WZRD documented them; other params are ignored."""
    params = parse_qs(query, keep_blank_values=True)
    found: dict[str, Any] = {}
    if "limit" in params:
        raw = params["limit"][-1]
        # ASCII digits only (str.isdigit also takes '²', which int() refuses), and no int()
        # of a long string: anything past the cap's digits is the cap.
        if not (raw.isascii() and raw.isdigit()) or not raw.lstrip("0"):
            shown = raw if len(raw) <= 20 else raw[:20] + "..."
            raise BadRequest(f"limit must be a positive integer, got {shown!r}")
        digits = raw.lstrip("0")
        too_long = len(digits) > len(str(WZRD_MAX_LIMIT))
        found["limit"] = WZRD_MAX_LIMIT if too_long else min(int(digits), WZRD_MAX_LIMIT)
    if "trending" in params:
        raw = params["trending"][-1].lower()
        if raw not in ("true", "1", "false", "0", ""):
            raise BadRequest(f"trending must be true or false, got {raw!r}")
        found["trending"] = raw in ("true", "1")
    if params.get("platform", [""])[-1]:
        found["platform"] = params["platform"][-1]
    return found
