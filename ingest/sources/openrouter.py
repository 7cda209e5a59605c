"""OpenRouter's model catalogue: prices per model, and the links to Hugging Face repos."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

import httpx

from schemas.config import OpenRouterConfig
from schemas.openrouter import OpenRouterModel, OpenRouterModelsPage, parse_price
from schemas.rows import CatalogEntry, Price, SourceResult

from ..http import PayloadError, SourceClient
from .base import Records, Rows, Source, unpack

MILLION = Decimal(1_000_000)
MAX_PAGES = 50


def per_million(value: str) -> Decimal | None:
    price = parse_price(value)
    return None if price is None else price * MILLION


class OpenRouterSource(Source, name="openrouter"):
    config: OpenRouterConfig

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
        records = Records(self.name)
        paged = False
        for payload in payloads:
            page = unpack(OpenRouterModelsPage, payload, "an OpenRouter models")
            paged = paged or page.total_count is not None or page.links is not None
            records.take(page.data, partial(self._rows, observed_at=observed_at))
        records.result.vintage = "paged" if paged else "unpaged"
        return records.result

    def _rows(self, record: Any, observed_at: datetime) -> Rows:
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
        return Rows(key=model.id, catalog=[entry], prices=[price])  # a duplicated page or record
