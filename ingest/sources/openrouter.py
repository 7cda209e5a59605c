"""OpenRouter's model catalogue: prices per model, and the links to Hugging Face repos."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
from pydantic import ValidationError

from schemas.config import OpenRouterConfig
from schemas.openrouter import OpenRouterModel, OpenRouterModelsPage, parse_price
from schemas.rows import CatalogEntry, Price, SourceResult

from ..http import PayloadError, SourceClient
from .common import RECORD_ERRORS, quarantine

MILLION = Decimal(1_000_000)
MAX_PAGES = 50


def per_million(value: str) -> Decimal | None:
    price = parse_price(value)
    return None if price is None else price * MILLION


class OpenRouterSource:
    name = "openrouter"
    budget_key = "openrouter"
    exact_numbers = False

    def __init__(self, config: OpenRouterConfig):
        self.config = config

    async def fetch(self, client: SourceClient, plan: Any = None) -> None:
        """The full list in one request; follows `links.next` only if the server paginates."""
        url: str | None = f"{self.config.base_url}/models"
        params: dict[str, str] | None = {"output_modalities": self.config.output_modalities}
        seen: set[str] = set()
        while url:
            if url in seen or len(seen) >= MAX_PAGES:
                raise PayloadError(f"pagination loop at {url}")
            seen.add(url)
            fetched = await client.get_json(url, params=params)
            assert fetched is not None
            data = fetched.data
            nxt = (data.get("links") or {}).get("next") if isinstance(data, dict) else None
            url = str(httpx.URL(fetched.url).join(nxt)) if isinstance(nxt, str) and nxt else None
            params = None

    def parse(self, payloads: list[Any], observed_at: datetime) -> SourceResult:
        result = SourceResult(source=self.name)
        paged = False
        index = 0
        seen: set[str] = set()
        for payload in payloads:
            try:
                page = OpenRouterModelsPage.model_validate(payload)
            except ValidationError as exc:
                raise PayloadError(
                    f"not an OpenRouter models payload: {exc.errors()[0]['msg']}"
                ) from None
            paged = paged or page.total_count is not None or page.links is not None
            for record in page.data:
                index += 1
                try:
                    model = OpenRouterModel.model_validate(record)
                    entry = CatalogEntry(
                        source=self.name,
                        model_id=model.id,
                        canonical_slug=model.slug,
                        hugging_face_id=model.hugging_face_id,
                        display_name=model.name,
                        context_length=model.context_length,
                        alias_target=(model.alias_target or {}).get("slug"),
                        observed_at=observed_at,
                    )
                    price = Price(
                        source=self.name,
                        model_id=model.id,
                        provider="openrouter",
                        prompt_usd_per_mtok=per_million(model.pricing.prompt),
                        completion_usd_per_mtok=per_million(model.pricing.completion),
                        observed_at=observed_at,
                    )
                except RECORD_ERRORS as exc:
                    result.quarantined.append(quarantine(self.name, index - 1, record, exc))
                    continue
                if model.id in seen:  # a duplicated page or record
                    result.duplicates += 1
                    continue
                seen.add(model.id)
                result.accepted += 1
                result.catalog.append(entry)
                result.prices.append(price)
        result.records_fetched = index
        result.vintage = "paged" if paged else "unpaged"
        return result
