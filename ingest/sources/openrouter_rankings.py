"""OpenRouter's daily token volume per model: first-party usage momentum, the nearest
replacement for the retired WZRD feed. Needs `OPENROUTER_API_KEY`; skipped without it.

Data: OpenRouter rankings, CC BY 4.0 (attribution: OpenRouter, https://openrouter.ai).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from schemas.config import OpenRouterRankingsConfig
from schemas.openrouter import RankingRow, RankingsPayload
from schemas.rows import SourceResult

from ..http import SourceClient, SourceSkipped
from .base import IGNORED, Records, Rows, Source, unpack


class OpenRouterRankingsSource(Source, name="openrouter_rankings", budget_key="openrouter"):
    config: OpenRouterRankingsConfig

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
        records = Records(self.name)
        for payload in payloads:
            page = unpack(RankingsPayload, payload, "an OpenRouter rankings")
            records.take(page.data, self._rows)
        return records.result

    def _rows(self, record: Any) -> Rows:
        row = RankingRow.model_validate(record)
        day = datetime.fromisoformat(row.date).replace(tzinfo=timezone.utc)
        observations = self.observations(
            row.model_permaslug, {"total_tokens": row.total_tokens}, day
        )
        if row.model_permaslug == "other":  # the long tail, summed: not a model
            return IGNORED
        # A day listed twice is a duplicate.
        return Rows(key=(row.model_permaslug, row.date), observations=observations)
