"""Hugging Face adoption: downloads (rolling 30 days), likes and trending score per repo."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import partial
from typing import Any

import httpx

from schemas.config import HuggingFaceConfig
from schemas.huggingface import HuggingFaceModel, check_page
from schemas.limits import check_timestamp
from schemas.rows import CatalogEntry, SourceResult

from ..http import PayloadError, SourceClient
from .base import Records, Rows, Source, present

EXPAND = ["downloads", "downloadsAllTime", "likes", "trendingScore", "createdAt", "lastModified"]

# Which fields become observations, under which metric name.
METRICS = {
    "downloads": "downloads",
    "likes": "likes",
    "trending_score": "trending_score",
    "downloads_all_time": "downloads_all_time",
}


class HuggingFaceSource(Source, name="huggingface"):
    config: HuggingFaceConfig

    async def fetch(self, client: SourceClient, plan: Any = None) -> None:
        """One listing per author plus the overall top-N, each following `Link` pages."""
        base = [("sort", "downloads"), ("direction", "-1")] + [("expand", e) for e in EXPAND]
        queries = [
            (base + [("author", a)], self.config.models_per_author) for a in self.config.authors
        ]
        if self.config.top_n:
            queries.append((base, self.config.top_n))
        for query, wanted in queries:
            url: str | None = f"{self.config.base_url}/api/models"
            params: list[tuple[str, Any]] | None = query + [
                ("limit", min(self.config.page_size, wanted))
            ]
            got = 0
            seen: set[str] = set()
            for _ in range(self.config.max_pages):
                if url is None or got >= wanted:
                    break
                if url in seen:
                    raise PayloadError(f"Link pagination loops back to {url}")
                seen.add(url)
                fetched = await client.get_json(url, params=params)
                assert fetched is not None
                page = fetched.data
                if not isinstance(page, list):
                    raise PayloadError(
                        f"expected a JSON array of models, got {type(page).__name__}"
                    )
                got += len(page)
                nxt = _next_link(fetched.headers.get("link"))
                url = str(httpx.URL(fetched.url).join(nxt)) if nxt else None
                params = None

    def parse(self, payloads: list[Any], observed_at: datetime) -> SourceResult:
        records = Records(self.name, vintage="expand")
        for payload in payloads:
            try:
                page = check_page(payload)
            except ValueError as exc:
                raise PayloadError(f"not a Hugging Face models page: {exc}") from None
            records.take(page, partial(self._rows, observed_at=observed_at))
        return records.result

    def _rows(self, record: Any, observed_at: datetime) -> Rows:
        model = HuggingFaceModel.model_validate(record)
        observations = self.observations(model.id, present(model, METRICS), observed_at)
        catalog = []
        created = _created(model.created_at)
        if created is not None:  # the traction formula's age term reads it
            catalog.append(
                CatalogEntry(
                    source=self.name, model_id=model.id, created_at=created, observed_at=observed_at
                )
            )
        # The same id again: an author listing and the top-N overlap.
        return Rows(key=model.id, observations=observations, catalog=catalog)


def _created(text: str | None) -> datetime | None:
    """`createdAt` as an aware time; None when absent or not a time (it only informs the
    age term, so a malformed one costs that term, not the record)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return check_timestamp(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))
    except (ValueError, OverflowError):
        return None


def _next_link(header: str | None) -> str | None:
    """The `rel="next"` target of a GitHub-style Link header."""
    if not header:
        return None
    for part in header.split(","):
        section = part.split(";")
        if len(section) < 2:
            continue
        target = section[0].strip()
        rels = [s.strip() for s in section[1:]]
        if (
            target.startswith("<")
            and target.endswith(">")
            and any(r.replace(" ", "") in ('rel="next"', "rel=next") for r in rels)
        ):
            return target[1:-1]
    return None
