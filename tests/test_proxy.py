"""A real LiteLLM proxy on 127.0.0.1, configured exactly as docs/litellm.md documents, routed by
traction's callback; requests go through the `openai` client like any user's would."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from scoring.snapshot import render, write_atomically

from helpers import snapshot_body

openai = pytest.importorskip("openai")
pytest.importorskip("fastapi", reason="the proxy needs litellm[proxy] (pip install -e '.[proxy]')")

QWEN, LLAMA, GEMMA = (
    "qwen/qwen3-235b-a22b",
    "meta-llama/llama-3.3-70b-instruct",
    "google/gemma-3-27b-it",
)

MODEL_LIST = [
    {
        "model_name": "chat",
        "model_info": {"id": "chat-gemma", "hf_repo_id": "google/gemma-3-27b-it"},
        "litellm_params": {"model": "openai/gpt-4o-mini", "mock_response": "from gemma"},
    },
    {
        "model_name": "chat",
        "model_info": {"id": "chat-qwen", "hf_repo_id": "Qwen/Qwen3-235B-A22B"},
        "litellm_params": {"model": "openai/gpt-4o-mini", "mock_response": "from qwen"},
    },
    {
        "model_name": "chat",
        "model_info": {"id": "chat-llama"},
        "litellm_params": {
            "model": "openrouter/meta-llama/llama-3.3-70b-instruct",
            "mock_response": "from llama",
        },
    },
]
for entry in MODEL_LIST:  # nothing leaves loopback even if a mock were bypassed
    entry["litellm_params"].update(api_key="sk-none", api_base="http://127.0.0.1:9")


def documented_config() -> dict:
    """docs/litellm.md's proxy config.yaml, with this test's deployments."""
    import yaml

    readme = (Path(__file__).resolve().parent.parent / "docs" / "litellm.md").read_text()
    section = readme.split("## Using it from the LiteLLM proxy", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    config = yaml.safe_load(block)
    assert config["litellm_settings"]["callbacks"] == "router_adapter.proxy.proxy_handler_instance"
    config["model_list"] = MODEL_LIST
    return config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def publish(path: Path, top: str, version: int, generated_at: datetime | None = None) -> None:
    scores = {QWEN: 1.0, LLAMA: 1.0, GEMMA: 1.0}
    scores[top] = 3.0
    body = snapshot_body(
        [(k, v, []) for k, v in scores.items()], version=version, generated_at=generated_at
    )
    write_atomically(path, render(body.seal()))


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("proxy")
    import yaml

    (workdir / "config.yaml").write_text(yaml.safe_dump(documented_config()))
    snapshot = workdir / "snapshot.json"
    publish(snapshot, QWEN, version=1)
    port = free_port()
    cli = shutil.which("litellm", path=str(Path(sys.executable).parent))
    assert cli, "the litellm console script is missing from this environment"
    env = {
        **os.environ,
        "LITELLM_MASTER_KEY": "sk-traction-test",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "TRACTION_ADAPTER__SNAPSHOT": str(snapshot),
        "TRACTION_ADAPTER__CHECK_INTERVAL": "0",
        "TRACTION_ADAPTER__MAX_AGE": "3600",
    }
    log = (workdir / "proxy.log").open("w")
    process = subprocess.Popen(
        [cli, "--config", str(workdir / "config.yaml"), "--host", "127.0.0.1", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, (workdir / "proxy.log").read_text()[-3000:]
        try:
            if httpx.get(f"{base}/health/liveliness", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, (workdir / "proxy.log").read_text()[-3000:]
        time.sleep(0.5)
    yield base, snapshot
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def served_ids(base: str, n: int) -> Counter:
    client = openai.OpenAI(base_url=base, api_key="sk-traction-test", max_retries=0)
    seen: Counter = Counter()
    for _ in range(n):
        raw = client.chat.completions.with_raw_response.create(
            model="chat", messages=[{"role": "user", "content": "hi"}]
        )
        seen[raw.headers["x-litellm-model-id"]] += 1
    return seen


def test_proxy_routes_by_the_snapshot_follows_a_new_one_and_falls_back_when_stale(proxy):
    base, snapshot = proxy
    assert served_ids(base, 6) == {"chat-qwen": 6}  # simple-shuffle alone would spread these

    publish(snapshot, LLAMA, version=2)  # no restart
    assert served_ids(base, 6) == {"chat-llama": 6}

    old = datetime.now(timezone.utc) - timedelta(hours=2)  # older than MAX_AGE=3600
    publish(snapshot, QWEN, version=3, generated_at=old)
    assert served_ids(base, 6) == {"chat-gemma": 6}  # deployment order: the first one
