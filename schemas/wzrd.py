"""The retired WZRD momentum feed, in all three vintages it was published in.

The feed changed field names twice without changing its URL, so a payload is
sniffed (`contract_version` -> C, integer `signal_version` -> A, neither -> B)
and every vintage is mapped to one :class:`WzrdSignal`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .limits import Double, Label, ModelId

Vintage = Literal["A", "B", "C"]

# Points per trend label, as litellm-wzrd-momentum 0.1.0 scored them.
TREND_POINTS: dict[str, float] = {
    "surging": 3.0,
    "accelerating": 2.0,
    "stable": 0.0,
    "insufficient_history": 0.0,
    "onchain": 0.0,
    "decelerating": -1.0,
    "cooling": -2.0,
}

# Weight per confidence label. The peer left `high` and `unknown` out of its
# table, so they silently weighed 0; here every documented label has a weight.
CONFIDENCE_WEIGHTS: dict[str, float] = {
    "high": 1.0,
    "normal": 1.0,
    "low": 0.5,
    "unknown": 0.5,
    "insufficient": 0.0,
}


class WzrdEnvelope(BaseModel):
    """What every vintage shares: a list of model records (each checked on its own)."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    models: list[Any]
    contract_version: str | None = None
    signal_version: int | None = None
    generated_at: str | None = None
    count: int | None = None

    @field_validator("signal_version", mode="before")
    @classmethod
    def _int_only(cls, value: Any) -> Any:
        # Vintage A's consumers used an isinstance(int) check; a string is not vintage A.
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError("signal_version must be an integer")
        return value

    @property
    def vintage(self) -> Vintage:
        if self.contract_version is not None:
            return "C"
        if self.signal_version is not None:
            return "A"
        return "B"


class WzrdSignal(BaseModel):
    """One model's momentum as the feed judged it, whatever the vintage called the fields."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    model: ModelId
    trend: str
    score: float = Field(ge=0.0, le=1.0)
    confidence: str = "unknown"
    delta_pct: Double | None = None
    platform: Label | None = None

    @field_validator("trend")
    @classmethod
    def _known_trend(cls, value: str) -> str:
        if value not in TREND_POINTS:
            raise ValueError(f"unknown trend {value!r}")
        return value

    @field_validator("confidence")
    @classmethod
    def _known_confidence(cls, value: str) -> str:
        if value not in CONFIDENCE_WEIGHTS:
            raise ValueError(f"unknown confidence {value!r}")
        return value

    @classmethod
    def from_record(cls, record: Any) -> WzrdSignal:
        """Map any vintage's record onto the one internal shape (new names win over legacy ones)."""
        if not isinstance(record, dict):
            raise ValueError(f"record is {type(record).__name__}, not an object")

        def first(*keys: str) -> Any:
            for key in keys:
                if record.get(key) is not None:
                    return record[key]
            return None

        return cls.model_validate(
            {
                "model": first("model", "channel_id", "name"),
                "trend": first("trend", "velocity_trend"),
                "score": first("score", "momentum_score"),
                "confidence": first("confidence", "history_confidence") or "unknown",
                "delta_pct": first("delta_pct", "velocity_delta_pct"),
                "platform": first("platform", "source", "provider"),
            }
        )
