"""The sources: each fetches raw payloads and parses them into rows; nothing else.

`fetch` does the network part and `parse` is pure, so a saved payload (the demo's
bundled days, an operator's dump) goes through exactly the same contract checks.
"""

from __future__ import annotations

from typing import Any, Protocol

from schemas.config import TractionConfig

from .huggingface import HuggingFaceSource
from .openrouter import OpenRouterSource
from .wzrd import WzrdSource


class Source(Protocol):
    name: str

    async def fetch(self, client: Any, retry: Any) -> list[Any]: ...

    def parse(self, payloads: list[Any], observed_at: Any) -> Any: ...


def build_sources(config: TractionConfig, only_enabled: bool = True) -> dict[str, Source]:
    s = config.sources
    every: dict[str, Source] = {
        "openrouter": OpenRouterSource(s.openrouter),
        "huggingface": HuggingFaceSource(s.huggingface),
        "wzrd": WzrdSource(s.wzrd),
    }
    return {
        name: src for name, src in every.items() if not only_enabled or getattr(s, name).enabled
    }


__all__ = ["Source", "build_sources", "OpenRouterSource", "HuggingFaceSource", "WzrdSource"]
