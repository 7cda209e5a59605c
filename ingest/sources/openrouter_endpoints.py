"""OpenRouter per-provider offers for the models that matter: each provider's price (with
its discount), uptime, context and quantization."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

import duckdb

import store
from schemas.config import OpenRouterEndpointsConfig
from schemas.openrouter import EndpointsPayload, OpenRouterEndpoint, parse_price
from schemas.rows import Price, SourceResult

from ..http import SourceClient, SourceSkipped
from .base import Records, Rows, Source, unpack

MILLION = Decimal(1_000_000)


def effective_per_million(value: str, discount: float | None) -> Decimal | None:
    price = parse_price(value)
    if price is None:
        return None
    if discount:
        price = price * (1 - Decimal(str(discount)))
    return price * MILLION


class OpenRouterEndpointsSource(Source, name="openrouter_endpoints", budget_key="openrouter"):
    config: OpenRouterEndpointsConfig
    runs_after = ("openrouter",)  # its plan reads the catalogue

    def plan(self, con: duckdb.DuckDBPyConnection) -> list[str]:
        """Configured models first, then the best-ranked models of the last published snapshot
        that OpenRouter lists (by id, variants left out)."""
        wanted = list(dict.fromkeys(self.config.models))
        if self.config.top_n:
            ranked = store.top_ranked_openrouter_ids(con, self.config.top_n)
            wanted += [model_id for model_id in ranked if model_id not in wanted]
        return wanted

    async def fetch(self, client: SourceClient, plan: Any = None) -> None:
        if not plan:
            raise SourceSkipped(
                "no models to ask about: set sources.openrouter_endpoints.models,"
                " or publish a snapshot first (top_n uses its ranking)"
            )
        for model_id in plan:
            # Unknown ids answer 404: the model left OpenRouter; nothing to record.
            await client.get_json(
                f"{self.config.base_url}/models/{model_id}/endpoints", missing_ok=True
            )

    def parse(self, payloads: list[Any], observed_at: datetime) -> SourceResult:
        records = Records(self.name)
        for payload in payloads:
            page = unpack(EndpointsPayload, payload, "an OpenRouter endpoints")
            rows_of = partial(self._rows, model_id=page.data.id, observed_at=observed_at)
            records.take(page.data.endpoints, rows_of)
        return records.result

    def _rows(self, record: Any, model_id: str, observed_at: datetime) -> Rows:
        offer = OpenRouterEndpoint.model_validate(record)
        discount = offer.pricing.discount
        price = Price(
            source=self.name,
            model_id=model_id,
            provider=offer.tag,
            prompt_usd_per_mtok=effective_per_million(offer.pricing.prompt, discount),
            completion_usd_per_mtok=effective_per_million(offer.pricing.completion, discount),
            observed_at=observed_at,
            discount=discount,
            context_length=offer.context_length,
            quantization=offer.quantization,
            uptime_last_30m=offer.uptime_last_30m,
            uptime_last_1d=offer.uptime_last_1d,
        )
        return Rows(key=(model_id, offer.tag), prices=[price])
