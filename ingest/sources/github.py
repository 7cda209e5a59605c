"""GitHub stars, forks and watchers for the repositories that stand for model families.

With `GITHUB_TOKEN` set, requests are conditional (`If-None-Match` with the last ETag):
an unchanged repository answers 304, which is free against the rate limit.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import partial
from typing import Any

import duckdb

import store
from schemas.config import GitHubConfig
from schemas.github import GitHubRepo
from schemas.rows import CatalogEntry, SourceResult

from ..http import PayloadError, SourceClient
from .base import Records, Rows, Source, present

METRICS = {
    "stargazers_count": "stars",
    "forks_count": "forks",
    "subscribers_count": "watchers",
    "open_issues_count": "open_issues",
}


class GitHubSource(Source, name="github"):
    config: GitHubConfig

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
        """Each payload is one repository: its own record."""
        for payload in payloads:
            if not isinstance(payload, dict):
                raise PayloadError(f"expected a repository object, got {type(payload).__name__}")
        links = {k.lower(): v for k, v in self.config.links.items()}
        records = Records(self.name)
        records.take(payloads, partial(self._rows, links=links, observed_at=observed_at))
        return records.result

    def _rows(self, record: Any, links: dict[str, str], observed_at: datetime) -> Rows:
        repo = GitHubRepo.model_validate(record)
        entry = CatalogEntry(
            source=self.name,
            model_id=repo.full_name,
            hugging_face_id=links.get(repo.full_name.lower()),
            display_name=repo.full_name,
            observed_at=observed_at,
        )
        observations = self.observations(repo.full_name, present(repo, METRICS), observed_at)
        # Two configured names, one repository: a duplicate.
        return Rows(key=repo.full_name.lower(), catalog=[entry], observations=observations)
