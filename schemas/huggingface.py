"""Hugging Face `GET /api/models` list items.

The field set depends on the `expand` parameters of the request, not on an API
version, so only what every request returns is required.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class HuggingFaceModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, allow_inf_nan=False)

    id: str = Field(min_length=1)
    downloads: int = Field(ge=0)
    likes: int = Field(ge=0)
    trending_score: float | None = Field(default=None, alias="trendingScore")
    downloads_all_time: int | None = Field(default=None, ge=0, alias="downloadsAllTime")
    created_at: str | None = Field(default=None, alias="createdAt")
    last_modified: str | None = Field(default=None, alias="lastModified")
    pipeline_tag: str | None = None
    library_name: str | None = None
    gated: bool | str | None = None

    @field_validator("downloads", "likes", "downloads_all_time", mode="before")
    @classmethod
    def _strict_int(cls, value: Any) -> Any:
        # "1200" or 1.5 downloads is drift, not a count.
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError("must be an integer count")
        return value

    @field_validator("trending_score", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError("must be a number")
        return value


def check_page(payload: Any) -> list[Any]:
    """A page is a bare JSON array; anything else is not this contract at all."""
    if not isinstance(payload, list):
        raise ValueError(f"expected a JSON array of models, got {type(payload).__name__}")
    return payload
