"""LiteLLM's own price map (`model_prices_and_context_window.json`): prices for providers
OpenRouter does not list. Numbers are USD per token, decoded as exact decimals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .limits import BigInt, Label, ModelId, check_decimal

MILLION = Decimal(1_000_000)  # prices are stored per million tokens

# Keys that are not models: the documented template, and routing rules (1.106+).
PSEUDO_ENTRIES = {"sample_spec", "fallback_generalizations"}


class LiteLLMPriceEntry(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    litellm_provider: ModelId
    mode: Label | None = None
    input_cost_per_token: Decimal | None = Field(default=None, ge=0)
    output_cost_per_token: Decimal | None = Field(default=None, ge=0)
    max_input_tokens: BigInt | None = None

    @field_validator("input_cost_per_token", "output_cost_per_token", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        # The map sends JSON numbers; a string here is drift (it was never the contract).
        if value is not None and (
            isinstance(value, bool | str) or not isinstance(value, int | float | Decimal)
        ):
            raise ValueError("must be a number (USD per token)")
        value = Decimal(str(value)) if isinstance(value, float | int) else value
        return None if value is None else check_decimal(value, MILLION)

    @field_validator("max_input_tokens", mode="before")
    @classmethod
    def _tokens(cls, value: Any) -> Any:
        # Judged by exponent first: int(Decimal("1e1000000000")) would build a billion digits.
        if (
            isinstance(value, Decimal)
            and value.is_finite()
            and value.adjusted() < 19
            and value == value.to_integral_value()
        ):
            return int(value)
        return value
