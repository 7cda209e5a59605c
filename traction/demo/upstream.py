"""A loopback mirror of the upstream APIs, serving saved payloads in their real shapes.

The demo (and tests) point the sources' `base_url` here, so bundled data travels
the same HTTP, pagination and contract path as live data. Hugging Face listings
are filtered by `author`, sorted by downloads and paginated with a `Link` header
and an opaque cursor, as the real API does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


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
        self._server: ThreadingHTTPServer | None = None

    def set_day(self, day: int) -> None:
        self.payloads = {
            name: bundled(name, day)
            for name in ("openrouter", "huggingface", "github", "openrouter_endpoints")
        }

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Upstream:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep the demo's output clean
                pass

            def do_GET(self) -> None:
                upstream.requests.append(self.path)
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                if parts.path == "/api/v1/models" and "openrouter" in upstream.payloads:
                    self._json(upstream._get("openrouter"))
                elif parts.path.startswith("/api/v1/models/") and parts.path.endswith("/endpoints"):
                    model = parts.path[len("/api/v1/models/") : -len("/endpoints")]
                    found = (upstream.payloads.get("openrouter_endpoints") or {}).get(model)
                    self._found(found)
                elif parts.path == "/api/v1/datasets/rankings-daily":
                    if not self.headers.get("Authorization"):
                        self._json({"error": {"code": 401, "message": "No auth"}}, status=401)
                    else:
                        self._found(upstream.payloads.get("openrouter_rankings"))
                elif parts.path.startswith("/repos/"):
                    repo = (upstream.payloads.get("github") or {}).get(parts.path[len("/repos/") :])
                    digest = hashlib.sha1(json.dumps(repo, sort_keys=True).encode()).hexdigest()
                    etag = f'W/"{digest[:16]}"'
                    if repo is not None and self.headers.get("If-None-Match") == etag:
                        self.send_response(304)
                        self.send_header("ETag", etag)
                        self.end_headers()
                    else:
                        self._found(repo, headers={"ETag": etag})
                elif parts.path == "/api/models" and "huggingface" in upstream.payloads:
                    self._hf(query)
                elif parts.path == "/v1/signals/momentum" and "wzrd" in upstream.payloads:
                    self._json(upstream._get("wzrd"))
                else:
                    self._json({"error": {"code": 404, "message": "Not Found"}}, status=404)

            def _found(self, body: Any, headers: dict | None = None) -> None:
                if body is None:
                    self._json({"error": {"code": 404, "message": "Not Found"}}, status=404)
                else:
                    self._json(body, headers=headers)

            def _hf(self, query: dict[str, list[str]]) -> None:
                payload = upstream._get("huggingface")
                if not isinstance(payload, list):  # a drifted or broken body, served as is
                    self._json(payload)
                    return
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
                    headers["Link"] = (
                        f'<{upstream.url}/api/models?{urlencode(rest, doseq=True)}>; rel="next"'
                    )
                self._json(page, headers=headers)

            def _json(self, body: Any, status: int = 200, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def _get(self, source: str) -> Any:
        value = self.payloads[source]
        return value() if isinstance(value, Callable) else value

    def __exit__(self, *exc: object) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
