"""A loopback mirror of the upstream APIs, serving saved payloads in their real shapes.

The demo (and tests) point the sources' `base_url` here, so bundled data travels
the same HTTP, pagination and contract path as live data. Hugging Face listings
are filtered by `author`, sorted by downloads and paginated with a `Link` header
and an opaque cursor, as the real API does. It runs on the same Starlette + uvicorn
stack as `traction serve` (`traction.http_app`), without access logs: the demo's
output stays clean.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from traction.http_app import HttpServer


def bundled(source: str, day: int) -> Any:
    name = f"{source}-day{day}.json"
    return json.loads(resources.files("traction.demo.data").joinpath(name).read_text("utf-8"))


def bundled_days() -> int:
    names = [p.name for p in resources.files("traction.demo.data").iterdir()]
    return sum(1 for n in names if n.startswith("openrouter-day"))


class Upstream:
    """Serve `payloads[source]` (a value, or a callable returning one) on 127.0.0.1."""

    def __init__(self, payloads: dict[str, Any] | None = None):
        self.payloads: dict[str, Any] = payloads or {}
        self.requests: list[str] = []
        self._server: HttpServer | None = None

    def set_day(self, day: int) -> None:
        self.payloads = {
            name: bundled(name, day)
            for name in ("openrouter", "huggingface", "github", "openrouter_endpoints")
        }

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return self._server.url

    def __enter__(self) -> Upstream:
        self._server = HttpServer(
            self.app(), "127.0.0.1", 0, name="traction-upstream", log_requests=False
        ).start()
        return self

    def app(self) -> Starlette:
        """Every path to `handle` (one catch-all route: the mirror answers unknown paths
        with the upstreams' own 404 bodies)."""

        async def endpoint(request: Request) -> Response:
            return self.handle(request)

        return Starlette(routes=[Route("/{path:path}", endpoint)])

    def handle(self, request: Request) -> Response:
        """One GET, answered as the upstream API whose path it is."""
        # the path as sent, not percent-decoded, as the real APIs see it
        path = request.scope["raw_path"].decode("latin-1")
        query_string = request.url.query
        self.requests.append(path + (f"?{query_string}" if query_string else ""))
        query = parse_qs(query_string)
        if path == "/api/v1/models" and "openrouter" in self.payloads:
            return _json(self._get("openrouter"))
        if path.startswith("/api/v1/models/") and path.endswith("/endpoints"):
            model = path[len("/api/v1/models/") : -len("/endpoints")]
            return _found((self.payloads.get("openrouter_endpoints") or {}).get(model))
        if path == "/api/v1/datasets/rankings-daily":
            if not request.headers.get("Authorization"):
                return _json({"error": {"code": 401, "message": "No auth"}}, status=401)
            return _found(self.payloads.get("openrouter_rankings"))
        if path.startswith("/repos/"):
            repo = (self.payloads.get("github") or {}).get(path[len("/repos/") :])
            digest = hashlib.sha1(json.dumps(repo, sort_keys=True).encode()).hexdigest()
            etag = f'W/"{digest[:16]}"'
            if repo is not None and request.headers.get("If-None-Match") == etag:
                return Response(status_code=304, headers={"ETag": etag})
            return _found(repo, headers={"ETag": etag})
        if path == "/api/models" and "huggingface" in self.payloads:
            return self._hf(query)
        if path == "/v1/signals/momentum" and "wzrd" in self.payloads:
            return _json(self._get("wzrd"))
        return _json({"error": {"code": 404, "message": "Not Found"}}, status=404)

    def _hf(self, query: dict[str, list[str]]) -> Response:
        payload = self._get("huggingface")
        if not isinstance(payload, list):  # a drifted or broken body, served as is
            return _json(payload)
        models = [m for m in payload if isinstance(m, dict)]
        author = query.get("author", [None])[0]
        if author:
            models = [m for m in models if str(m.get("id", "")).startswith(author + "/")]

        def downloads(m: dict) -> int:
            value = m.get("downloads")
            return value if isinstance(value, int) else -1

        models.sort(key=downloads, reverse=True)
        limit = int(query.get("limit", ["1000"])[0])
        cursor = query.get("cursor", [None])[0]
        start = json.loads(base64.urlsafe_b64decode(cursor))["o"] if cursor else 0
        page = models[start : start + limit]
        headers = {}
        if start + limit < len(models):
            token = base64.urlsafe_b64encode(json.dumps({"o": start + limit}).encode())
            rest = {k: v for k, v in query.items() if k != "cursor"}
            rest["cursor"] = [token.decode()]
            headers["Link"] = f'<{self.url}/api/models?{urlencode(rest, doseq=True)}>; rel="next"'
        return _json(page, headers=headers)

    def _get(self, source: str) -> Any:
        value = self.payloads[source]
        return value() if isinstance(value, Callable) else value

    def __exit__(self, *exc: object) -> None:
        if self._server:
            self._server.close()
            self._server = None


def _json(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        json.dumps(body).encode(),
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _found(body: Any, headers: dict | None = None) -> Response:
    if body is None:
        return _json({"error": {"code": 404, "message": "Not Found"}}, status=404)
    return _json(body, headers=headers)
