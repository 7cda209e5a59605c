"""OpenRouter's daily token volume per model: first-party usage momentum, the nearest
replacement for the retired WZRD feed. Needs `OPENROUTER_API_KEY`; skipped without it.

Data: OpenRouter rankings, CC BY 4.0 (attribution: OpenRouter, https://openrouter.ai).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import ValidationError

from schemas.config import OpenRouterRankingsConfig
from schemas.openrouter import RankingRow, RankingsPayload
from schemas.rows import Observation, SourceResult

from ..http import PayloadError, SourceClient, SourceSkipped
from .common import RECORD_ERRORS, quarantine


class OpenRouterRankingsSource:
    name = "openrouter_rankings"
    budget_key = "openrouter"
    exact_numbers = False

    def __init__(self, config: OpenRouterRankingsConfig):
        self.config = config

    async def fetch(self, client: SourceClient, plan: Any = None) -> None:
        if not client.has_token:
            raise SourceSkipped("OPENROUTER_API_KEY is not set (rankings need a key)")
        today = datetime.now(timezone.utc).date()
        await client.get_json(
            f"{self.config.base_url}/datasets/rankings-daily",
            params={
                "start_date": str(today - timedelta(days=self.config.days)),
                "end_date": str(today),
                "period": "day",
            },
        )

    def parse(self, payloads: list[Any], observed_at: datetime) -> SourceResult:
        result = SourceResult(source=self.name)
        index = 0
        seen: set[tuple[str, str]] = set()
        for payload in payloads:
            try:
                page = RankingsPayload.model_validate(payload)
            except ValidationError as exc:
                raise PayloadError(
                    f"not an OpenRouter rankings payload: {exc.errors()[0]['msg']}"
                ) from None
            for record in page.data:
                index += 1
                try:
                    row = RankingRow.model_validate(record)
                    observation = Observation(
                        source=self.name,
                        model_id=row.model_permaslug,
                        metric="total_tokens",
                        value=row.total_tokens,
                        observed_at=datetime.fromisoformat(row.date).replace(tzinfo=timezone.utc),
                    )
                except RECORD_ERRORS as exc:
                    result.quarantined.append(quarantine(self.name, index - 1, record, exc))
                    continue
                if row.model_permaslug == "other":  # the long tail, summed: not a model
                    result.ignored += 1
                    continue
                if (row.model_permaslug, row.date) in seen:  # a day listed twice
                    result.duplicates += 1
                    continue
                seen.add((row.model_permaslug, row.date))
                result.accepted += 1
                result.observations.append(observation)
        result.records_fetched = index
        return result
