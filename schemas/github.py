"""GitHub `GET /repos/{owner}/{repo}`: the counts that track a model family's adoption."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class GitHubRepo(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    full_name: str = Field(pattern=r"^[^/\s]+/[^/\s]+$")
    stargazers_count: int = Field(ge=0)
    forks_count: int = Field(ge=0)
    open_issues_count: int | None = Field(default=None, ge=0)
    subscribers_count: int | None = Field(default=None, ge=0)
    archived: bool | None = None
    pushed_at: str | None = None

    @field_validator("stargazers_count", "forks_count", mode="before")
    @classmethod
    def _strict_int(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be an integer count")
        return value
