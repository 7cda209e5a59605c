"""The retired WZRD momentum feed: read if a mirror answers, otherwise a normal "unreachable"."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from schemas.config import WzrdConfig
from schemas.limits import check_timestamp
from schemas.rows import SourceResult
from schemas.wzrd import CONFIDENCE_WEIGHTS, TREND_POINTS, WzrdEnvelope, WzrdSignal

from ..http import SourceClient
from .base import Records, Rows, Source, unpack


class WzrdSource(Source, name="wzrd"):
    config: WzrdConfig

    async def fetch(self, client: SourceClient, plan: Any = None) -> None:
        await client.get_json(f"{self.config.base_url}/v1/signals/momentum", params={"limit": 100})

    def parse(self, payloads: list[Any], observed_at: datetime) -> SourceResult:
        records = Records(self.name)
        for payload in payloads:
            envelope = unpack(WzrdEnvelope, payload, "a WZRD momentum")
            records.result.vintage = envelope.vintage
            when = _parse_time(envelope.generated_at) or observed_at
            records.take(envelope.models, partial(self._rows, observed_at=when))
        return records.result

    def _rows(self, record: Any, observed_at: datetime) -> Rows:
        signal = WzrdSignal.from_record(record)
        values = {
            "momentum": signal.score,
            "trend_points": TREND_POINTS[signal.trend],
            "confidence_weight": CONFIDENCE_WEIGHTS[signal.confidence],
        }
        if signal.delta_pct is not None:
            values["delta_pct"] = signal.delta_pct
        observations = self.observations(signal.model, values, observed_at)
        return Rows(key=signal.model, observations=observations)  # a model listed twice


def _parse_time(value: Any) -> datetime | None:
    """The feed's `generated_at`, or None when it is missing or not a usable time."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return check_timestamp(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None
