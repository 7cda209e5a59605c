"""A real `litellm.Router` as the adapter tests drive it: deployments that answer with
`mock_response` (no network; `api_base` is loopback in case a mock were ever bypassed),
each with an explicit `model_info.id`, so the served deployment is
`response._hidden_params["model_id"]`. Shared by the adapter test modules."""

from __future__ import annotations

import asyncio
from typing import Any

from litellm import Router

MESSAGES = [{"role": "user", "content": "hello"}]
PATHS = ["async", "sync"]

MISTRAL = "mistralai/mistral-inference"
QWEN = "qwen/qwen3-235b-a22b"
LLAMA = "meta-llama/llama-3.3-70b-instruct"
GEMMA = "google/gemma-3-27b-it"
MODELS = [
    (MISTRAL, 4.0, ["mistral", "mistral-inference"]),
    (QWEN, 2.5, ["qwen/qwen3-235b-a22b-07-25", "qwen3-235b"]),
    (LLAMA, 1.5, ["meta-llama/meta-llama-3.3-70b-instruct"]),
    (GEMMA, 0.5, ["gemma-3-27b"]),
]


# Builders ----------------------------------------------------------------------------


def deployment(
    group: str, dep_id: str, route: str = "openai/gpt-4o-mini", reply: str | None = None, **info
) -> dict[str, Any]:
    return {
        "model_name": group,
        "litellm_params": {
            "model": route,
            "api_key": "sk-test",
            "api_base": "http://127.0.0.1:9",
            "mock_response": f"reply from {dep_id}" if reply is None else reply,
        },
        "model_info": {"id": dep_id, **info},
    }


def chat_group(group: str = "chat") -> list[dict[str, Any]]:
    """Configured order gemma, qwen, llama; the snapshot ranks qwen > llama > gemma."""
    return [
        deployment(group, "chat-gemma", hf_repo_id=GEMMA),
        deployment(group, "chat-qwen", hf_repo_id=QWEN),
        deployment(group, "chat-llama", route="openrouter/meta-llama/llama-3.3-70b-instruct"),
    ]


FIRST, TOP = "chat-gemma", "chat-qwen"


def call(router: Router, path: str, model: str, **kwargs: Any) -> Any:
    if path == "async":
        return asyncio.run(router.acompletion(model=model, messages=MESSAGES, **kwargs))
    return router.completion(model=model, messages=MESSAGES, **kwargs)


def served(router: Router, path: str, model: str = "chat", **kwargs: Any) -> tuple[str, dict]:
    """(id of the deployment that answered, traction's decision in the request metadata)."""
    metadata: dict[str, Any] = {}
    response = call(router, path, model, metadata=metadata, **kwargs)
    model_id = response._hidden_params["model_id"]
    assert response.choices[0].message.content == f"reply from {model_id}"
    return model_id, metadata.get("traction") or {}
