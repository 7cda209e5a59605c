"""The sources: each fetches raw pages and parses them into rows; nothing else.

Every source is a `base.Source`: `fetch` does the network part (every page it gets is
kept by the client, for the archive) and `parse` is pure, so a saved payload (an
operator's dump, a replay from the archive, the demo's bundled days) goes through
exactly the same contract checks, in the one record loop `base.Records` owns. A source
may also `plan` its run from the store (which models to ask about, which ETags it holds)
before any network I/O, and name the sources it `runs_after`.
"""

from __future__ import annotations

from schemas.config import TractionConfig

from .base import Source
from .github import GitHubSource
from .huggingface import HuggingFaceSource
from .litellm_prices import LiteLLMPricesSource
from .openrouter import OpenRouterSource
from .openrouter_endpoints import OpenRouterEndpointsSource
from .openrouter_rankings import OpenRouterRankingsSource
from .wzrd import WzrdSource

SOURCE_TYPES: dict[str, type[Source]] = {
    kind.name: kind
    for kind in (
        OpenRouterSource,
        OpenRouterEndpointsSource,
        OpenRouterRankingsSource,
        HuggingFaceSource,
        GitHubSource,
        LiteLLMPricesSource,
        WzrdSource,
    )
}


def build_sources(config: TractionConfig, only_enabled: bool = True) -> dict[str, Source]:
    """The sources by name (the order `SOURCE_TYPES` lists them in)."""
    built: dict[str, Source] = {}
    for name, kind in SOURCE_TYPES.items():
        section = getattr(config.sources, name)
        if section.enabled or not only_enabled:
            built[name] = kind(section)
    return built


__all__ = ["Source", "SOURCE_TYPES", "build_sources"]
