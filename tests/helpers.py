"""Builders shared by tests (importable as `helpers`; pytest puts tests/ on sys.path)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ingest.sources import SOURCE_TYPES
from schemas.config import TractionConfig
from schemas.snapshot import SnapshotBody
from traction.http_app import HttpServer


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
        # tests run cycles seconds apart and expect each with news to publish
        "scoring": {"min_publish_interval": 0},
    }
    for name, overrides in sources.items():
        data["sources"][name].update(overrides)
    return TractionConfig.model_validate(data)


def model_entry(key: str, aliases: list[str], score: float, **fields: Any) -> dict[str, Any]:
    """A snapshot's model entry with neutral defaults (no price, one agreeing signal, normal
    confidence, stable); `fields` override them."""
    return {
        "key": key,
        "aliases": aliases,
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
        **fields,
    }


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
                model_entry(key, aliases, score, rank=rank)
                for rank, (key, score, aliases) in enumerate(ranked, start=1)
            ],
        }
    )


# What a misbehaving upstream does to every request (see `Misbehaving`).
FAULTS = ("redirect_loop", "bad_content_encoding", "deep_nesting")


def loopback_http(app: Any) -> HttpServer:
    """`app` (a Starlette app) served on 127.0.0.1, on a free port, by uvicorn in a
    thread: the stack traction itself serves HTTP with. A context manager; `.url`."""
    return HttpServer(app, "127.0.0.1", 0, name="test-http", log_requests=False)


class Misbehaving:
    """A loopback HTTP server that answers every GET with one fault, the way a broken
    proxy or CDN does: a redirect to itself, a body that is not the gzip its
    `Content-Encoding` says, or JSON nested 100,000 levels deep."""

    def __init__(self, fault: str):
        assert fault in FAULTS, fault
        self.fault = fault
        self.requests = 0
        self._server: HttpServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return self._server.url

    def _answer(self, request: Request) -> Response:
        self.requests += 1
        if self.fault == "redirect_loop":
            target = request.scope["raw_path"].decode("latin-1")
            if request.url.query:
                target += "?" + request.url.query
            return Response(status_code=302, headers={"Location": target})
        if self.fault == "bad_content_encoding":
            body = b"this is not gzip" * 8
            headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        else:
            body, headers = b"[" * 100_000 + b"]" * 100_000, {"Content-Type": "application/json"}
        return Response(body, headers=headers)

    def __enter__(self) -> Misbehaving:
        async def endpoint(request: Request) -> Response:
            return self._answer(request)

        self._server = loopback_http(Starlette(routes=[Route("/{path:path}", endpoint)])).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server:
            self._server.close()


def cycle_toml(tmp_path: Path, url: str, extra: str = "") -> Path:
    """A config file for whole cycles against a loopback mirror (`traction.demo.upstream`):
    OpenRouter, Hugging Face and GitHub enabled, unpaced; `extra` TOML is appended."""
    path = tmp_path / "traction.toml"
    path.write_text(
        f"""
[storage]
database = "{tmp_path / "data" / "traction.duckdb"}"
snapshot = "{tmp_path / "data" / "snapshot.json"}"
analytics = ""

[retry]
attempts = 2
backoff_initial = 0.01
backoff_max = 0.05
run_budget = 20

[sources.openrouter]
requests_per_window = 10000
base_url = "{url}/api/v1"
timeout = 5

[sources.huggingface]
requests_per_window = 10000
base_url = "{url}"
authors = ["Qwen", "meta-llama"]
top_n = 5
timeout = 5

[sources.github]
requests_per_window = 10000
base_url = "{url}"
repositories = ["QwenLM/Qwen3.5", "meta-llama/llama-models"]
timeout = 5

[sources.openrouter_endpoints]
base_url = "{url}/api/v1"
top_n = 0
timeout = 5

[sources.openrouter_rankings]
base_url = "{url}/api/v1"
timeout = 5

[sources.litellm_prices]
enabled = false
{extra}
"""
    )
    return path


# The command as an operator runs it ----------------------------------------------------


class Served:
    """`traction serve --listen 127.0.0.1:0` as a real process; stderr to a file."""

    def __init__(self, snapshot: Path, log: Path):
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACTION_")}
        env["TRACTION_STORAGE__SNAPSHOT"] = str(snapshot)
        self.log = log
        self._stderr = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "traction.cli", "serve", "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=env,
        )
        self.line = line = self.process.stdout.readline()  # "serving PATH on URL"
        assert " on http://127.0.0.1:" in line, line + log.read_text()
        self.url = line.split(" on ", 1)[1].split()[0]
        host, port = self.url.removeprefix("http://").split(":")
        self.address = (host, int(port))

    def stderr(self) -> str:
        self._stderr.flush()
        return self.log.read_text()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process.stdout.close()
        self._stderr.close()


def traction(*args: str, config: Path | None = None, cwd: Path | None = None, **env: str):
    """`traction ARGS` in a real process (see `traction_cli`)."""
    return traction_cli(*args, config=config, cwd=cwd, **env)


# Where each source's API sits on the loopback mirror (`traction/demo/upstream.py`).
LOOPBACK_PATHS = {
    "openrouter": "/api/v1",
    "huggingface": "",
    "wzrd": "",
    "openrouter_endpoints": "/api/v1",
    "openrouter_rankings": "/api/v1",
}


def loopback_section(name: str, url: str) -> str:
    """A source's section of a test config: pointed at the mirror, not paced (WZRD is off
    by default, so it is switched on; Hugging Face lists two authors and a top 5)."""
    first = (
        "enabled = true"
        if name == "wzrd"
        else "requests_per_window = 10000  # a loopback mirror: no need to pace"
    )
    listing = 'authors = ["Qwen", "meta-llama"]\ntop_n = 5\n' if name == "huggingface" else ""
    return (
        f'\n[sources.{name}]\n{first}\nbase_url = "{url}{LOOPBACK_PATHS[name]}"\n'
        f"{listing}timeout = 5\n"
    )


def write_config(
    tmp_path: Path, url: str, sources: tuple[str, ...] = tuple(LOOPBACK_PATHS), extra: str = ""
) -> Path:
    """tmp_path/traction.toml: data under tmp_path/data, `sources` pointed at the loopback
    mirror at `url`, every other source off (tests never leave 127.0.0.1); `extra`
    appended."""
    data = tmp_path / "data"
    text = f"""
