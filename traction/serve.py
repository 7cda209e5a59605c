"""`traction serve`: the published snapshot over HTTP, plus the retired WZRD momentum API.

Endpoints (GET and HEAD):

- `/snapshot.json`: the snapshot file's bytes as published, `ETag` = its `content_hash`,
  `If-None-Match` answered with 304, so `router_adapter`'s HTTP poller (and any proxy
  replica) costs one stat and a few bytes while nothing changes. 503 when no valid
  snapshot was ever loaded, or the file was removed.
- `/v1/signals/momentum`: the same scores in the WZRD feed's contract, so clients of the
  retired API (litellm-wzrd-momentum 0.1.0-0.2.2, wzrd-client, traction's own `wzrd`
  source) can be pointed here instead. Params `limit` (max 100), `trending=true`,
  `platform`, as WZRD documented them; its `capability` and `window` are ignored, since
  traction has neither notion.
- `/healthz`: 200 while a valid snapshot is fresh, else 503 (for load balancers).

The file is stat-ed on each request and re-read and validated only when its identity
(mtime, size, inode) changed. A file that turns invalid or unreadable is logged and the
last valid snapshot keeps being served: the publisher replaces the file atomically, so
a bad file is an operator's mistake, and the consumers fall back on staleness anyway. A
removed file is taken as deliberate: 503 until a snapshot is published again.

The snapshot file cache is in `traction/snapshot_file.py`, the WZRD projection (how
model entries become WZRD records, and why) in `traction/wzrd.py`.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .snapshot_file import SnapshotFile
from .wzrd import BadRequest, iso, wzrd_params, wzrd_payload

log = logging.getLogger("traction.serve")

DEFAULT_LISTEN = "127.0.0.1:8700"

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_listen(value: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:8700` for IPv6), or a bare port on 127.0.0.1."""
    text = value.strip()
    if text.isdigit():
        host, port_text = "127.0.0.1", text
    elif text.startswith("["):
        host, sep, port_text = text[1:].partition("]:")
        if not sep:
            raise ValueError(f"--listen {value!r}: expected [IPV6]:PORT")
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep or not host:
            raise ValueError(f"--listen {value!r}: expected HOST:PORT, e.g. {DEFAULT_LISTEN}")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"--listen {value!r}: port must be a number from 0 to 65535")
    return host, int(port_text)


# HTTP ----------------------------------------------------------------------------

Response = tuple[int, dict[str, str], bytes]
Route = Callable[[str, Any], Response]  # (query string, request headers) -> response


def _json(status: int, body: dict[str, Any], **headers: str) -> Response:
    data = (json.dumps(body, ensure_ascii=False) + "\n").encode()
    headers = {"Content-Type": "application/json", "Cache-Control": "no-cache", **headers}
    return status, headers, data


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip() for t in header.split(",")]
    return any(t == "*" or t.removeprefix("W/") == etag for t in tags)


DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


def _quiet(server_class: type[ThreadingHTTPServer]) -> type[ThreadingHTTPServer]:
    """`server_class` reporting a failed request as one log event: socketserver prints a
    multi-line traceback to stderr, which breaks one-JSON-object-per-line logs. A client
    that hangs up mid-response is routine (debug); anything else is an error line."""

    class Quiet(server_class):  # type: ignore[misc, valid-type]
        def handle_error(self, request: Any, client_address: Any) -> None:
            exc = sys.exc_info()[1]
            if isinstance(exc, DISCONNECTS):
                log.debug("client %s went away: %s", client_address[0], exc)
            else:
                log.error(
                    "request from %s failed: %s: %s",
                    client_address[0],
                    type(exc).__name__,
                    exc,
                )

    Quiet.__name__ = Quiet.__qualname__ = f"Quiet{server_class.__name__}"
    return Quiet


