"""Builders shared by tests (importable as `helpers`; pytest puts tests/ on sys.path)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from schemas.config import TractionConfig
from schemas.snapshot import SnapshotBody


def loopback_config(
    tmp_path: Path, url: str = "http://127.0.0.1:9", **sources: Any
) -> TractionConfig:
    """A config whose every source points at `url` (port 9 refuses connections)."""
    data: dict[str, Any] = {
        "storage": {
            "database": tmp_path / "t.duckdb",
            "snapshot": tmp_path / "snapshot.json",
            "analytics": tmp_path / "analytics.duckdb",
        },
        "sources": {
            "openrouter": {"base_url": f"{url}/api/v1", "timeout": 5},
            "huggingface": {
                "base_url": url,
                "authors": ["Qwen", "meta-llama"],
                "models_per_author": 5,
                "top_n": 5,
                "page_size": 5,
                "timeout": 5,
            },
            "openrouter_endpoints": {"base_url": f"{url}/api/v1", "timeout": 5, "top_n": 0},
            "openrouter_rankings": {"base_url": f"{url}/api/v1", "timeout": 5},
            "github": {"enabled": False, "base_url": url, "timeout": 5},
            "litellm_prices": {"enabled": False},
            "wzrd": {"enabled": False, "base_url": url, "timeout": 5},
        },
        "retry": {"attempts": 2, "backoff_initial": 0.01, "backoff_max": 0.05, "run_budget": 20},
    }
    for name, overrides in sources.items():
        data["sources"][name].update(overrides)
    return TractionConfig.model_validate(data)


def snapshot_body(
    models: list[tuple[str, float, list[str]]],
    generated_at: datetime | None = None,
    stale_after: timedelta = timedelta(hours=6),
    version: int = 1,
) -> SnapshotBody:
    """A valid snapshot body: models as (key, score, aliases), ranked by score."""
    generated_at = generated_at or datetime.now(timezone.utc).replace(microsecond=0)
    ranked = sorted(models, key=lambda m: -m[1])
    return SnapshotBody.model_validate(
        {
            "version": version,
            "generated_at": generated_at,
            "stale_after": generated_at + stale_after,
            "policy": "momentum",
            "sources": {},
            "models": [
                {
                    "key": key,
                    "aliases": aliases,
                    "rank": rank,
                    "score": score,
                    "momentum_score": score,
                    "cost_points": 0.0,
                    "blended_usd_per_mtok": None,
                    "cheapest": None,
                    "agreement": 1.0,
                    "confidence_weight": 1.0,
                    "confidence": "normal",
                    "trend": "stable",
                    "components": [],
                }
                for rank, (key, score, aliases) in enumerate(ranked, start=1)
            ],
        }
    )


def openrouter_models(models: list[dict[str, Any]]) -> dict[str, Any]:
    """An OpenRouter /api/v1/models body in the real shape. Each model: id, and optionally
    hf (hugging_face_id, "" when absent as OpenRouter sends it), slug (canonical_slug),
    prompt / completion (USD per million tokens, as strings or numbers)."""
    per_token = lambda usd: format(Decimal(str(usd)) / 1_000_000, "f")  # noqa: E731
    return {
        "data": [
            {
                "id": m["id"],
                "canonical_slug": m.get("slug", m["id"].split(":")[0]),
                "hugging_face_id": m.get("hf", ""),
                "name": m.get("name", m["id"]),
                "created": 1750000000,
                "context_length": 131072,
                "architecture": {"modality": "text->text", "input_modalities": ["text"]},
                "pricing": {
                    "prompt": per_token(m.get("prompt", 1)),
                    "completion": per_token(m.get("completion", 2)),
                },
            }
            for m in models
        ]
    }
