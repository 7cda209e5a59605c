"""Builders shared by tests (importable as `helpers`; pytest puts tests/ on sys.path)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
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
    """A TOML config for `traction_cli`: data under tmp_path/data, the OpenRouter and
    Hugging Face sources at `url` (loopback), every other source off; `extra` appended."""
    from ingest.sources import SOURCE_TYPES

    data = tmp_path / "data"
    text = f"""
[storage]
database = "{data / "traction.duckdb"}"
snapshot = "{data / "snapshot.json"}"
analytics = "{data / "analytics.duckdb"}"

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

[retry]
attempts = 2
backoff_initial = 0.01
backoff_max = 0.05
"""
    for name in SOURCE_TYPES:
        if f"[sources.{name}]" not in text:
            text += f"\n[sources.{name}]\nenabled = false\n"
    path = tmp_path / "traction.toml"
    path.write_text(text + extra)
    return path


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
