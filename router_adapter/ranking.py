"""Choosing among a group's healthy deployments: shared by the SDK strategy and the proxy.

Traffic policies:
- `winner`: everything to the best-scored healthy deployment. With hysteresis, the
  current winner keeps its place until a rival beats it by more than `hysteresis`
  score points, so small score changes do not move traffic (and do not throw away a
  provider's warm prompt cache).
- `weighted`: spread over the `top_k` best-scored healthy deployments, in proportion
  to score (scores shifted so the lowest of the k weighs `WEIGHT_FLOOR` of the range).

Anything doubtful (no snapshot, unreadable, invalid, stale, nothing in the group
matched, a bug) serves the first healthy deployment in configured order, records why
in the request's metadata, and counts it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from .matching import match_deployment
from .snapshot_file import ModelView, SnapshotView, is_stale

log = logging.getLogger("traction.adapter")

DEFAULT_MAX_AGE = 6 * 3600.0
WARN_EVERY = 60.0  # seconds between fallback warnings of the same kind
WEIGHT_FLOOR = 0.1
POLICIES = ("winner", "weighted")

_totals: Counter[str] = Counter()
_totals_lock = threading.Lock()


def stats() -> dict[str, int]:
    """Decisions since this process started, by reason, over every strategy and proxy
    filter (monotonic: a discarded Router does not take its counts with it)."""
    with _totals_lock:
        return dict(_totals)


def deployment_id(deployment: Mapping[str, Any]) -> str:
    return str((deployment.get("model_info") or {}).get("id"))


class Ranker:
    def __init__(
        self,
        source: Any,
        alias_map: Mapping[str, Any] | None = None,
        max_age: float | None = DEFAULT_MAX_AGE,
        policy: str = "winner",
        top_k: int = 3,
        hysteresis: float = 0.0,
        seed: int | None = None,
    ):
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}, not {policy!r}")
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, not {top_k}")
        if hysteresis < 0:
            raise ValueError(f"hysteresis must be >= 0, not {hysteresis}")
        self.source = source
        self.alias_map = dict(alias_map or {})
        self.max_age = max_age
        self.policy = policy
        self.top_k = top_k
        self.hysteresis = hysteresis
        self.counters: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._winners: dict[str, str] = {}  # group -> current winner's deployment id
        self._lock = threading.Lock()
        self._warned: dict[str, float] = {}

    def choose(self, group: str, healthy: list[dict], request_kwargs: dict | None) -> dict:
        """One of `healthy` (never anything else), and the reason recorded."""
        try:
            view, problem = self.source.current()
            if view is None:
                return self._fallback(healthy, problem or "missing", request_kwargs, None)
            if is_stale(view, self.max_age):
                return self._fallback(healthy, "stale", request_kwargs, view)
            scored = []
            for index, deployment in enumerate(healthy):
                hit = self._match(deployment, view)
                scored.append((deployment, index, hit))
            if not any(hit for _, _, hit in scored):
                return self._fallback(healthy, "no-match", request_kwargs, view)
            chosen = self._apply_policy(group, scored)
            self._record("fresh", request_kwargs, view, chosen)
            return chosen
        except Exception:  # a bug here must cost ranking, never the request
            log.exception("traction: ranking failed; serving the first healthy deployment")
            return self._fallback(healthy, "error", request_kwargs, None)

    def _apply_policy(self, group: str, scored: list[tuple[dict, int, ModelView | None]]) -> dict:
        # Unmatched deployments count as neutral (0): the snapshot has no evidence on them.
        ordered = sorted(scored, key=lambda s: (-(s[2].score if s[2] else 0.0), s[1]))
        if self.policy == "weighted":
            top = ordered[: self.top_k]
            scores = [t[2].score if t[2] else 0.0 for t in top]
            low, high = min(scores), max(scores)
            spread = high - low
            weights = [
                (s - low) / spread * (1 - WEIGHT_FLOOR) + WEIGHT_FLOOR if spread else 1.0
                for s in scores
            ]
            return self._random.choices([t[0] for t in top], weights=weights)[0]
        best, _, best_hit = ordered[0]
        if self.hysteresis:
            with self._lock:
                current = self._winners.get(group)
                incumbent = next((s for s in scored if deployment_id(s[0]) == current), None)
                if incumbent is not None and incumbent[0] is not best:
                    incumbent_score = incumbent[2].score if incumbent[2] else 0.0
                    best_score = best_hit.score if best_hit else 0.0
                    if best_score - incumbent_score <= self.hysteresis:
                        return incumbent[0]  # not enough better to move the traffic
                self._winners[group] = deployment_id(best)
        return best

    def _match(self, deployment: dict, view: SnapshotView) -> ModelView | None:
        cache_key = deployment_id(deployment)
        if cache_key in view.match_cache:
            key = view.match_cache[cache_key]
            return None if key is None else view.by_alias[key]
        hit = match_deployment(deployment, view, self.alias_map)
        view.match_cache[cache_key] = None if hit is None else hit.key
        return hit

    def _fallback(
        self, healthy: list[dict], reason: str, request_kwargs: dict | None, view: Any
    ) -> dict:
        now = time.monotonic()
        kind = reason.split(":", 1)[0]
        if now - self._warned.get(kind, float("-inf")) >= WARN_EVERY:
            self._warned[kind] = now
            log.warning(
                "traction: snapshot %s (%s); routing by deployment order",
                reason,
                getattr(self.source, "location", "?"),
            )
        self._record(kind, request_kwargs, view, healthy[0], detail=reason)
        return healthy[0]

    def _record(
        self,
        reason: str,
        request_kwargs: dict | None,
        view: SnapshotView | None,
        chosen: dict,
        detail: str | None = None,
    ) -> None:
        with self._lock:
            self.counters[reason] += 1
        with _totals_lock:
            _totals[reason] += 1
        if request_kwargs is None:
            return
        try:
            # LiteLLM passes `metadata` (SDK) or `litellm_metadata`; logging callbacks
            # read the former, so that is where the decision goes.
            metadata = request_kwargs.setdefault("metadata", {})
            if isinstance(metadata, dict):
                metadata["traction"] = {
                    "decision": reason,
                    "detail": detail,
                    "policy": self.policy,
                    "snapshot_version": view.version if view else None,
                    "snapshot_age_s": round(view.age_seconds(), 1) if view else None,
                    "deployment_id": deployment_id(chosen),
                }
        except Exception:  # metadata is best effort
            pass
