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
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response as HttpResponse
from starlette.routing import Route as StarletteRoute

from .http_app import HttpServer
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


def not_allowed(method: str) -> Response:
    """Every endpoint is read-only: anything but GET and HEAD is this 405."""
    return _json(405, {"error": f"{method} not allowed"}, Allow="GET, HEAD")


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip() for t in header.split(",")]
    return any(t == "*" or t.removeprefix("W/") == etag for t in tags)


class SnapshotServer:
    """The HTTP server over one snapshot path: a Starlette app (`app()`) on uvicorn
    (`traction.http_app`); `start()` runs it in a daemon thread.

    Usable from tests and from the worker's daemon: `SnapshotServer(path).start()`,
    `.url`, `.close()`; `serve_forever()` blocks instead (the CLI) until `shutdown()`.
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
        self._http = HttpServer(self.app(), host, port, name="traction-serve")

    @property
    def url(self) -> str:
        return self._http.url

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) actually bound (port 0 resolved)."""
        return self._http.address

    def start(self) -> SnapshotServer:
        self._http.start()
        return self

    def serve_forever(self) -> None:
        self._http.run()

    def shutdown(self) -> None:
        """Stop `serve_forever` (from a signal handler or another thread): no new
        connections; in-flight requests get the graceful-shutdown timeout."""
        self._http.stop()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SnapshotServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def app(self) -> Starlette:
        """The Starlette app: one route per path of `routes()`, every method routed to
        it (so a write is our JSON 405, not Starlette's text), our JSON 404 elsewhere,
        and no redirect of `/healthz/` to `/healthz` (a prober should see the 404)."""
        routes = [
            StarletteRoute(path, self._endpoint(path, handler))
            for path, handler in self.routes().items()
        ]
        app = Starlette(routes=routes, exception_handlers={404: self._not_found})
        app.router.redirect_slashes = False
        return app

    def _endpoint(self, path: str, handler: Route) -> Callable[[Request], Awaitable[HttpResponse]]:
        async def endpoint(request: Request) -> HttpResponse:
            # on the event loop: a stat per request, a re-read only when the file changed
            status, headers, body = self.respond(
                request.method, path, request.url.query, handler, request.headers
            )
            return HttpResponse(body, status_code=status, headers=headers)

        return endpoint

    async def _not_found(self, request: Request, exc: Exception) -> HttpResponse:
        status, headers, body = _json(404, {"error": f"no such endpoint: {request.url.path}"})
        return HttpResponse(body, status_code=status, headers=headers)

    # Routes ------------------------------------------------------------------

    def respond(self, method: str, path: str, query: str, route: Route, headers: Any) -> Response:
        """(status, headers, body) for one request to `route`; no socket involved,
        never raises."""
        if method not in ("GET", "HEAD"):
            return not_allowed(method)
        try:
            return route(query, headers)
        except BadRequest as exc:
            return _json(400, {"error": str(exc)})
        except Exception:  # a bug costs this response, never the server
            log.exception("serving %s failed", path)
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
        server.shutdown()  # uvicorn's loop sees it within 0.1 s, then drains

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    finally:
        server.close()
    log.info("stopped serving")
    return 0
