"""OpenRouter's `GET /api/v1/models` catalogue, as the notes recommend checking it.

Required fields are the ones a price or an identity depends on; everything else is
optional because the API adds keys monthly and has dropped some before.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from .limits import (
    BIGINT_MAX,
    Count,
    Label,
    ModelId,
    check_day,
    check_decimal,
    check_decimal_string,
    printable,
)

ID_PATTERN = r"^~?[^/\s]+/[^:\s]+(:\w+)?$"
MILLION = Decimal(1_000_000)  # prices are stored per million tokens


def parse_price(value: str) -> Decimal | None:
    """USD per token as an exact Decimal; None for OpenRouter's "-1" (variable price).
    Refused unless its price per million tokens fits the store (schemas/limits.py)."""
    check_decimal_string(value)
    try:
        price = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"price {printable(value, 40)} is not a decimal string") from exc
    if not price.is_finite():
        raise ValueError(f"price {value!r} is not finite")
    if price == -1:
        return None
    if price < 0:
        raise ValueError(f"price {value!r} is negative")
    return check_decimal(price, MILLION)


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

    id: ModelId = Field(pattern=ID_PATTERN)
    name: Label
    created: int
    context_length: Count | None = None
    pricing: OpenRouterPricing
    architecture: dict[str, Any]
    canonical_slug: ModelId | None = None
    hugging_face_id: ModelId | None = None
    alias_target: dict[str, Any] | None = None

    @field_validator("created", mode="before")
    @classmethod
    def _strict_int(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("created must be an integer Unix time")
        return value

    @field_validator("hugging_face_id", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        # OpenRouter sends both null and "" for "no Hugging Face repo".
        return None if value == "" else value

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

    provider_name: Label = Field(min_length=1)
    tag: ModelId = Field(description="routing slug; a provider can appear twice")
    pricing: EndpointPricing
    context_length: Count | None = None
    quantization: Label | None = None
    uptime_last_30m: float | None = Field(default=None, ge=0, le=100)
    uptime_last_1d: float | None = Field(default=None, ge=0, le=100)
    status: int | None = None


class EndpointsModel(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    id: ModelId
    endpoints: list[Any]


class EndpointsPayload(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    data: EndpointsModel


class RankingRow(BaseModel):
    """A day's token volume for one model (`/datasets/rankings-daily`)."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    date: Annotated[str, AfterValidator(check_day)] = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    model_permaslug: ModelId
    total_tokens: int = Field(ge=0, le=BIGINT_MAX)

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
