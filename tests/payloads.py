"""Upstream payloads in their real shapes, shared by the contract, fault-matrix, archive
and scoring tests (a module of data, not of tests: no test module imports another)."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from traction.demo.upstream import bundled

T0 = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)

# Vintage A, shaped like litellm-wzrd-momentum 0.1.0's test fixture: its first model is verbatim
# that package's own (its golden score 3.43925); the other two are chosen to give its other
# golden scores (0.14025, -2.069).
WZRD_A = {
    "generated_at": "2026-03-26T12:00:00Z",
    "count": 3,
    "signal_version": 2,
    "update_interval_secs": 600,
    "models": [
        {
            "model": "Qwen/Qwen3.5-9B",
            "market_id": 20,
            "platform": "huggingface",
            "velocity_trend": "surging",
            "momentum_score": 0.92,
            "velocity_delta_pct": 65.3,
            "routing_implication": "pre_warm_urgent",
            "history_depth": 3,
            "history_confidence": "normal",
        },
        {
            "model": "meta-llama/Llama-3.3-70B-Instruct",
            "velocity_trend": "stable",
            "momentum_score": 0.45,
            "velocity_delta_pct": 2.1,
            "history_confidence": "normal",
        },
        {
            "model": "mistralai/Mistral-7B-Instruct-v0.3",
            "velocity_trend": "cooling",
            "momentum_score": 0.12,
            "velocity_delta_pct": -42.0,
            "history_confidence": "normal",
        },
    ],
}
WZRD_B = {
    "count": 2,
    "models": [
        {
            "model": "Qwen/Qwen3.5-9B",
            "trend": "accelerating",
            "score": 0.7,
            "action": "pre_warm",
            "confidence": "high",
            "platform": "huggingface",
            "capabilities": ["chat"],
        },
        {
            "model": "qwen/qwen3.5-9b",
            "trend": "stable",
            "score": 0.5,
            "action": "maintain",
            "confidence": "unknown",
            "platform": "openrouter",
            "capabilities": [],
        },
    ],
}
WZRD_C = {
    "contract_version": "wzrd.momentum.v1",
    "generated_at": "2026-03-28T09:30:00Z",
    "provenance": {"source": "wzrd", "root_seq": 4411},
    "count": 1,
    "models": [
        {
            "model": "Qwen/Qwen3.5-9B",
            "trend": "surging",
            "score": 0.9,
            "action": "pre_warm_urgent",
            "confidence": "normal",
            "platform": "huggingface",
            "reason": "downloads up",
            "delta_pct": 41.0,
            "velocity_ema": None,
            "quality_index": None,
        },
    ],
}


RANKINGS = {
    "data": [
        {
            "date": "2026-11-01",
            "model_permaslug": "qwen/qwen3.5-9b-20260601",
            "total_tokens": "912000000",
        },
        {
            "date": "2026-11-01",
            "model_permaslug": "openai/gpt-oss-120b-20260601",
            "total_tokens": "500000000",
        },
        {"date": "2026-11-01", "model_permaslug": "other", "total_tokens": "7000000000"},
    ],
    "meta": {
        "as_of": "2026-11-02",
        "version": "1",
        "start_date": "2026-11-01",
        "end_date": "2026-11-01",
    },
}
PRICE_MAP = {
    "sample_spec": {"input_cost_per_token": "0.0", "litellm_provider": "one of ..."},
    "groq/openai/gpt-oss-120b": {
        "litellm_provider": "groq",
        "mode": "chat",
        "input_cost_per_token": 1.5e-07,
        "output_cost_per_token": 7.5e-07,
    },
    "together_ai/Qwen/Qwen3.5-9B": {
        "litellm_provider": "together_ai",
        "mode": "chat",
        "input_cost_per_token": 8e-08,
        "output_cost_per_token": 2e-07,
    },
    "dall-e-3": {
        "litellm_provider": "openai",
        "mode": "image_generation",
        "output_cost_per_image": 0.04,
    },
}


def page_of(day: int, source: str) -> Any:
    """The good payload of `source` on simulated `day` (day 1 differs from day 0)."""
    if source == "openrouter":
        return bundled("openrouter", 7 if day else 0)
    if source == "huggingface":
        return [m for m in bundled("huggingface", day) if m["id"].startswith("Qwen/")]
    if source == "wzrd":
        payload = copy.deepcopy(WZRD_C)
        payload["generated_at"] = (T0 + timedelta(days=day)).isoformat()
        return payload
    if source == "openrouter_endpoints":
        return bundled("openrouter_endpoints", day)["qwen/qwen3.5-9b"]
    if source == "openrouter_rankings":
        payload = copy.deepcopy(RANKINGS)
        for row in payload["data"]:
            row["date"] = str((T0 + timedelta(days=day)).date())
        return payload
    if source == "github":
        return bundled("github", day)["QwenLM/Qwen3.5"]
    if source == "litellm_prices":
        payload = copy.deepcopy(PRICE_MAP)
        payload["groq/openai/gpt-oss-120b"]["input_cost_per_token"] = 1.5e-07 + day * 1e-08
        return payload
    raise AssertionError(source)


def endpoints_body(model_id: str, offers: dict[str, float]) -> dict[str, Any]:
    """An OpenRouter /models/{id}/endpoints body: provider tag -> USD per million tokens."""

    def per_token(usd: float) -> str:
        return format(Decimal(str(usd)) / 1_000_000, "f")

    return {
        "data": {
            "id": model_id,
            "endpoints": [
                {
                    "provider_name": tag.title(),
                    "tag": tag,
                    "pricing": {"prompt": per_token(usd), "completion": per_token(usd)},
                }
                for tag, usd in offers.items()
            ],
        }
    }
