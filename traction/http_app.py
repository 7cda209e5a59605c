"""traction's HTTP server: an ASGI app (Starlette) on uvicorn, with the limits an
operator expects and one JSON access-log line per request.

Everything traction serves over HTTP runs through `HttpServer`: `traction serve`, the
daemon's `--http` status port, and the loopback upstream mirror of `traction demo`.
Python's standard-library HTTP server, which served them before, is documented as unfit
for production: a thread per connection, idle ones held forever, and a stdlib traceback
on stderr whenever a client hung up. Here one event-loop thread serves every connection,
and:

- an idle connection is closed after `KEEP_ALIVE_TIMEOUT` seconds, also one that
  connected and never sent a request (uvicorn only times out connections that have
  finished a request; `_IdleTimeoutH11` also times out fresh ones);
- beyond `LIMIT_CONCURRENCY` open connections or in-flight requests a request is
  answered 503 at once instead of queueing without bound;
- stopping stops accepting at once, closes idle connections, and gives in-flight
  requests `GRACEFUL_SHUTDOWN_TIMEOUT` seconds to finish before they are cancelled;
- `AccessLog` writes one line per request to the `traction.http` logger (JSON under
  `traction.logs`), with `method`, `path`, `status`, `duration_ms`, `bytes` and
  `client`; uvicorn's own access logger is off. A client that disconnects mid-response
  is logged as such (`disconnected: true`), never as a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Generator
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

# Seconds an idle keep-alive connection (or one that never sent a request) stays open.
KEEP_ALIVE_TIMEOUT = 5
# Open connections plus in-flight requests beyond which a new request gets a 503.
LIMIT_CONCURRENCY = 1000
# Seconds in-flight requests get to finish once the server is told to stop.
GRACEFUL_SHUTDOWN_TIMEOUT = 10

access_log = logging.getLogger("traction.http")

ASGIApp = Any  # (scope, receive, send) -> awaitable; Starlette's type is not needed here


class AccessLog:
    """ASGI middleware: one log event per HTTP request, after its response is sent (or
    the client went away). Paths are logged without their query string: a query may
    carry whatever a client puts there, and the path is what an operator groups by."""

    def __init__(self, app: ASGIApp, logger: logging.Logger = access_log):
        self.app = app
        self.logger = logger

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = {"status": 0, "bytes": 0}

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
            elif message["type"] == "http.response.body" and scope["method"] != "HEAD":
                state["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            client = scope.get("client")
            fields: dict[str, Any] = {
                "method": scope["method"],
                "path": scope["path"],
                "status": state["status"] or 500,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "bytes": state["bytes"],
                "client": f"{client[0]}:{client[1]}" if client else None,
            }
            if _disconnected(receive):
                fields["disconnected"] = True
            self.logger.info(
                "%s %s %d", fields["method"], fields["path"], fields["status"], extra=fields
            )


def _disconnected(receive: Any) -> bool:
    """Whether the client went away before the response was complete: uvicorn's
    `receive` is a method of the request's cycle, which records a lost connection."""
    cycle = getattr(receive, "__self__", None)
    return bool(getattr(cycle, "disconnected", False))


class _IdleTimeoutH11(H11Protocol):
    """uvicorn's h11 protocol, plus the keep-alive timeout armed as soon as a
    connection opens: stock uvicorn arms it only after a response, so a client that
    connects and sends nothing would hold its connection (and a file descriptor)
    forever. The first byte received cancels it, as for a kept-alive connection."""

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to its owner: uvicorn's own handlers re-raise
    the signal after shutting down, which would end `traction serve` with -SIGTERM
    instead of 0, and cannot be installed from the daemon's server thread anyway."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); an IPv6 literal gets an AF_INET6 socket.
    Bound here, not by uvicorn, so port 0 is resolved and a busy port fails before any
    thread starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class HttpServer:
    """`app` served by uvicorn on (host, port): `start()` in a thread of its own (the
    daemon, tests), or `run()` in the calling thread until `stop()` (the CLI)."""

    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        name: str = "traction-http",
        log_requests: bool = True,
        keep_alive: int = KEEP_ALIVE_TIMEOUT,
        limit_concurrency: int = LIMIT_CONCURRENCY,
        graceful_timeout: int = GRACEFUL_SHUTDOWN_TIMEOUT,
    ):
        self.name = name
        self._socket = bind(host, port)
        self.config = uvicorn.Config(
            AccessLog(app) if log_requests else app,
            http=_IdleTimeoutH11,
            ws="none",
            lifespan="off",
            log_config=None,  # our logging (traction.logs) formats uvicorn's few lines
            access_log=False,
            server_header=False,
            timeout_keep_alive=keep_alive,
            limit_concurrency=limit_concurrency,
            timeout_graceful_shutdown=graceful_timeout,
        )
        self._server = _Server(self.config)
        self._thread: threading.Thread | None = None
        self._failed: BaseException | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._socket.getsockname()[:2]
        return host, port

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def run(self) -> None:
        """Serve in this thread until `stop()`; in-flight requests then get the graceful
        timeout."""
        self._server.run(sockets=[self._socket])

    def start(self, timeout: float = 10) -> HttpServer:
        """Serve in a daemon thread; returns once the server accepts connections."""

        def target() -> None:
            try:
                self.run()
            except BaseException as exc:  # reported by start(), or logged
                self._failed = exc
                logging.getLogger("traction.http").error("%s stopped: %s", self.name, exc)

        self._thread = threading.Thread(target=target, name=self.name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if self._failed is not None or not self._thread.is_alive():
                raise RuntimeError(f"{self.name} did not start: {self._failed}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start within {timeout} s")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Ask the server to stop (safe from a signal handler or any thread); asked a
        second time, it stops without waiting for in-flight requests."""
        if self._server.should_exit:
            self._server.force_exit = True
        self._server.should_exit = True

    def close(self) -> None:
        """Stop and wait for the server thread (up to the graceful timeout and a bit)."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=self.config.timeout_graceful_shutdown + 5)
            self._thread = None
        self._socket.close()

    def __enter__(self) -> HttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