class SnapshotServer:
    """The HTTP server over one snapshot path; `start()` runs it in a daemon thread.

    Usable from tests and from the worker's daemon: `SnapshotServer(path).start()`,
    `.url`, `.close()`; `serve_forever()` blocks instead (the CLI).
    """

    def __init__(
        self,
        snapshot_path: str | os.PathLike[str],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        update_interval: int = 300,
        clock: Clock = _utcnow,
    ):
        self.file = SnapshotFile(snapshot_path)
        self.update_interval = update_interval
        self.clock = clock
        self._thread: threading.Thread | None = None
        handler = self._handler_class()
        server_class = ThreadingHTTPServer
        if ":" in host:  # an IPv6 literal

            class _V6(ThreadingHTTPServer):
                address_family = socket.AF_INET6

            server_class = _V6
        self._httpd = _quiet(server_class)((host, port), handler)
        self._httpd.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in str(host) else f"http://{host}:{port}"

    def start(self) -> SnapshotServer:
        # a short poll interval keeps close() quick (shutdown waits for the next poll)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.1,), name="traction-serve", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def shutdown(self) -> None:
        """Stop `serve_forever` (from another thread or a signal handler's helper thread)."""
        self._httpd.shutdown()

    def close(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> SnapshotServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Routes ------------------------------------------------------------------

    def respond(self, method: str, target: str, headers: Any) -> Response:
        """(status, headers, body) for one request; no socket involved, never raises."""
        parts = urlsplit(target)
        route = self.routes().get(parts.path)
        if route is None:
            return _json(404, {"error": f"no such endpoint: {parts.path}"})
        if method not in ("GET", "HEAD"):
            return _json(405, {"error": f"{method} not allowed"}, Allow="GET, HEAD")
        try:
            return route(parts.query, headers)
        except BadRequest as exc:
            return _json(400, {"error": str(exc)})
        except Exception:  # a bug costs this response, never the server
            log.exception("serving %s failed", parts.path)
            return _json(500, {"error": "internal error"})

    def routes(self) -> dict[str, Route]:
        """Path -> handler; the daemon's status server adds its own."""
        return {
            "/snapshot.json": self._snapshot_json,
            "/v1/signals/momentum": self._momentum,
            "/healthz": self._healthz,
        }

    def _unavailable(self, problem: str | None) -> Response:
        return _json(
            503,
            {"error": f"no valid snapshot at {self.file.path} ({problem})"},
            **{"Retry-After": "30"},
        )

    def _snapshot_json(self, query: str, headers: Any) -> Response:
        loaded, problem = self.file.current()
        if loaded is None:
            return self._unavailable(problem)
        common = {"ETag": loaded.etag, "Cache-Control": "no-cache"}
        if _etag_matches(headers.get("If-None-Match"), loaded.etag):
            return 304, common, b""
        return 200, {"Content-Type": "application/json", **common}, loaded.body

    def _momentum(self, query: str, headers: Any) -> Response:
        params = wzrd_params(query)
        loaded, problem = self.file.current()
        if loaded is None:
            return self._unavailable(problem)
        payload = wzrd_payload(
            loaded.snapshot, self.clock(), update_interval=self.update_interval, **params
        )
        return _json(200, payload)

    def _healthz(self, query: str, headers: Any) -> Response:
        loaded, problem = self.file.current()
        if loaded is None:
            return _json(503, {"status": "missing", "problem": problem})
        snapshot = loaded.snapshot
        now = self.clock()
        body = {
            "status": "stale" if snapshot.is_stale(now) else "ok",
            "snapshot_version": snapshot.version,
            "age_seconds": round((now - snapshot.generated_at).total_seconds(), 1),
            "stale_after": iso(snapshot.stale_after),
        }
        if problem:  # serving the last good snapshot while the file is bad
            body["problem"] = problem
        return _json(200 if body["status"] == "ok" else 503, body)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "traction"
            protocol_version = "HTTP/1.1"  # keep-alive for pollers

            def _send(self, method: str) -> None:
                status, headers, body = server.respond(method, self.path, self.headers)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if method != "HEAD" and status != 304:
                    self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._send("GET")

            def do_HEAD(self) -> None:  # noqa: N802
                self._send("HEAD")

            def do_POST(self) -> None:  # noqa: N802
                self._send("POST")

            def do_PUT(self) -> None:  # noqa: N802
                self._send("PUT")

            def do_DELETE(self) -> None:  # noqa: N802
                self._send("DELETE")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                log.debug("%s " + format, self.address_string(), *args)

        return Handler


def serve(snapshot_path: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 8700) -> int:
    """Serve until SIGTERM or SIGINT (the CLI's `traction serve`); returns the exit code."""
    server = SnapshotServer(snapshot_path, host, port)
    print(
        f"serving {snapshot_path} on {server.url} (/snapshot.json, /v1/signals/momentum, /healthz)",
        flush=True,
    )
    log.info("serving %s on %s", snapshot_path, server.url)

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping", signum)
        # shutdown() waits for serve_forever, which this (main) thread is running
        threading.Thread(target=server.shutdown, daemon=True).start()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    finally:
        server.close()
    log.info("stopped serving")
    return 0
