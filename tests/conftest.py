"""Shared fixtures. Tests reach nothing beyond 127.0.0.1."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# LiteLLM fetches its price map from GitHub at import unless told not to.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

from schemas.config import TractionConfig  # noqa: E402
from scoring.snapshot import render  # noqa: E402

from helpers import bundled_week, loopback_config, snapshot_body  # noqa: E402
from redis_server import RedisServer  # noqa: E402

__all__ = ["loopback_config", "snapshot_body"]


_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    if self.family in (socket.AF_INET, socket.AF_INET6) and not (
        str(host).startswith("127.") or host in ("::1", "localhost")
    ):
        raise ConnectionRefusedError(f"tests reach nothing beyond loopback (tried {host})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture(autouse=True)
def _fresh_budgets() -> None:
    """Request budgets live for the process (the daemon paces across cycles); not across tests."""
    from ingest import policy

    policy._budgets.clear()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`main()` points the root logger at the stderr of the moment (a test's captured one,
    closed once that test ends); put the root logger back after every test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No operator settings or tokens from the machine leak into a test."""
    for name in list(os.environ):
        if name.startswith("TRACTION_") or name in (
            "HF_TOKEN",
            "OPENROUTER_API_KEY",
            "GITHUB_TOKEN",
        ):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def config(tmp_path: Path) -> TractionConfig:
    return loopback_config(tmp_path)


@pytest.fixture
def write_snapshot(tmp_path: Path) -> Callable[..., Path]:
    """write_snapshot(models, path=None, **kw) -> path of a sealed, valid snapshot file."""

    def write(
        models: list[tuple[str, float, list[str]]], path: Path | None = None, **kw: Any
    ) -> Path:
        path = path or tmp_path / "snapshot.json"
        path.write_bytes(render(snapshot_body(models, **kw).seal()))
        return path

    return write


@pytest.fixture
def make_router() -> Iterator[Callable[..., Any]]:
    """Real Routers, unhooked from LiteLLM's global callbacks afterwards.

    LiteLLM registers every Router's cooldown handler globally, so a live Router cools
    down matching ids on failures served by another one, and past 100 Routers new ones
    silently stop cooling anything down. Each test therefore discards its own.
    """
    routers: list[Any] = []

    def make(deployments: list[dict[str, Any]], **settings: Any) -> Any:
        settings.setdefault("num_retries", 0)
        from litellm import Router  # only the tests that route pay its import

        router = Router(model_list=deployments, **settings)
        routers.append(router)
        return router

    yield make
    for router in routers:
        router.discard()


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A private redis-server on a free loopback port, no persistence; killed afterwards.
    Skips without the binary, fails instead under CI (tests/redis_server.py)."""
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def week(tmp_path: Path) -> tuple[Path, TractionConfig]:
    """Eight bundled days ending now, through the real pipeline: (config file, config)."""
    return bundled_week(tmp_path)
