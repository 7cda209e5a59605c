"""The snapshot: the one document the worker publishes and the adapter reads.

Both sides validate against this model; `traction schema` exports it as JSON Schema
for anyone else reading the file.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

CONTRACT_VERSION = "traction.snapshot.v1"


class SourceFreshness(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    last_success_at: datetime | None
    last_status: str | None
    stale: bool


class SignalComponent(BaseModel):
    """One (source, metric) signal behind a model's score, with every term of the formula."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    source: str
    metric: str
    value: float
    velocity: float | None
    delta_pct: float | None
    trend: str
    trend_points: float
    momentum: float = Field(ge=0.0, le=1.0)
    confidence: str
    confidence_weight: float = Field(ge=0.0, le=1.0)
    history_days: int = Field(ge=0)
    weight: float = Field(ge=0.0)
    raw_delta_pct: float | None = Field(description="before the spike guard")
    spike: bool = Field(description="the last delta was damped to the series' usual pace")
    age_seconds: float = Field(description="since the signal's last observation")
    decay: float = Field(ge=0.0, le=1.0, description="how much the signal's age leaves of it")
    score: float


class PriceQuote(BaseModel):
    """USD per million tokens as exact decimal strings; null when the provider's price varies."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    source: str
    model_id: str
    provider: str
    prompt_usd_per_mtok: str | None
    completion_usd_per_mtok: str | None


class QuoteRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str
    model_id: str
    provider: str


class ModelScore(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    key: str = Field(min_length=1, description="canonical model key (lowercase)")
    aliases: list[str] = Field(description="lowercase ids this model has in any source")
    rank: int = Field(ge=1)
    score: float = Field(description="what ranks: per the snapshot's policy")
    momentum_score: float
    cost_points: float = Field(ge=0.0)
    blended_usd_per_mtok: float | None = Field(ge=0.0, description="of the cheapest live quote")
    cheapest: QuoteRef | None
    agreement: float = Field(ge=0.5, le=1.0)
    confidence_weight: float = Field(ge=0.0, le=1.0)
    confidence: Literal["insufficient", "low", "normal"]
    trend: str
    components: list[SignalComponent]
    prices: list[PriceQuote] = []


class SnapshotBody(BaseModel):
    """Everything the content hash covers."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    contract_version: Literal["traction.snapshot.v1"] = CONTRACT_VERSION
    version: int = Field(ge=1, description="publish sequence number")
    generated_at: datetime
    stale_after: datetime
    policy: Literal["momentum", "cost", "balanced"]
    sources: dict[str, SourceFreshness]
    models: list[ModelScore]

    @model_validator(mode="after")
    def _consistent(self) -> SnapshotBody:
        if self.generated_at.tzinfo is None or self.stale_after.tzinfo is None:
            raise ValueError("generated_at and stale_after must carry a timezone")
        if self.stale_after <= self.generated_at:
            raise ValueError("stale_after must be later than generated_at")
        ranks = [m.rank for m in self.models]
        if ranks != list(range(1, len(ranks) + 1)):
            raise ValueError("ranks must run 1..n in list order")
        keys = [m.key for m in self.models]
        if len(set(keys)) != len(keys):
            raise ValueError("model keys must be unique")
        owners: dict[str, str] = {}
        for m in self.models:
            for alias in {m.key, *m.aliases}:
                if owners.setdefault(alias, m.key) != m.key:
                    raise ValueError(f"alias {alias!r} belongs to {owners[alias]!r} and {m.key!r}")
        return self

    def seal(self) -> Snapshot:
        """The publishable snapshot: this body plus the hash of its canonical bytes."""
        data = self.model_dump(mode="json")
        return Snapshot.model_validate({**data, "content_hash": compute_hash(data)})


class Snapshot(SnapshotBody):
    content_hash: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    signature: str | None = Field(
        default=None,
        pattern=r"^hmac-sha256:[0-9a-f]{64}$",
        description="HMAC-SHA256 of the canonical bytes under the operator's key"
        " (schemas/signing.py); absent when the worker has no key",
    )

    @model_validator(mode="after")
    def _hash_matches(self) -> Snapshot:
        if self.content_hash != compute_hash(self):
            raise ValueError("content_hash does not match the content")
        return self

    @model_serializer(mode="wrap")
    def _omit_absent_signature(self, handler: SerializerFunctionWrapHandler) -> dict:
        # An unsigned snapshot serialises exactly as before signatures existed, so readers
        # that predate the field (extra="forbid") keep accepting what an unkeyed worker writes.
        data = handler(self)
        if isinstance(data, dict) and data.get("signature") is None:
            data.pop("signature", None)
        return data

    def is_stale(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(timezone.utc)) >= self.stale_after


# Fields that describe the content rather than being part of it.
UNCOVERED = ("content_hash", "signature")


def canonical_bytes(snapshot: SnapshotBody | dict) -> bytes:
    """The bytes the content hash (and the signature) cover: everything but the hash and the
    signature, sorted keys, no spaces."""
    data = snapshot if isinstance(snapshot, dict) else snapshot.model_dump(mode="json")
    body = {k: v for k, v in data.items() if k not in UNCOVERED}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(snapshot: SnapshotBody | dict) -> str:
    return "sha256:" + hashlib.sha256(canonical_bytes(snapshot)).hexdigest()


def json_schema() -> dict:
    return Snapshot.model_json_schema()
