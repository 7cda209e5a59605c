"""The LiteLLM proxy integration: a `CustomLogger` whose `async_filter_deployments` narrows
a group's healthy deployments to the one traction ranks first.

LiteLLM's proxy has no supported custom routing strategy, but it runs every callback's
`async_filter_deployments` after its own health and cooldown filtering. This filter never
returns an empty list and never raises: when the snapshot cannot be trusted it returns
the first healthy deployment (deployment order), and when its own configuration is
broken it steps aside and returns the list unchanged.

`config.yaml`:

    litellm_settings:
      callbacks: router_adapter.proxy.proxy_handler_instance

Configured by environment variables (the `[adapter]` section of traction's config, the
same names the worker reads):

    TRACTION_ADAPTER__SNAPSHOT          file path, traction serve URL or fleet redis://
                                        URL (default traction-data/snapshot.json)
    TRACTION_ADAPTER__MAX_AGE           seconds (default 21600)
    TRACTION_ADAPTER__POLICY            winner | weighted (default winner)
    TRACTION_ADAPTER__TOP_K             for weighted (default 3)
    TRACTION_ADAPTER__HYSTERESIS        score margin to change the winner (default 0)
    TRACTION_ADAPTER__CHECK_INTERVAL    seconds between file checks (default 1)
    TRACTION_ADAPTER__REFRESH_INTERVAL  seconds between URL polls (default 30)
    TRACTION_ADAPTER__ALIAS_MAP         JSON object: group or deployment id -> model ids
    TRACTION_SNAPSHOT_KEY               refuse snapshots not signed with this key
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from litellm.integrations.custom_logger import CustomLogger
from pydantic import ValidationError

from schemas.config import AdapterConfig

from .ranking import Ranker
from .transports import open_source

log = logging.getLogger("traction.adapter")

ENV_PREFIX = "TRACTION_ADAPTER__"


def config_from_env(environ: Mapping[str, str] | None = None) -> AdapterConfig:
    """The adapter section from the environment; a ValueError names the variable at fault."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, raw in environ.items():
        if name.startswith(ENV_PREFIX):
            key = name[len(ENV_PREFIX) :].lower()
            try:
                values[key] = json.loads(raw) if key == "alias_map" else raw
            except json.JSONDecodeError as exc:
                raise ValueError(f"{name}: not a JSON object ({exc.msg})") from None
    try:
        return AdapterConfig.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{ENV_PREFIX}{key.upper()}: {first['msg']}") from None


class TractionFilter(CustomLogger):
    def __init__(self, config: AdapterConfig | None = None, ranker: Ranker | None = None):
        super().__init__()
        self.problem: str | None = None
        self.ranker = ranker
        if ranker is None:
            try:
                config = config or config_from_env()
                source = open_source(
                    config.snapshot, config.check_interval, config.refresh_interval
                )
                self.ranker = Ranker(
                    source,
                    config.alias_map,
                    config.max_age,
                    config.policy,
                    config.top_k,
                    config.hysteresis,
                )
            except ValueError as exc:  # routing steps aside; the proxy keeps serving
                self.problem = str(exc)
                log.error("traction: adapter disabled, configuration error: %s", exc)

    async def async_filter_deployments(
        self,
        model: str,
        healthy_deployments: list,
        messages: list | None,
        request_kwargs: dict | None = None,
        parent_otel_span: Any = None,
    ) -> list:
        try:
            if self.ranker is None or len(healthy_deployments) < 2:
                return healthy_deployments
            chosen = self.ranker.choose(model, healthy_deployments, request_kwargs)
            return [chosen]
        except Exception:  # never fail a request: LiteLLM decides as it would without us
            log.exception("traction: filter failed; leaving the deployments unchanged")
            return healthy_deployments


proxy_handler_instance = TractionFilter()
