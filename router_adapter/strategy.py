"""The LiteLLM SDK strategy: LiteLLM picks the healthy deployments, traction orders them.

A custom strategy replaces LiteLLM's whole selection step, cooldown filtering
included, so this one always asks LiteLLM for the healthy list first (1.106:
`async_get_healthy_deployments`; 1.109: `select(kind="healthy")`) and only ever
returns one of those dicts. LiteLLM's own errors (unknown group, everything cooling
down) propagate unchanged so its retries and fallbacks work; traction's own
failures never do: they fall back to the first healthy deployment.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections import Counter
from collections.abc import Mapping
from typing import Any

from .matching import match_deployment
from .snapshot_file import SnapshotReader, SnapshotView, is_stale

log = logging.getLogger("traction.adapter")

DEFAULT_MAX_AGE = 6 * 3600.0
WARN_EVERY = 60.0  # seconds between fallback warnings of the same kind

_instances: weakref.WeakSet[TractionStrategy] = weakref.WeakSet()


def stats() -> dict[str, int]:
    """Decision counters summed over every strategy in this process."""
    total: Counter[str] = Counter()
    for strategy in list(_instances):
        total.update(strategy.counters)
    return dict(total)


class TractionStrategy:
    """Duck-typed `CustomRoutingStrategyBase` (LiteLLM only looks up the two methods)."""

    def __init__(
        self,
        router: Any,
        snapshot: str | os.PathLike[str],
        alias_map: Mapping[str, Any] | None = None,
        max_age: float | None = DEFAULT_MAX_AGE,
        check_interval: float = 1.0,
    ):
        self.router = router
        self.reader = SnapshotReader(snapshot, check_interval=check_interval)
        self.alias_map = dict(alias_map or {})
        self.max_age = max_age
        self.counters: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._warned: dict[str, float] = {}
        _instances.add(self)

    # LiteLLM entry points -------------------------------------------------------------

    async def async_get_available_deployment(
        self,
        model: str,
        messages: list[dict[str, str]] | None = None,
        input: str | list | None = None,
        specific_deployment: bool | None = False,
        request_kwargs: dict | None = None,
    ) -> dict:
        kw = {} if request_kwargs is None else request_kwargs
        if hasattr(self.router, "select"):  # LiteLLM 1.109+
            healthy = await self.router.select(
                model,
                kw,
                kind="healthy",
                messages=messages,
                input=input,
                specific_deployment=specific_deployment,
            )
        else:
            healthy = await self.router.async_get_healthy_deployments(
                model=model,
                request_kwargs=kw,
                messages=messages,
                input=input,
                specific_deployment=specific_deployment,
            )
        return self.choose(model, healthy, kw)

    def get_available_deployment(
        self,
        model: str,
        messages: list[dict[str, str]] | None = None,
        input: str | list | None = None,
        specific_deployment: bool | None = False,
        request_kwargs: dict | None = None,
    ) -> dict:
        kw = {} if request_kwargs is None else request_kwargs
        healthy = self._sync_healthy(model, messages, input, specific_deployment, kw)
        if healthy is None:  # no sync healthy-list API here: let LiteLLM choose as it would
            return type(self.router).get_available_deployment(
                self.router,
                model=model,
                messages=messages,
                input=input,
                specific_deployment=specific_deployment,
                request_kwargs=request_kwargs,
            )
        return self.choose(model, healthy, kw)

    # Ranking -------------------------------------------------------------------------

    def choose(self, model: str, healthy: list[dict] | dict, request_kwargs: dict) -> dict:
        """The best healthy deployment by snapshot score; the first one when in doubt."""
        if isinstance(healthy, dict):  # a specific deployment was asked for
            return healthy
        try:
            view, problem = self.reader.current()
            if view is None:
                return self._fallback(healthy, problem or "missing", request_kwargs, None)
            if is_stale(view, self.max_age):
                return self._fallback(healthy, "stale", request_kwargs, view)
            best, best_score, matched = healthy[0], None, 0
            for deployment in healthy:
                hit = self._match(deployment, view)
                score = 0.0 if hit is None else hit.score
                matched += hit is not None
                if best_score is None or score > best_score:
                    best, best_score = deployment, score
            if not matched:
                return self._fallback(healthy, "no-match", request_kwargs, view)
            self._record("fresh", request_kwargs, view, best)
            return best
        except Exception:  # a bug here must cost ranking, never the request
            log.exception("traction: ranking failed; serving the first healthy deployment")
            return self._fallback(healthy, "error", request_kwargs, None)

    def _match(self, deployment: dict, view: SnapshotView):
        info = deployment.get("model_info") or {}
        cache_key = str(info.get("id"))
        if cache_key in view.match_cache:
            key = view.match_cache[cache_key]
            return None if key is None else view.by_alias[key]
        hit = match_deployment(deployment, view, self.alias_map)
        view.match_cache[cache_key] = None if hit is None else hit.key
        return hit

    def _fallback(
        self, healthy: list[dict], reason: str, request_kwargs: dict, view: SnapshotView | None
    ) -> dict:
        now = time.monotonic()
        kind = reason.split(":", 1)[0]
        if now - self._warned.get(kind, float("-inf")) >= WARN_EVERY:
            self._warned[kind] = now
            log.warning(
                "traction: snapshot %s (%s); routing by deployment order", kind, self.reader.path
            )
        self._record(kind, request_kwargs, view, healthy[0], detail=reason)
        return healthy[0]

    def _record(
        self,
        reason: str,
        request_kwargs: dict,
        view: SnapshotView | None,
        chosen: dict,
        detail: str | None = None,
    ) -> None:
        with self._lock:
            self.counters[reason] += 1
        try:
            metadata = request_kwargs.setdefault("metadata", {})
            if isinstance(metadata, dict):
                metadata["traction"] = {
                    "decision": reason,
                    "detail": detail,
                    "snapshot_version": view.version if view else None,
                    "snapshot_age_s": round(view.age_seconds(), 1) if view else None,
                    "deployment_id": (chosen.get("model_info") or {}).get("id"),
                }
        except Exception:  # metadata is best effort
            pass

    # Sync healthy list -------------------------------------------------------------

    def _sync_healthy(self, model, messages, input, specific_deployment, kw):
        """LiteLLM has no public sync healthy-list API; use its private pieces if present."""
        router = self.router
        common = getattr(router, "_common_checks_available_deployment", None)
        cooled = getattr(router, "_get_healthy_deployments", None)
        if common is None or cooled is None:
            return None
        group, deployments = common(
            model=model,
            messages=messages,
            input=input,
            specific_deployment=specific_deployment,
            request_kwargs=kw,
        )
        if isinstance(deployments, dict):
            return deployments
        result = cooled(group, None)
        healthy = result[0] if isinstance(result, tuple) else result
        if healthy:  # `order` tiers, as LiteLLM's own sync and async selection apply them
            try:
                from litellm.utils import get_order_filtered_deployments
            except ImportError:
                return healthy
            target = kw.get("_target_order")
            healthy = get_order_filtered_deployments(healthy, target_order=target)
            if healthy:
                kw.pop("_target_order", None)
        return healthy or None


def register(
    router: Any,
    snapshot: str | os.PathLike[str] = "traction-data/snapshot.json",
    alias_map: Mapping[str, Any] | None = None,
    max_age: float | None = DEFAULT_MAX_AGE,
    check_interval: float = 1.0,
) -> TractionStrategy:
    """Install traction as `router`'s routing strategy and return it.

    `max_age` (seconds) is a ceiling on snapshot age on top of the snapshot's own
    `stale_after`; `None` trusts `stale_after` alone.
    """
    strategy = TractionStrategy(router, snapshot, alias_map, max_age, check_interval)
    if hasattr(router, "register_plugin"):  # LiteLLM 1.109+
        router.register_plugin(strategy)
    else:
        router.set_custom_routing_strategy(strategy)
    return strategy
