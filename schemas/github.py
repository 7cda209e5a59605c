"""GitHub `GET /repos/{owner}/{repo}`: the counts that track a model family's adoption."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from .limits import Count, ModelId


def _owner_name(value: str) -> str:
    if not re.fullmatch(r"[^/\s]+/[^/\s]+", value):
        raise ValueError("full_name must be owner/name")
    return value


class GitHubRepo(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    full_name: Annotated[ModelId, AfterValidator(_owner_name)]
    stargazers_count: Count
    forks_count: Count
    open_issues_count: Count | None = None
    subscribers_count: Count | None = None
    archived: bool | None = None
    pushed_at: str | None = None
