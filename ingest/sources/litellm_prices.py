"""LiteLLM's price map as a price source: prices for providers OpenRouter does not list.

Read from a file or URL; by default from the copy inside an installed litellm, found
without importing litellm (its import costs seconds and the worker never pays it).
"""

from __future__ import annotations

import importlib.util
from datetime import datetime, timezone
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from schemas.config import LiteLLMPricesConfig
from schemas.limits import check_model_id
from schemas.litellm_prices import PSEUDO_ENTRIES, LiteLLMPriceEntry
from schemas.rows import CatalogEntry, Price, SourceResult

from ..http import Fetched, PayloadError, SourceClient, SourceSkipped, decode_json
from .base import IGNORED, Records, Rows, Source

MILLION = Decimal(1_000_000)
BUNDLED_NAME = "model_prices_and_context_window_backup.json"


def bundled_map() -> Path | None:
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_NAME
    return path if path.exists() else None


class LiteLLMPricesSource(Source, name="litellm_prices", exact_numbers=True):
    config: LiteLLMPricesConfig  # exact numbers: 1.5e-07 must stay 1.5e-07

    async def fetch(self, client: SourceClient, plan: Any = None) -> None:
        location = self.config.location
        if location and location.startswith(("http://", "https://")):
            await client.get_json(location, exact_numbers=True)
            return
        path = Path(location) if location else bundled_map()
        if path is None:
            raise SourceSkipped("no litellm installed and no sources.litellm_prices.location set")
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise PayloadError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            data = decode_json(body, exact_numbers=True)
        except ValueError as exc:
            raise PayloadError(f"{path} is not JSON: {exc}") from None
        client.pages.append(
            Fetched(f"file://{path.resolve()}", 200, {}, body, datetime.now(timezone.utc), data)
        )

    def parse(self, payloads: list[Any], observed_at: datetime) -> SourceResult:
        records = Records(self.name)
        for payload in payloads:
            if not isinstance(payload, dict):
                raise PayloadError(
                    f"expected an object keyed by model, got {type(payload).__name__}"
                )
            records.take_keyed(payload, partial(self._rows, observed_at=observed_at))
        return records.result

    def _rows(self, key: str, record: Any, observed_at: datetime) -> Rows:
        if key in PSEUDO_ENTRIES:
            return IGNORED
        check_model_id(key)
        entry = LiteLLMPriceEntry.model_validate(record)
        if entry.input_cost_per_token is None and entry.output_cost_per_token is None:
            return IGNORED  # priced per image, second or character: not comparable
        catalog = CatalogEntry(
            source=self.name,
            model_id=key,
            context_length=entry.max_input_tokens,
            observed_at=observed_at,
        )
        price = Price(
            source=self.name,
            model_id=key,
            provider=entry.litellm_provider,
            prompt_usd_per_mtok=_per_million(entry.input_cost_per_token),
            completion_usd_per_mtok=_per_million(entry.output_cost_per_token),
            observed_at=observed_at,
        )
        return Rows(catalog=[catalog], prices=[price])  # keys are unique: no duplicates


def _per_million(value: Decimal | None) -> Decimal | None:
    return None if value is None else value * MILLION
