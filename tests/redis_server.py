"""A private `redis-server` for the tests: a free loopback port, a temp dir, no persistence.

Tests that need Redis take the `redis_server` fixture (tests/conftest.py). Without a
`redis-server` binary they skip, with the reason; under CI (`$CI` set) they fail instead,
because a suite that silently skips fleet mode has not tested it (.ci/run installs it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

# Where Debian puts it, for a PATH that lacks /usr/bin (some sandboxes, cron).
FALLBACKS = ["/usr/bin/redis-server"]


def require_binary() -> str:
    """The redis-server path; skip (fail under CI) when there is none."""
    found = shutil.which("redis-server") or next(
        (path for path in FALLBACKS if Path(path).exists()), None
    )
    if found:
        return found
    reason = "redis-server is not installed (apt-get install redis-server)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the fleet tests, not skip them", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """One redis-server process; `url` to reach it, `stop()` to kill it mid-test."""

    def __init__(self, directory: Path, binary: str | None = None):
        self.binary = binary or require_binary()
        self.directory = directory
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self._client = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = self.directory / "redis.log"
        options = {
            "bind": "127.0.0.1",
            "port": str(self.port),
            "save": "",  # no RDB snapshots...
            "appendonly": "no",  # ...and no AOF: nothing outlives the test
            "dir": str(self.directory),
            "logfile": str(log),
            "protected-mode": "yes",
        }
        self.proc = subprocess.Popen(
            [
                self.binary,
                *(arg for name, value in options.items() for arg in (f"--{name}", value)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not answer within 10 s")

    def stop(self) -> None:
        """Kill it (SIGKILL: an outage, not a shutdown) and wait."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def client(self):
        """A redis-py client for the test itself (one, reused)."""
        if self._client is None:
            import redis

            self._client = redis.Redis.from_url(self.url, socket_timeout=5)
        return self._client

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
