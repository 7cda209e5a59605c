"""Hugging Face `GET /api/models` list items.

The field set depends on the `expand` parameters of the request, not on an API
version, so only what every request returns is required.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .limits import Count, Double, Label, ModelId


class HuggingFaceModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, allow_inf_nan=False)

    id: ModelId
    downloads: Count  # "1200" or 1.5 downloads is drift, not a count
    likes: Count
    trending_score: Double | None = Field(default=None, alias="trendingScore")
    downloads_all_time: Count | None = Field(default=None, alias="downloadsAllTime")
    created_at: str | None = Field(default=None, alias="createdAt")
    last_modified: str | None = Field(default=None, alias="lastModified")
    pipeline_tag: Label | None = None
    library_name: Label | None = None
    gated: bool | str | None = None


def check_page(payload: Any) -> list[Any]:
    """A page is a bare JSON array; anything else is not this contract at all."""
    if not isinstance(payload, list):
        raise ValueError(f"expected a JSON array of models, got {type(payload).__name__}")
    return payload
