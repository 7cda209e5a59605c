"""OpenRouter per-provider offers for the models that matter: each provider's price (with
its discount), uptime, context and quantization."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import duckdb
from pydantic import ValidationError

import store
from schemas.config import OpenRouterEndpointsConfig
from schemas.openrouter import EndpointsPayload, OpenRouterEndpoint, parse_price
from schemas.rows import Price, SourceResult

from ..http import PayloadError, SourceClient, SourceSkipped
from .common import RECORD_ERRORS, quarantine

MILLION = Decimal(1_000_000)


def effective_per_million(value: str, discount: float | None) -> Decimal | None:
    price = parse_price(value)
    if price is None:
        return None
    if discount:
        price = price * (1 - Decimal(str(discount)))
    return price * MILLION


class OpenRouterEndpointsSource:
    name = "openrouter_endpoints"
    budget_key = "openrouter"
    exact_numbers = False

    def __init__(self, config: OpenRouterEndpointsConfig):
        self.config = config

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
        result = SourceResult(source=self.name)
        index = 0
        seen: set[tuple[str, str]] = set()
        for payload in payloads:
            try:
                page = EndpointsPayload.model_validate(payload)
            except ValidationError as exc:
                raise PayloadError(
                    f"not an OpenRouter endpoints payload: {exc.errors()[0]['msg']}"
                ) from None
            for record in page.data.endpoints:
                index += 1
                try:
                    offer = OpenRouterEndpoint.model_validate(record)
                    discount = offer.pricing.discount
                    price = Price(
                        source=self.name,
                        model_id=page.data.id,
                        provider=offer.tag,
                        prompt_usd_per_mtok=effective_per_million(offer.pricing.prompt, discount),
                        completion_usd_per_mtok=effective_per_million(
                            offer.pricing.completion, discount
                        ),
                        observed_at=observed_at,
                        discount=discount,
                        context_length=offer.context_length,
                        quantization=offer.quantization,
                        uptime_last_30m=offer.uptime_last_30m,
                        uptime_last_1d=offer.uptime_last_1d,
                    )
                except RECORD_ERRORS as exc:
                    result.quarantined.append(quarantine(self.name, index - 1, record, exc))
                    continue
                if (page.data.id, offer.tag) in seen:
                    result.duplicates += 1
                    continue
                seen.add((page.data.id, offer.tag))
                result.accepted += 1
                result.prices.append(price)
        result.records_fetched = index
        return result