[storage]
database = "{data / "traction.duckdb"}"
snapshot = "{data / "snapshot.json"}"
analytics = "{data / "analytics.duckdb"}"
"""
    text += "".join(loopback_section(name, url) for name in sources)
    text += """
[retry]
attempts = 2
backoff_initial = 0.01
backoff_max = 0.05

[scoring]
min_publish_interval = 0  # cycles seconds apart: each with news publishes
"""
    for name in SOURCE_TYPES:
        if f"[sources.{name}]" not in text:
            text += f"\n[sources.{name}]\nenabled = false\n"
    path = tmp_path / "traction.toml"
    path.write_text(text + extra)
    return path


def daemon_config(tmp_path: Path, url: str) -> Path:
    path = write_config(tmp_path, url)
    text = path.read_text().replace(
        "[sources.wzrd]\nenabled = true", "[sources.wzrd]\nenabled = false"
    )
    text = text.replace(  # the analysts' copy refreshed as often as the cycles run
        "[storage]\n", "[storage]\nanalytics_delay = 1\n", 1
    )
    text = text.replace("[sources.openrouter]\n", "[sources.openrouter]\ninterval = 2\n", 1)
    text = text.replace("[sources.huggingface]\n", "[sources.huggingface]\ninterval = 2\n", 1)
    text = text.replace(
        "[sources.openrouter_endpoints]\n", "[sources.openrouter_endpoints]\nenabled = false\n", 1
    )
    path.write_text(text)
    return path


def start(config: Path, log: Path, *extra: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACTION_")}
    env["TRACTION_CONFIG"] = str(config)
    return subprocess.Popen(
        [sys.executable, "-m", "traction.cli", "run", *extra],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )


def bundled_week(directory: Path) -> tuple[Path, TractionConfig]:
    """Eight bundled days ending now, through the real pipeline: (config file, config)."""
    from traction.config import load_config
    from traction.demo.upstream import Upstream
    from traction.pipeline import run_cycle

    now = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
    with Upstream() as up:
        path = write_config(directory, up.url)
        config = load_config(path, environ={})
        for day in range(8):
            up.set_day(day)
            run_cycle(config, now=now - timedelta(days=7 - day))
    return path, config


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


# Processes for the robustness tests ---------------------------------------------------


def traction_cli(
    *args: str,
    config: Path | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
    **env: str,
):
    """`python -m traction.cli ARGS` as an operator runs it: a real process, no TRACTION_*
    variables from the machine, `config` as TRACTION_CONFIG, `env` added."""
    import os
    import subprocess
    import sys

    environ = {k: v for k, v in os.environ.items() if not k.startswith("TRACTION_")}
    environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    environ.update(env)
    if config:
        environ["TRACTION_CONFIG"] = str(config)
    return subprocess.run(
        [sys.executable, "-m", "traction.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd,
        timeout=timeout,
    )


def config_file(tmp_path: Path, url: str = "http://127.0.0.1:9", extra: str = "") -> Path:
    """A TOML config for `traction_cli`: OpenRouter and Hugging Face at `url` (loopback),
    every other source off; `extra` appended."""
    return write_config(tmp_path, url, sources=("openrouter", "huggingface"), extra=extra)


class Holder:
    """A real process that runs `code` (Python; `DB` is the database path), prints `ready`,
    then sleeps until killed: holds a lock, or dies mid-way, as a real worker would."""

    def __init__(self, code: str, database: Path):
        self.code, self.database = code, database
        self.process = None

    def __enter__(self) -> Holder:
        import subprocess
        import sys

        script = f"DB = {str(self.database)!r}\n{self.code}\nprint('ready', flush=True)\n"
        script += "import time\nwhile True:\n    time.sleep(1)\n"
        self.process = subprocess.Popen(
            [sys.executable, "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            self.process.kill()
            raise RuntimeError(f"holder failed: {line}{self.process.stderr.read()}")
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def __exit__(self, *exc: object) -> None:
        self.kill()
