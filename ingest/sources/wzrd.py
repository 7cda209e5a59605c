"""The retired WZRD momentum feed: read if a mirror answers, otherwise a normal "unreachable"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from schemas.config import WzrdConfig
from schemas.limits import check_timestamp
from schemas.rows import Observation, SourceResult
from schemas.wzrd import CONFIDENCE_WEIGHTS, TREND_POINTS, WzrdEnvelope, WzrdSignal

from ..http import PayloadError, SourceClient
from .common import RECORD_ERRORS, quarantine


class WzrdSource:
    name = "wzrd"
    budget_key = "wzrd"
    exact_numbers = False

    def __init__(self, config: WzrdConfig):
        self.config = config

    async def fetch(self, client: SourceClient, plan: Any = None) -> None:
        await client.get_json(f"{self.config.base_url}/v1/signals/momentum", params={"limit": 100})

    def parse(self, payloads: list[Any], observed_at: datetime) -> SourceResult:
        result = SourceResult(source=self.name)
        index = 0
        seen: set[str] = set()
        for payload in payloads:
            try:
                envelope = WzrdEnvelope.model_validate(payload)
            except ValidationError as exc:
                raise PayloadError(
                    f"not a WZRD momentum payload: {exc.errors()[0]['msg']}"
                ) from None
            result.vintage = envelope.vintage
            when = _parse_time(envelope.generated_at) or observed_at
            for record in envelope.models:
                index += 1
                try:
                    signal = WzrdSignal.from_record(record)
                    values = {
                        "momentum": signal.score,
                        "trend_points": TREND_POINTS[signal.trend],
                        "confidence_weight": CONFIDENCE_WEIGHTS[signal.confidence],
                    }
                    if signal.delta_pct is not None:
                        values["delta_pct"] = signal.delta_pct
                    observations = [
                        Observation(
                            source=self.name,
                            model_id=signal.model,
                            metric=metric,
                            value=value,
                            observed_at=when,
                        )
                        for metric, value in values.items()
                    ]
                except RECORD_ERRORS as exc:
                    result.quarantined.append(quarantine(self.name, index - 1, record, exc))
                    continue
                if signal.model in seen:  # a model listed twice in one feed
                    result.duplicates += 1
                    continue
                seen.add(signal.model)
                result.accepted += 1
                result.observations.extend(observations)
        result.records_fetched = index
        return result


def _parse_time(value: Any) -> datetime | None:
    """The feed's `generated_at`, or None when it is missing or not a usable time."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return check_timestamp(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None
