"""The sources: each fetches raw pages and parses them into rows; nothing else.

`fetch` does the network part (every page it gets is kept by the client, for the
archive) and `parse` is pure, so a saved payload (an operator's dump, a replay from
the archive, the demo's bundled days) goes through exactly the same contract checks.
A source may also `plan` its run from the store (which models to ask about, which
ETags it holds) before any network I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from schemas.config import TractionConfig
from schemas.rows import SourceResult

from ..http import SourceClient
from .github import GitHubSource
from .huggingface import HuggingFaceSource
from .litellm_prices import LiteLLMPricesSource
from .openrouter import OpenRouterSource
from .openrouter_endpoints import OpenRouterEndpointsSource
from .openrouter_rankings import OpenRouterRankingsSource
from .wzrd import WzrdSource


class Source(Protocol):
    name: str
    budget_key: str  # sources of one upstream share its rate limit
    exact_numbers: bool  # decode JSON numbers as Decimal (prices)

    async def fetch(self, client: SourceClient, plan: Any = None) -> None: ...

    def parse(self, payloads: list[Any], observed_at: datetime) -> SourceResult: ...


SOURCE_TYPES: dict[str, type] = {
    "openrouter": OpenRouterSource,
    "openrouter_endpoints": OpenRouterEndpointsSource,
    "openrouter_rankings": OpenRouterRankingsSource,
    "huggingface": HuggingFaceSource,
    "github": GitHubSource,
    "litellm_prices": LiteLLMPricesSource,
    "wzrd": WzrdSource,
}


def build_sources(config: TractionConfig, only_enabled: bool = True) -> dict[str, Source]:
    """Sources in dependency order: the catalogue before the per-model endpoints."""
    built: dict[str, Source] = {}
    for name, kind in SOURCE_TYPES.items():
        section = getattr(config.sources, name)
        if section.enabled or not only_enabled:
            built[name] = kind(section)
    return built


__all__ = ["Source", "SOURCE_TYPES", "build_sources"]
