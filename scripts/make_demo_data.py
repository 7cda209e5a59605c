"""Regenerate the demo's bundled upstream payloads (traction/demo/data/).

The payloads follow the upstream APIs' real shapes: OpenRouter's 2026 `/models`
envelope (`{"data": [...], "total_count", "links"}`, prices as decimal strings per
token), and Hugging Face's bare-array `GET /api/models` list with the `expand` fields
(`downloads` a rolling 30-day count, `likes`, `trendingScore`, `createdAt`). Growth per
model is fixed here so the demo's trends are the same on every machine.

    python scripts/make_demo_data.py
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

DAYS = 8
OUT = Path(__file__).resolve().parent.parent / "traction" / "demo" / "data"

# hf id, OpenRouter id (or None), downloads on day 0, daily growth, likes, likes/day
HF_MODELS = [
    ("Qwen/Qwen3.5-9B", "qwen/qwen3.5-9b", 180_000, 0.38, 900, 60),
    ("Qwen/Qwen3.5-35B-A3B", "qwen/qwen3.5-35b-a3b", 420_000, 0.12, 2_100, 40),
    ("openai/gpt-oss-120b", "openai/gpt-oss-120b", 1_900_000, 0.04, 4_300, 12),
    (
        "meta-llama/Llama-3.3-70B-Instruct",
        "meta-llama/llama-3.3-70b-instruct",
        2_600_000,
        0.0,
        2_500,
        1,
    ),
    ("google/gemma-3-27b-it", "google/gemma-3-27b-it", 900_000, -0.03, 1_700, 2),
    ("deepseek-ai/DeepSeek-V3.2", "deepseek/deepseek-v3.2", 310_000, -0.20, 1_300, 0),
    (
        "mistralai/Mistral-Small-3.2-24B-Instruct-2506",
        "mistralai/mistral-small-3.2-24b-instruct",
        750_000,
        -0.55,
        800,
        0,
    ),
    ("microsoft/Phi-4", None, 520_000, 0.02, 2_000, 3),
]

# OpenRouter id, name, prompt $/token, completion $/token, context, hugging_face_id
OR_MODELS = [
    ("qwen/qwen3.5-9b", "Qwen: Qwen3.5 9B", "0.00000005", "0.00000015", 262144, "Qwen/Qwen3.5-9B"),
    (
        "qwen/qwen3.5-35b-a3b",
        "Qwen: Qwen3.5 35B A3B",
        "0.00000013",
        "0.0000006",
        262144,
        "Qwen/Qwen3.5-35B-A3B",
    ),
    (
        "openai/gpt-oss-120b",
        "OpenAI: gpt-oss-120b",
        "0.00000004",
        "0.0000002",
        131072,
        "openai/gpt-oss-120b",
    ),
    (
        "meta-llama/llama-3.3-70b-instruct",
        "Meta: Llama 3.3 70B Instruct",
        "0.0000001",
        "0.00000032",
        131072,
        "meta-llama/Llama-3.3-70B-Instruct",
    ),
    (
        "meta-llama/llama-3.3-70b-instruct:free",
        "Meta: Llama 3.3 70B Instruct (free)",
        "0",
        "0",
        65536,
        "meta-llama/Llama-3.3-70B-Instruct",
    ),
    (
        "google/gemma-3-27b-it",
        "Google: Gemma 3 27B",
        "0.00000009",
        "0.00000017",
        131072,
        "google/gemma-3-27b-it",
    ),
    (
        "deepseek/deepseek-v3.2",
        "DeepSeek: DeepSeek V3.2",
        "0.00000027",
        "0.0000004",
        163840,
        "deepseek-ai/DeepSeek-V3.2",
    ),
    (
        "mistralai/mistral-small-3.2-24b-instruct",
        "Mistral: Mistral Small 3.2 24B",
        "0.00000006",
        "0.00000018",
        131072,
        "mistralai/Mistral-Small-3.2-24B-Instruct-2506",
    ),
    (
        "anthropic/claude-sonnet-4.5",
        "Anthropic: Claude Sonnet 4.5",
        "0.000003",
        "0.000015",
        1000000,
        "",
    ),
    ("openrouter/auto", "Auto Router", "-1", "-1", 2000000, None),
]


# GitHub repository, stars on day 0, stars per day, the HF model it stands for
GITHUB_REPOS = [
    ("QwenLM/Qwen3.5", 21_000, 450, "Qwen/Qwen3.5-9B"),
    ("meta-llama/llama-models", 7_300, 4, "meta-llama/Llama-3.3-70B-Instruct"),
    ("openai/gpt-oss", 19_000, 60, "openai/gpt-oss-120b"),
    ("mistralai/mistral-inference", 10_600, 1, None),
]

# OpenRouter id -> providers: (tag, provider name, prompt $/token, completion, discount,
# quantization, uptime over the last day)
ENDPOINTS = {
    "qwen/qwen3.5-9b": [
        ("deepinfra/fp8", "DeepInfra", "0.00000005", "0.00000015", 0, "fp8", 99.6),
        ("together", "Together", "0.00000008", "0.0000002", 0, "bf16", 99.9),
    ],
    "meta-llama/llama-3.3-70b-instruct": [
        ("groq", "Groq", "0.00000059", "0.00000079", 0, None, 98.1),
        ("deepinfra/turbo", "DeepInfra", "0.0000001", "0.00000032", 0.5, "fp8", 99.2),
    ],
}


def object_id(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()[:24]


def hf_day(day: int) -> list[dict]:
    items = []
    for hf_id, _, downloads, growth, likes, likes_per_day in HF_MODELS:
        items.append(
            {
                "_id": object_id(hf_id),
                "id": hf_id,
                "downloads": int(downloads * (1 + growth) ** day),
                "downloadsAllTime": int(downloads * 6 + downloads * day * (1 + growth)),
                "likes": likes + likes_per_day * day,
                # Most repos trend at 0; fast growers climb with their downloads.
                "trendingScore": int(100 * growth * (1 + growth) ** day) if growth > 0.05 else 0,
                "createdAt": "2026-06-01T10:00:00.000Z",
                "lastModified": f"2026-11-{10 + day:02d}T08:00:00.000Z",
            }
        )
    if day == DAYS - 2:
        # Upstream drift the demo's status report should show: a count sent as a string.
        items.append(
            {
                "_id": object_id("drift"),
                "id": "example-org/drifted-model",
                "downloads": "n/a",
                "likes": 3,
            }
        )
    return items


def or_day(day: int) -> dict:
    data = []
    for or_id, name, prompt, completion, context, hf_id in OR_MODELS:
        if day < DAYS - 1 and or_id == "qwen/qwen3.5-9b":
            prompt = "0.00000006"  # a price cut on the last day
        base = or_id.split(":")[0]
        slug = base if or_id.startswith("openrouter/") else f"{base}-20260601"
        data.append(
            {
                "id": or_id,
                "canonical_slug": slug,
                "hugging_face_id": hf_id,
                "name": name,
                "created": 1780300800,
                "description": f"{name}, as listed by OpenRouter...",
                "context_length": context,
                "architecture": {
                    "modality": "text->text",
                    "input_modalities": ["text"],
                    "output_modalities": ["text"],
                    "tokenizer": "Router" if or_id == "openrouter/auto" else "Other",
                    "instruct_type": None,
                },
                "pricing": {"prompt": prompt, "completion": completion},
                "top_provider": {
                    "context_length": context,
                    "max_completion_tokens": None,
                    "is_moderated": False,
                },
                "per_request_limits": None,
                "supported_parameters": ["max_tokens", "temperature", "tools"],
                "default_parameters": {},
                "supported_voices": None,
                "knowledge_cutoff": None,
                "expiration_date": None,
                "links": {"details": f"/api/v1/models/{slug}/endpoints"},
            }
        )
    return {"data": data, "total_count": len(data), "links": {"next": None}}


def github_day(day: int) -> dict:
    repos = {}
    for full_name, stars, per_day, _ in GITHUB_REPOS:
        repos[full_name] = {
            "id": int(object_id(full_name)[:8], 16),
            "full_name": full_name,
            "stargazers_count": stars + per_day * day,
            "watchers_count": stars + per_day * day,
            "forks_count": stars // 10 + day,
            "subscribers_count": stars // 50,
            "open_issues_count": 120 + day,
            "archived": False,
            "pushed_at": f"2026-11-{10 + day:02d}T12:00:00Z",
        }
    return repos


def endpoints_day(day: int) -> dict:
    models = {}
    for or_id, offers in ENDPOINTS.items():
        models[or_id] = {
            "data": {
                "id": or_id,
                "name": or_id,
                "created": 1780300800,
                "description": "",
                "architecture": {"modality": "text->text"},
                "endpoints": [
                    {
                        "name": f"{name} | {or_id}-20260601",
                        "model_id": or_id,
                        "model_name": or_id,
                        "context_length": 131072,
                        "pricing": {
                            "prompt": prompt,
                            "completion": completion,
                            "discount": discount,
                        },
                        "provider_name": name,
                        "tag": tag,
                        "quantization": quant,
                        "max_completion_tokens": None,
                        "max_prompt_tokens": None,
                        "supported_parameters": ["max_tokens", "temperature"],
                        "uptime_last_30m": uptime,
                        "uptime_last_5m": None,
                        "uptime_last_1d": uptime - (day % 3) * 0.1,
                        "supports_implicit_caching": False,
                        "latency_last_30m": None,
                        "throughput_last_30m": None,
                        "status": 0,
                    }
                    for tag, name, prompt, completion, discount, quant, uptime in offers
                ],
            }
        }
    return models


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for day in range(DAYS):
        (OUT / f"huggingface-day{day}.json").write_text(json.dumps(hf_day(day), indent=1) + "\n")
        (OUT / f"openrouter-day{day}.json").write_text(json.dumps(or_day(day), indent=1) + "\n")
        (OUT / f"github-day{day}.json").write_text(json.dumps(github_day(day), indent=1) + "\n")
        (OUT / f"openrouter_endpoints-day{day}.json").write_text(
            json.dumps(endpoints_day(day), indent=1) + "\n"
        )
    print(f"wrote {DAYS} days to {OUT}")


if __name__ == "__main__":
    main()
