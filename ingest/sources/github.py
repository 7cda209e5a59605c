"""GitHub stars, forks and watchers for the repositories that stand for model families.

With `GITHUB_TOKEN` set, requests are conditional (`If-None-Match` with the last ETag):
an unchanged repository answers 304, which is free against the rate limit.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb

import store
from schemas.config import GitHubConfig
from schemas.github import GitHubRepo
from schemas.rows import CatalogEntry, Observation, SourceResult

from ..http import PayloadError, SourceClient
from .common import RECORD_ERRORS, quarantine

METRICS = {
    "stargazers_count": "stars",
    "forks_count": "forks",
    "subscribers_count": "watchers",
    "open_issues_count": "open_issues",
}


class GitHubSource:
    name = "github"
    budget_key = "github"
    exact_numbers = False

    def __init__(self, config: GitHubConfig):
        self.config = config

    def url(self, repo: str) -> str:
        return f"{self.config.base_url}/repos/{repo}"

    def plan(self, con: duckdb.DuckDBPyConnection) -> dict[str, str]:
        """The last ETag seen per repository URL, from the raw archive."""
        etags = {}
        for url, headers in store.latest_page_headers(con, "github"):
            etag = json.loads(headers).get("etag")
            if etag:
                etags[url] = etag
        return etags

    async def fetch(self, client: SourceClient, plan: Any = None) -> None:
        etags = plan or {}
        for repo in self.config.repositories:
            url = self.url(repo)
            headers = {
                "X-GitHub-Api-Version": "2022-11-28",
                "Accept": "application/vnd.github+json",
            }
            # ETags are per token, and a 304 is only free when authorized: anonymous
            # requests would gain nothing, so they stay unconditional.
            if client.has_token and url in etags:
                headers["If-None-Match"] = etags[url]
            await client.get_json(url, headers=headers)

    def parse(self, payloads: list[Any], observed_at: datetime) -> SourceResult:
        result = SourceResult(source=self.name)
        links = {k.lower(): v for k, v in self.config.links.items()}
        seen: set[str] = set()
        for index, record in enumerate(payloads):
            if not isinstance(record, dict):
                raise PayloadError(f"expected a repository object, got {type(record).__name__}")
            try:
                repo = GitHubRepo.model_validate(record)
                entry = CatalogEntry(
                    source=self.name,
                    model_id=repo.full_name,
                    hugging_face_id=links.get(repo.full_name.lower()),
                    display_name=repo.full_name,
                    observed_at=observed_at,
                )
                observations = [
                    Observation(
                        source=self.name,
                        model_id=repo.full_name,
                        metric=metric,
                        value=value,
                        observed_at=observed_at,
                    )
                    for field, metric in METRICS.items()
                    if (value := getattr(repo, field)) is not None
                ]
            except RECORD_ERRORS as exc:
                result.quarantined.append(quarantine(self.name, index, record, exc))
                continue
            if repo.full_name.lower() in seen:  # two configured names, one repository
                result.duplicates += 1
                continue
            seen.add(repo.full_name.lower())
            result.accepted += 1
            result.catalog.append(entry)
            result.observations.extend(observations)
        result.records_fetched = len(payloads)
        return result
