"""One LiteLLM replica for the fleet tests: a real `litellm.Router` ranked by traction from
a `redis://` snapshot, routing one request after another and reporting each as a JSON line.

    python tests/fleet_adapter.py REDIS_URL MAX_AGE

Every deployment answers with `mock_response` (no provider is contacted). Each line:
`{"t", "deployment", "decision", "version", "refused", "error"}`; the first line is
`{"ready": true, ...}` once the first look at Redis is done. Runs until killed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

GROUP = "open-chat"
# Configured order: llama first (what a fallback serves); the cost-ranked snapshot puts
# gpt-oss-120b first, qwen3.5-9b second.
DEPLOYMENTS = [
    ("llama-70b", "openrouter/meta-llama/llama-3.3-70b-instruct"),
    ("qwen-9b", "openrouter/qwen/qwen3.5-9b"),
    ("gpt-oss-120b", "openrouter/openai/gpt-oss-120b"),
]
PAUSE = 0.05  # seconds between requests


def model_list() -> list[dict[str, Any]]:
    return [
        {
            "model_name": GROUP,
            "litellm_params": {
                "model": route,
                "api_key": "sk-test",
                "api_base": "http://127.0.0.1:9",
                "mock_response": f"reply from {dep_id}",
            },
            "model_info": {"id": dep_id},
        }
        for dep_id, route in DEPLOYMENTS
    ]


def emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


async def main(url: str, max_age: float) -> None:
    from litellm import Router

    from router_adapter import register

    router = Router(model_list=model_list(), num_retries=0)
    strategy = register(router, snapshot=url, max_age=max_age, refresh_interval=0.5)
    source = strategy.reader
    source.wait_first(15)
    emit({"ready": True, "pid": os.getpid(), "location": source.location})
    messages = [{"role": "user", "content": "hello"}]
    while True:
        metadata: dict[str, Any] = {}
        deployment = error = None
        try:
            response = await router.acompletion(model=GROUP, messages=messages, metadata=metadata)
            deployment = response._hidden_params["model_id"]
            if response.choices[0].message.content != f"reply from {deployment}":
                error = "answer does not come from the deployment that was picked"
        except Exception as exc:  # reported, not raised: the test counts failed requests
            error = f"{type(exc).__name__}: {exc}"
        decision = metadata.get("traction") or {}
        emit(
            {
                "t": time.time(),
                "deployment": deployment,
                "decision": decision.get("decision"),
                "version": decision.get("snapshot_version"),
                "refused": source.refused,
                "error": error,
            }
        )
        await asyncio.sleep(PAUSE)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
