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

How traction's model entries become WZRD records, and why:

- One record per snapshot model that has at least one signal component, in rank order.
  A model with no component (only prices) has no momentum to report, so it is left out
  rather than given an invented neutral score.
- `model` is the model's key: its Hugging Face repo id lowercased when any source links
  one (WZRD's own ids were Hugging Face style; every known consumer compares them
  case-insensitively). `trend` is the model's trend (that of its heaviest signal).
- The heaviest signal (largest weight x decay, then confidence weight: the one that gave
  the model its trend) supplies `score`/`momentum_score` (its momentum, the logistic of
  its mean daily delta: always in [0, 1]), `delta_pct` (null when it has no delta yet),
  `history_depth` (its days of history) and `platform` (its source, `openrouter_rankings`
  reported as WZRD's `openrouter`).
- `confidence` is the model's label (normal, low, insufficient). `action` follows the
  trend (surging -> pre_warm_urgent, accelerating -> pre_warm, stable -> maintain,
  decelerating -> watch, cooling -> consider_deprovision, else observe), except that an
  `insufficient` confidence is always `observe`, as WZRD documented ("observe-only; no
  proactive push").
- Both vintages at once: the vintage-C envelope and fields, plus vintage A's integer
  `signal_version` (2) and per-record `velocity_trend, momentum_score,
  velocity_delta_pct, history_confidence, routing_implication, history_depth`, because
  litellm-wzrd-momentum 0.1.0 rejects a payload without them. Its `velocity_delta_pct`
  must be a number (0.1.0 divides it), so a missing delta is sent there as 0.0, which
  adds nothing to its score; `delta_pct` stays null.
- Extra records for aliases. litellm-wzrd-momentum matches a deployment to a record by
  exact equality of its route (whole, without the provider, or the last segment) before
  falling back to substrings in either direction, first hit in payload order. So an
  alias that names this exact model in another catalogue (`together_ai/qwen/qwen3.5-9b`,
  the OpenRouter id `deepseek/deepseek-v3.2`, a dated slug) is published as its own
  record, turning what would be a substring guess into an exact match. Only aliases
  that contain the key's last path segment qualify: family and repository names
  (`openai/gpt-oss`, `qwenlm/qwen3.5`, `meta-llama/llama-models`) would hand the
  substring tier a short name that sibling models contain (`openai/gpt-oss-20b` would
  match `openai/gpt-oss-120b`'s scores). Alias records repeat their model's values, carry
  `alias_of` with the key, and come after every primary record, so a substring guess
  meets the primary ids first and `limit` cuts alias records before any model.
- Staleness: a snapshot past its `stale_after` is still served (the values are what
  traction computed), but every record says `confidence: insufficient` and `action:
  observe`, and its `reason` and the envelope's `provenance.stale` say why. WZRD's
  consumers weigh `insufficient` 0, so they fall back to deployment order, exactly as
  traction's own adapter does with a stale snapshot. Nothing else is rewritten.
- `generated_at` is the snapshot's (when the scores were computed, not when served);
  `provenance.root_seq` is the snapshot's version; `update_interval_secs` is advisory:
  how often a client may usefully poll (traction publishes on its own schedule).
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
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import ValidationError

from schemas.errors import TractionError
from schemas.filewatch import FileWatch
from schemas.snapshot import ModelScore, SignalComponent, Snapshot

log = logging.getLogger("traction.serve")

DEFAULT_LISTEN = "127.0.0.1:8700"
WZRD_CONTRACT = "wzrd.momentum.v1"
WZRD_SIGNAL_VERSION = 2  # vintage A, as litellm-wzrd-momentum 0.1.0's fixture carried it
WZRD_MAX_LIMIT = 100
TRENDING = ("surging", "accelerating")
ACTIONS = {
    "surging": "pre_warm_urgent",
    "accelerating": "pre_warm",
    "stable": "maintain",
    "decelerating": "watch",
    "cooling": "consider_deprovision",
}
PLATFORMS = {"openrouter_rankings": "openrouter", "openrouter_endpoints": "openrouter"}

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


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


# The snapshot file ----------------------------------------------------------------


@dataclass(frozen=True)
class LoadedSnapshot:
    """A validated snapshot and the exact bytes it was read from."""

    snapshot: Snapshot
    body: bytes

    @property
    def etag(self) -> str:
        return f'"{self.snapshot.content_hash}"'


class SnapshotFile:
    """The last valid snapshot at a path, re-read only when the file changed."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.loads = 0
        self._lock = threading.Lock()
        self._watch = FileWatch(self.path)
        self._good: LoadedSnapshot | None = None
        self._problem: str | None = "missing"

    def current(self) -> tuple[LoadedSnapshot | None, str | None]:
        """(the snapshot to serve or None, the file's problem if it has one).

        One `os.stat` per call; several request threads may ask at once, the lock makes
        one of them do the re-read.
        """
        with self._lock:
            was_file = self._watch.identity is not None
            changed = self._watch.changed()
            if not self._watch.present:
                if was_file or self._good is not None:
                    log.warning("snapshot %s is gone; serving none until republished", self.path)
                self._good, self._problem = None, "missing"
                return None, self._problem
            if not self._watch.regular:  # a FIFO or a device would block the read
                problem = "unreadable: not a regular file"
                if self._problem != problem:
                    log.warning("snapshot %s is not a regular file; serving none", self.path)
                self._good, self._problem = None, problem
                return None, self._problem
            if changed:
                self._load()
            return self._good, self._problem

    def _load(self) -> None:
        self.loads += 1
        try:
            body = self.path.read_bytes()
            snapshot = Snapshot.model_validate_json(body)
        except OSError as exc:
            self._problem = f"unreadable: {exc.strerror or exc}"
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "document"
            self._problem = f"invalid: {where}: {first['msg']}"
        else:
            self._good, self._problem = LoadedSnapshot(snapshot, body), None
            log.info("loaded snapshot v%d from %s", snapshot.version, self.path)
            return
        kept = f"keeping snapshot v{self._good.snapshot.version}" if self._good else "none to serve"
        log.warning("snapshot %s is %s; %s", self.path, self._problem, kept)


# The WZRD projection -------------------------------------------------------------


def lead_component(model: ModelScore) -> SignalComponent | None:
    """The signal that gave the model its trend: the scorer's own choice (scoring/models.py)."""
    return max(
        model.components, key=lambda c: (c.weight * c.decay, c.confidence_weight), default=None
    )


def exact_aliases(model: ModelScore) -> list[str]:
    """Aliases that name this very model (they contain the key's last path segment).

    Family and repository names (`openai/gpt-oss` for `openai/gpt-oss-120b`) fail the
    test; published, they would let a client's substring matching give this model's
    scores to its siblings.
    """
    tail = model.key.rsplit("/", 1)[-1]
    return [a for a in model.aliases if a != model.key and tail in a]


def wzrd_record(model: ModelScore, snapshot: Snapshot, stale: bool) -> dict[str, Any] | None:
    """One model in both WZRD vintages' field names, or None when it has no signal."""
    lead = lead_component(model)
    if lead is None:
        return None
    confidence = "insufficient" if stale else model.confidence
    action = "observe" if confidence == "insufficient" else ACTIONS.get(model.trend, "observe")
    momentum = round(min(1.0, max(0.0, lead.momentum)), 6)
    delta = None if lead.delta_pct is None else round(lead.delta_pct, 4)
    platform = PLATFORMS.get(lead.source, lead.source)
    pace = "no delta yet" if delta is None else f"{delta:+.1f}%/day"
    reason = (
        f"{lead.source} {lead.metric}: {pace}, momentum {momentum:.2f} over "
        f"{lead.history_days} days; traction rank {model.rank} of {len(snapshot.models)}"
        f" in snapshot v{snapshot.version}"
    )
    if stale:
        reason = f"stale snapshot (past {_iso(snapshot.stale_after)}), observe only; " + reason
    return {
        "model": model.key,
        "trend": model.trend,
        "score": momentum,
        "action": action,
        "confidence": confidence,
        "platform": platform,
        "reason": reason,
        "delta_pct": delta,
        "rank": model.rank,
        # vintage A (litellm-wzrd-momentum 0.1.0 requires the first four)
        "velocity_trend": model.trend,
        "momentum_score": momentum,
        "velocity_delta_pct": 0.0 if delta is None else delta,
        "history_confidence": confidence,
        "routing_implication": action,
        "history_depth": lead.history_days,
    }


def wzrd_payload(
    snapshot: Snapshot,
    now: datetime,
    limit: int = WZRD_MAX_LIMIT,
    trending: bool = False,
    platform: str | None = None,
    update_interval: int = 300,
) -> dict[str, Any]:
    """The `/v1/signals/momentum` body for a snapshot (see the module docstring)."""
    stale = snapshot.is_stale(now)
    primary: list[tuple[ModelScore, dict[str, Any]]] = []
    for model in snapshot.models:
        record = wzrd_record(model, snapshot, stale)
        if record is None:
            continue
        if trending and record["trend"] not in TRENDING:
            continue
        if platform is not None and record["platform"] != platform.lower():
            continue
        primary.append((model, record))
    records = [record for _, record in primary]
    for model, record in primary:
        for alias in exact_aliases(model):
            records.append({**record, "model": alias, "alias_of": model.key})
    records = records[:limit]
    return {
        "contract_version": WZRD_CONTRACT,
        "signal_version": WZRD_SIGNAL_VERSION,
        "generated_at": _iso(snapshot.generated_at),
        "update_interval_secs": update_interval,
        "provenance": {
            "source": "traction",
            "root_seq": snapshot.version,
            "content_hash": snapshot.content_hash,
            "policy": snapshot.policy,
            "stale_after": _iso(snapshot.stale_after),
            "stale": stale,
        },
        "count": len(records),
        "models": records,
    }


class BadRequest(TractionError, ValueError):
    """A query parameter the client got wrong (answered with 400, never a guess)."""


def wzrd_params(query: str) -> dict[str, Any]:
    """`limit`, `trending`, `platform` as WZRD documented them; other params are ignored."""
    params = parse_qs(query, keep_blank_values=True)
    found: dict[str, Any] = {}
    if "limit" in params:
        raw = params["limit"][-1]
        # ASCII digits only (str.isdigit also takes '²', which int() refuses), and no int()
        # of a long string: anything past the cap's digits is the cap.
        if not (raw.isascii() and raw.isdigit()) or not raw.lstrip("0"):
            shown = raw if len(raw) <= 20 else raw[:20] + "..."
            raise BadRequest(f"limit must be a positive integer, got {shown!r}")
        digits = raw.lstrip("0")
        too_long = len(digits) > len(str(WZRD_MAX_LIMIT))
        found["limit"] = WZRD_MAX_LIMIT if too_long else min(int(digits), WZRD_MAX_LIMIT)
    if "trending" in params:
        raw = params["trending"][-1].lower()
        if raw not in ("true", "1", "false", "0", ""):
            raise BadRequest(f"trending must be true or false, got {raw!r}")
        found["trending"] = raw in ("true", "1")
    if params.get("platform", [""])[-1]:
        found["platform"] = params["platform"][-1]
    return found


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
            "stale_after": _iso(snapshot.stale_after),
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
