"""OpenRouter's `GET /api/v1/models` catalogue, as the notes recommend checking it.

Required fields are the ones a price or an identity depends on; everything else is
optional because the API adds keys monthly and has dropped some before.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

ID_PATTERN = r"^~?[^/\s]+/[^:\s]+(:\w+)?$"


def parse_price(value: str) -> Decimal | None:
    """USD per token as an exact Decimal; None for OpenRouter's "-1" (variable price)."""
    try:
        price = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"price {value!r} is not a decimal string") from exc
    if not price.is_finite():
        raise ValueError(f"price {value!r} is not finite")
    if price == -1:
        return None
    if price < 0:
        raise ValueError(f"price {value!r} is negative")
    return price


class OpenRouterPricing(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    prompt: str
    completion: str

    @field_validator("prompt", "completion", mode="before")
    @classmethod
    def _decimal_string(cls, value: Any) -> Any:
        # Floats would lose the 22-decimal prices; only strings are the contract.
        if not isinstance(value, str):
            raise ValueError("price must be a decimal string")
        parse_price(value)
        return value


class OpenRouterModel(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    id: str = Field(pattern=ID_PATTERN)
    name: str
    created: int
    context_length: int | None = Field(default=None, ge=0)
    pricing: OpenRouterPricing
    architecture: dict[str, Any]
    canonical_slug: str | None = None
    hugging_face_id: str | None = None
    alias_target: dict[str, Any] | None = None

    @field_validator("created", mode="before")
    @classmethod
    def _strict_int(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("created must be an integer Unix time")
        return value

    @field_validator("hugging_face_id", mode="after")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        # OpenRouter sends both null and "" for "no Hugging Face repo".
        return value or None

    @property
    def slug(self) -> str:
        return self.canonical_slug or self.id


class OpenRouterLinks(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    next: str | None = None


class OpenRouterModelsPage(BaseModel):
    """The envelope; records are checked one by one so one bad model does not sink the rest."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    data: list[Any]
    total_count: int | None = None
    links: OpenRouterLinks | None = None


class EndpointPricing(OpenRouterPricing):
    discount: float | None = Field(default=None, ge=0, le=1)


class OpenRouterEndpoint(BaseModel):
    """One provider's offer for a model (`/models/{author}/{slug}/endpoints`)."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    provider_name: str = Field(min_length=1)
    tag: str = Field(min_length=1, description="routing slug; a provider can appear twice")
    pricing: EndpointPricing
    context_length: int | None = Field(default=None, ge=0)
    quantization: str | None = None
    uptime_last_30m: float | None = Field(default=None, ge=0, le=100)
    uptime_last_1d: float | None = Field(default=None, ge=0, le=100)
    status: int | None = None


class EndpointsModel(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    id: str = Field(min_length=1)
    endpoints: list[Any]


class EndpointsPayload(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    data: EndpointsModel


class RankingRow(BaseModel):
    """A day's token volume for one model (`/datasets/rankings-daily`)."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    model_permaslug: str = Field(min_length=1)
    total_tokens: int = Field(ge=0)

    @field_validator("total_tokens", mode="before")
    @classmethod
    def _integer_string(cls, value: Any) -> Any:
        # Sent as a string because the counts outgrow JSON-safe integers.
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError("total_tokens must be an integer or a string of digits")


class RankingsPayload(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    data: list[Any]
    meta: dict[str, Any] | None = None
