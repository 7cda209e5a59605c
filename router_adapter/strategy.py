"""The LiteLLM SDK strategy: LiteLLM picks the healthy deployments, traction orders them.

A custom strategy replaces LiteLLM's whole selection step, cooldown filtering
included, so this one always asks LiteLLM for the healthy list first (1.106:
`async_get_healthy_deployments`; 1.109: `select(kind="healthy")`) and only ever
returns one of those dicts. LiteLLM's own errors (unknown group, everything cooling
down) propagate unchanged so its retries and fallbacks work; traction's own
failures never do: they fall back to the first healthy deployment.

`Router.update_settings(routing_strategy=...)` (which the proxy applies from its
database) deletes a custom strategy; `register` wraps it so the strategy is put back.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from .ranking import DEFAULT_MAX_AGE, Ranker, stats
from .snapshot_source import DEFAULTS
from .transports import open_source

log = logging.getLogger("traction.adapter")

__all__ = ["TractionStrategy", "register", "stats", "DEFAULT_MAX_AGE"]


# The parameters after `model` of LiteLLM's CustomRoutingStrategyBase entry points, in
# order, with their defaults (written out once, on the async one).
SYNC_PARAMETERS = ("messages", "input", "specific_deployment", "request_kwargs")
SYNC_DEFAULTS = (None, None, False, None)


class TractionStrategy:
    """Duck-typed `CustomRoutingStrategyBase` (LiteLLM only looks up the two methods)."""

    def __init__(self, router: Any, ranker: Ranker):
        self.router = router
        self.ranker = ranker

    @property
    def reader(self) -> Any:
        return self.ranker.source

    @property
    def counters(self):
        return self.ranker.counters

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
        if isinstance(healthy, dict):  # a specific deployment was asked for
            return healthy
        return self.ranker.choose(model, healthy, kw)  # (inlined `choose`: the hot path)

    def get_available_deployment(self, model: str, *args: Any, **kwargs: Any) -> dict:
        """LiteLLM's sync entry point: the same parameters as the async one (LiteLLM passes
        them by keyword; positional ones are taken in its order)."""
        if len(args) > len(SYNC_PARAMETERS):
            raise TypeError(
                f"get_available_deployment takes at most {len(SYNC_PARAMETERS) + 1}"
                f" positional arguments ({len(args) + 1} given)"
            )
        call = dict(zip(SYNC_PARAMETERS, SYNC_DEFAULTS, strict=True))
        call.update(zip(SYNC_PARAMETERS, args, strict=False))
        call.update(kwargs)
        kw = call["request_kwargs"]
        kw = {} if kw is None else kw
        healthy = self._sync_healthy(
            model, call["messages"], call["input"], call["specific_deployment"], kw
        )
        if healthy is None:  # no sync healthy-list API here: let LiteLLM choose as it would
            return type(self.router).get_available_deployment(self.router, model=model, **call)
        return self.choose(model, healthy, kw)

    def choose(self, model: str, healthy: list[dict] | dict, request_kwargs: dict) -> dict:
        if isinstance(healthy, dict):  # a specific deployment was asked for
            return healthy
        return self.ranker.choose(model, healthy, request_kwargs)

    # Sync healthy list -------------------------------------------------------------

    def _sync_healthy(self, model, messages, input, specific_deployment, kw):
        """The deployments LiteLLM's own sync selection would choose among.

        LiteLLM has no public sync healthy-list API, so this applies its own filters, in
        its order, from its private pieces where they exist (each is looked up, so a
        LiteLLM without one simply skips it): health checks, cooldowns, paused
        deployments, pre-call checks (context window, rate limits), `order` tiers, and
        the ids already tried by this request. Returns None, leaving the choice to
        LiteLLM unchanged (and its errors, when nothing is left), if the pieces are
        missing or nothing passes.
        """
        router = self.router
        common = getattr(router, "_common_checks_available_deployment", None)
        if common is None:
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
        healthy = _filter_like_litellm(router, group, list(deployments or []), messages, input, kw)
        if not healthy:
            return None
        for consumed in (
            "_target_order",
            "_excluded_deployment_ids",
            "_retry_skipped_deployment_ids",
        ):
            kw.pop(consumed, None)  # consumed here, as LiteLLM's own selection consumes them
        return healthy


class _Helpers(NamedTuple):
    order_filtered: Callable[..., list[dict]] | None
    excluded_filtered: Callable[..., list[dict]] | None
    cooldown_deployments: Callable[..., Any] | None


@functools.cache
def _litellm_helpers() -> _Helpers:
    """LiteLLM's helpers the sync path uses, looked up once (None where this LiteLLM has
    none): an import statement per request costs more than the rest of the ranking."""
    try:
        from litellm.utils import get_excluded_filtered_deployments, get_order_filtered_deployments
    except ImportError:
        get_excluded_filtered_deployments = get_order_filtered_deployments = None  # type: ignore[assignment]
    try:
        from litellm.router_utils.cooldown_handlers import get_cooldown_deployments
    except ImportError:
        get_cooldown_deployments = None  # type: ignore[assignment]
    return _Helpers(
        get_order_filtered_deployments,
        get_excluded_filtered_deployments,
        get_cooldown_deployments,
    )


def _filter_like_litellm(router, group, healthy, messages, input, kw) -> list[dict]:
    health = getattr(router, "_filter_health_check_unhealthy_deployments", None)
    if health is not None:
        healthy = health(healthy_deployments=healthy, parent_otel_span=None)
    cooling = _cooling_ids(router, group)
    if cooling is None:
        return []
    healthy = [d for d in healthy if (d.get("model_info") or {}).get("id") not in cooling]
    blocked = getattr(router, "_filter_blocked_deployments", None)
    if blocked is not None:
        healthy = blocked(healthy)
    pre_call = getattr(router, "_pre_call_checks", None)
    checks_apply = messages is not None or input is not None
    if healthy and pre_call and checks_apply and getattr(router, "enable_pre_call_checks", False):
        healthy = pre_call(
            model=group,
            healthy_deployments=healthy,
            messages=messages,
            input=input,
            request_kwargs=kw,
        )
    helpers = _litellm_helpers()
    if helpers.order_filtered is None or helpers.excluded_filtered is None:
        return healthy
    get_excluded_filtered_deployments = helpers.excluded_filtered
    healthy = helpers.order_filtered(healthy, target_order=kw.get("_target_order"))
    excluded = kw.get("_excluded_deployment_ids")
    if excluded:
        healthy = get_excluded_filtered_deployments(healthy, excluded_deployment_ids=excluded)
    skipped = kw.get("_retry_skipped_deployment_ids")
    if isinstance(skipped, tuple) and skipped:  # a preference: never empties the list
        ids = tuple(i for i in skipped if isinstance(i, str))
        healthy = get_excluded_filtered_deployments(healthy, excluded_deployment_ids=ids) or healthy
    return healthy


def _cooling_ids(router, group) -> set[str] | None:
    """Ids cooling down now, or None when this LiteLLM offers no way to know."""
    get_cooldown_deployments = _litellm_helpers().cooldown_deployments
    if get_cooldown_deployments is not None:
        return set(get_cooldown_deployments(litellm_router_instance=router, parent_otel_span=None))
    legacy = getattr(router, "_get_healthy_deployments", None)
    if legacy is None:
        return None
    result = legacy(group, None)
    if not isinstance(result, tuple):
        return None
    healthy, everything = result
    keep = {(d.get("model_info") or {}).get("id") for d in healthy}
    return {(d.get("model_info") or {}).get("id") for d in everything} - keep


def _install(router: Any, strategy: TractionStrategy) -> None:
    if hasattr(router, "register_plugin"):  # LiteLLM 1.109+
        router.register_plugin(strategy)
    else:
        router.set_custom_routing_strategy(strategy)


def register(
    router: Any,
    snapshot: str | os.PathLike[str] = DEFAULTS.snapshot,
    alias_map: Mapping[str, Any] | None = None,
    max_age: float | None = DEFAULTS.max_age,
    check_interval: float = DEFAULTS.check_interval,
    policy: str = DEFAULTS.policy,
    top_k: int = DEFAULTS.top_k,
    hysteresis: float = DEFAULTS.hysteresis,
    refresh_interval: float = DEFAULTS.refresh_interval,
    seed: int | None = None,
) -> TractionStrategy:
    """Install traction as `router`'s routing strategy and return it.

    `snapshot` is a file path, a `traction serve` URL, or a fleet's `redis://` URL (a
    background thread subscribes and polls every `refresh_interval` seconds; needs the
    `fleet` extra). With `TRACTION_SNAPSHOT_KEY` in the environment, unsigned or wrongly
    signed snapshots are refused. `max_age` (seconds) is a
    ceiling on snapshot age on top of the snapshot's own `stale_after` (`None` trusts
    `stale_after` alone). `policy` is `winner` or `weighted` (over the `top_k` best);
    `hysteresis` is the score margin a rival needs to take over from the current winner.
    """
    source = open_source(str(snapshot), check_interval, refresh_interval)
    ranker = Ranker(source, alias_map, max_age, policy, top_k, hysteresis, seed)
    strategy = TractionStrategy(router, ranker)
    _install(router, strategy)
    update_settings = getattr(router, "update_settings", None)
    if callable(update_settings) and not getattr(update_settings, "_traction", False):

        @functools.wraps(update_settings)
        def update_settings_and_reinstall(*args: Any, **kwargs: Any) -> Any:
            result = update_settings(*args, **kwargs)
            # A changed routing_strategy re-runs routing_strategy_init, which drops custom
            # strategies; installing again is idempotent, so always do it.
            _install(router, strategy)
            return result

        update_settings_and_reinstall._traction = True  # type: ignore[attr-defined]
        router.update_settings = update_settings_and_reinstall
    return strategy
