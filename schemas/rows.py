"""Rows as the store keeps them: what a source run lands, whatever the source.

Sources translate their payloads into these; the store and scoring know nothing
of upstream field names.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .limits import BigInt, Double, Label, ModelId, StoredDecimal, Timestamp

# What a run row's status can say (docs/operating.md has the table): `running` until it
# ends; `interrupted` when its process died first (closed by the next writer).
RunStatus = Literal[
    "running", "ok", "unchanged", "degraded", "failed", "unreachable", "skipped", "interrupted"
]


class Observation(BaseModel):
    """One numeric fact: a model's metric as one source reported it at one time."""

    model_config = ConfigDict(frozen=True)

    source: str
    model_id: ModelId
    metric: str
    value: Double
    observed_at: Timestamp


class Price(BaseModel):
    """A provider's price for a model. Exact decimals; None means variable/unknown ("-1")."""

    model_config = ConfigDict(frozen=True)

    source: str
    model_id: ModelId
    provider: ModelId
    prompt_usd_per_mtok: StoredDecimal | None
    completion_usd_per_mtok: StoredDecimal | None
    observed_at: Timestamp
    discount: Double | None = None
    context_length: BigInt | None = None
    quantization: Label | None = None
    uptime_last_30m: Double | None = None
    uptime_last_1d: Double | None = None


class CatalogEntry(BaseModel):
    """What a source says about a model's identity: the links scoring joins sources by."""

    model_config = ConfigDict(frozen=True)

    source: str
    model_id: ModelId
    canonical_slug: ModelId | None = None
    hugging_face_id: ModelId | None = None
    display_name: Label | None = None
    context_length: BigInt | None = None
    alias_target: ModelId | None = None
    created_at: Timestamp | None = Field(
        default=None, description="when the source says the model was created"
    )
    # When the source said so: the catalog's first/last seen times come from it, so a
    # back-fill of an old dump dates the model by the dump, not by the day it was loaded.
    # None (an entry built without a time) falls back to the run's facts for the model.
    observed_at: Timestamp | None = None


class Quarantined(BaseModel):
    """A record that failed its contract, kept verbatim with the reason."""

    model_config = ConfigDict(frozen=True)

    source: str
    record_index: int
    model_id: str | None
    reason: str
    raw: str = Field(description="the record as received, JSON-encoded")


class SourceResult(BaseModel):
    """Everything one source run produced, landed in the store in one transaction."""

    source: str
    vintage: str | None = None
    observations: list[Observation] = []
    prices: list[Price] = []
    catalog: list[CatalogEntry] = []
    quarantined: list[Quarantined] = []  # failed its contract
    records_fetched: int = 0
    # Every fetched record is exactly one of these (the ingest property tests hold it):
    accepted: int = 0  # became facts
    duplicates: int = 0  # repeated within the payload (overlapping listings, a repeated page)
    ignored: int = 0  # not a model on purpose (a template entry, the "other" rankings row)
    payload_hash: str | None = None
