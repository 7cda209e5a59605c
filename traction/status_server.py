"""The worker's HTTP port (`traction run --http HOST:PORT`): health, metrics, a status page.

Everything `traction serve` answers (`/snapshot.json`, `/v1/signals/momentum`,
`/healthz`: 503 once the snapshot is past its `stale_after`), plus:

- `/metrics`: Prometheus text format, built by `prometheus_client` from the run history
  and the snapshot file at scrape time;
- `/`: a page a person opens to see whether the worker is well: the snapshot's version
  and age, each source's freshness and last run, the latest runs, and the top movers
  with inline SVG sparklines. No scripts and no external assets, so it renders behind
  any firewall and refreshes itself every minute.

Why the analytics copy and not the database: DuckDB lets one process write and nobody
read beside it, and the daemon's jobs write whenever they like. The copy is replaced
atomically after every run, so reading it never blocks or races a job, and what the page
shows is exactly what analysts see. It is re-read only when it changes. With
`storage.analytics` set to empty there is no copy: the page and `/metrics` then show the
snapshot alone and say why.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from prometheus_client import CollectorRegistry, make_asgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.applications import Starlette
from starlette.responses import Response as HttpResponse
from starlette.routing import Route as StarletteRoute

from schemas.config import TractionConfig
from schemas.filewatch import FileWatch

from .serve import Clock, Response, Route, SnapshotServer, _utcnow, not_allowed, parse_listen
from .status import FAILED, SPARK_DAYS, Status, as_utc, empty, read_copy

log = logging.getLogger("traction.status")


class BoardCache:
    """The board of the analytics copy, re-read only when the copy's identity changes."""

    def __init__(self, config: TractionConfig):
        self.config = config
        analytics = config.storage.analytics
        self.path = Path(analytics) if analytics else None
        self._lock = threading.Lock()
        self._watch = FileWatch(self.path) if self.path is not None else None
        self._board: Status | None = None

    def current(self) -> Status:
        with self._lock:
            changed = self._watch.changed() if self._watch is not None else False
            if self._board is None or changed:
                try:
                    self._board = read_copy(self.config, self.path)
                except duckdb.Error as exc:  # a copy being replaced, or damaged
                    log.warning("cannot read the analytics copy %s: %s", self.path, exc)
                    if self._watch is not None:
                        self._watch.forget()
                    if self._board is None:
                        return empty(self.config, f"cannot read the analytics copy: {exc}")
                    return self._board
            return self._board


# Metrics --------------------------------------------------------------------------


class _Collector:
    """Prometheus metrics computed at scrape time from the board and the snapshot."""

    def __init__(self, server: StatusServer):
        self.server = server

    def collect(self) -> Iterator[Metric]:
        board = self.server.boards.current()
        now = self.server.clock()
        runs = CounterMetricFamily(
            "traction_runs", "Ingest runs by source and outcome", labels=["source", "status"]
        )
        counts = {
            (row.name, status): count
            for row in board.sources.values()
            for status, count in row.runs.items()
        }
        for (source, status), count in sorted(counts.items()):
            runs.add_metric([source, status], count)
        yield runs
        failures = CounterMetricFamily(
            "traction_run_failures",
            "Ingest runs that failed or found the source unreachable",
            labels=["source"],
        )
        stored = CounterMetricFamily(
            "traction_rows_stored", "New facts stored by ingest runs", labels=["source"]
        )
        quarantined = CounterMetricFamily(
            "traction_rows_quarantined", "Records quarantined by ingest runs", labels=["source"]
        )
        success_age = GaugeMetricFamily(
            "traction_source_last_success_age_seconds",
            "Seconds since the source last delivered a usable payload",
            labels=["source"],
        )
        enabled = GaugeMetricFamily(
            "traction_source_enabled", "1 when the source is scheduled", labels=["source"]
        )
        for row in board.configured():
            failures.add_metric([row.name], row.failures)
            stored.add_metric([row.name], row.stored_total)
            quarantined.add_metric([row.name], row.quarantined_total)
            enabled.add_metric([row.name], 1.0 if row.enabled else 0.0)
            if row.last_success is not None:
                success_age.add_metric([row.name], (now - row.last_success).total_seconds())
        yield from (failures, stored, quarantined, success_age, enabled)

        loaded, _problem = self.server.file.current()
        present = GaugeMetricFamily(
            "traction_snapshot_present", "1 when a valid snapshot is being served"
        )
        present.add_metric([], 1.0 if loaded else 0.0)
        yield present
        if loaded is not None:
            snap = loaded.snapshot
            for name, doc, value in (
                ("traction_snapshot_version", "Version of the served snapshot", snap.version),
                (
                    "traction_snapshot_age_seconds",
                    "Seconds since the served snapshot was generated",
                    (now - snap.generated_at).total_seconds(),
                ),
                (
                    "traction_snapshot_stale",
                    "1 when the snapshot is past its stale_after (adapters fall back)",
                    1.0 if snap.is_stale(now) else 0.0,
                ),
                ("traction_snapshot_models", "Models in the served snapshot", len(snap.models)),
            ):
                gauge = GaugeMetricFamily(name, doc)
                gauge.add_metric([], float(value))
                yield gauge
        if board.copy_at is not None:
            copy_age = GaugeMetricFamily(
                "traction_analytics_copy_age_seconds",
                "Seconds since the analytics copy (and these run counts) was refreshed",
            )
            copy_age.add_metric([], (now - board.copy_at).total_seconds())
            yield copy_age


# The page --------------------------------------------------------------------------


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    seconds = max(0.0, (now - when).total_seconds())
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d ago"
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


def sparkline(values: list[float], width: int = 140, height: int = 32) -> str:
    """An inline SVG line of `values`, scaled to its own range, last point marked."""
    if not values:
        return f'<svg class="spark" width="{width}" height="{height}"></svg>'
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    pad = 3
    step = (width - 2 * pad) / max(1, len(values) - 1)
    points = [
        (pad + i * step, height - pad - (v - low) / span * (height - 2 * pad))
        for i, v in enumerate(values)
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    last_x, last_y = points[-1]
    title = html.escape(f"{values[0]:,.0f} → {values[-1]:,.0f} over {len(values)} days")
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' role="img"><title>{title}</title>'
        f'<polyline fill="none" stroke="#2563eb" stroke-width="1.8" points="{path}"/>'
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.6" fill="#2563eb"/></svg>'
    )


STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5rem auto; max-width: 1100px;
       color: #111827; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin: 0 0 .2rem; } h2 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; }
.muted { color: #6b7280; } table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .55rem; border-bottom: 1px solid #e5e7eb;
         vertical-align: middle; }
th { font-weight: 600; color: #374151; background: #f9fafb; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: 0 .5rem; border-radius: 9px; font-size: .85em; }
.ok { background: #dcfce7; color: #166534; } .warn { background: #fef9c3; color: #854d0e; }
.bad { background: #fee2e2; color: #991b1b; } .off { background: #f3f4f6; color: #6b7280; }
.summary { display: flex; gap: 2.5rem; margin: 1rem 0; }
.summary div b { display: block; font-size: 1.3rem; }
code { font-size: .92em; } .err { color: #991b1b; font-size: .85em; white-space: normal; }
td:not(:first-child), th { white-space: nowrap; }
"""

STATUS_CLASS = {
    "ok": "ok",
    "unchanged": "ok",
    "degraded": "warn",
    "skipped": "off",
    "failed": "bad",
    "unreachable": "bad",
}


def _badge(text: str, kind: str) -> str:
    return f'<span class="badge {kind}">{html.escape(text)}</span>'


def render_page(server: StatusServer) -> str:
    board = server.boards.current()
    now = server.clock()
    loaded, problem = server.file.current()
    max_age = server.config.scoring.source_max_age
    esc = html.escape
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        '<meta http-equiv="refresh" content="60">',
        "<title>traction status</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>traction</h1>",
        f'<div class="muted">worker status at {now:%Y-%m-%d %H:%M:%S} UTC'
        + (f" · history as of {_ago(board.copy_at, now)}" if board.copy_at else "")
        + "</div>",
    ]
    if loaded is None:
        parts.append(
            f'<div class="summary"><div>{_badge("no snapshot", "bad")}'
            f' <span class="muted">{esc(problem or "")}</span></div></div>'
        )
    else:
        snap = loaded.snapshot
        stale = snap.is_stale(now)
        state = _badge("stale: adapters fall back", "bad") if stale else _badge("fresh", "ok")
        parts.append(
            '<div class="summary">'
            f"<div>snapshot<b>v{snap.version}</b></div>"
            f"<div>generated<b>{_ago(snap.generated_at, now)}</b></div>"
            f"<div>models<b>{len(snap.models)}</b></div>"
            f"<div>policy<b>{esc(snap.policy)}</b></div>"
            f"<div>state<b>{state}</b></div>"
            "</div>"
        )
    if board.problem:
        parts.append(f'<p class="muted">{esc(board.problem)}</p>')

    parts.append(
        "<h2>Sources</h2><table id=sources><tr><th>source</th><th>state</th><th>every</th>"
        "<th>last run</th><th>status</th><th>last success</th><th class=num>stored</th>"
        "<th class=num>quarantined</th><th>vintage</th></tr>"
    )
    for row in board.configured():
        if not row.enabled:
            state = _badge("disabled", "off")
        elif row.last_success is None and row.last_status in FAILED:
            state = _badge("failing", "bad")
        elif row.last_success is None:
            state = _badge("no data yet", "warn")
        elif (now - row.last_success).total_seconds() > max_age:
            state = _badge("stale", "bad")
        else:
            state = _badge("fresh", "ok")
        status = (
            _badge(row.last_status, STATUS_CLASS.get(row.last_status, "warn"))
            if row.last_status
            else ""
        )
        run = row.last_run or {}
        error = f'<div class="err">{esc(run["error"][:160])}</div>' if run.get("error") else ""
        parts.append(
            f'<tr data-source="{esc(row.name)}"><td><code>{esc(row.name)}</code>{error}</td>'
            f"<td>{state}</td><td>{row.interval // 60} min</td>"
            f"<td>{_ago(row.last_started, now) if row.last_started else '—'}</td><td>{status}</td>"
            f"<td>{_ago(row.last_success, now)}</td>"
            f"<td class=num>{row.stored_total:,}</td>"
            f"<td class=num>{row.quarantined_total:,}</td>"
            f"<td>{esc(run.get('vintage') or '')}</td></tr>"
        )
    parts.append("</table>")

    parts.append(
        "<h2>Top movers</h2><table id=movers><tr><th>model</th><th>signal</th>"
        f"<th>last {SPARK_DAYS} days</th><th class=num>7-day growth</th></tr>"
    )
    if not board.movers:
        parts.append(
            '<tr><td colspan=4 class="muted">no model has two days of history yet</td></tr>'
        )
    for mover in board.movers:
        growth = "—" if mover.growth_pct is None else f"{mover.growth_pct:+.1f}%"
        parts.append(
            f"<tr><td><code>{esc(mover.model_id)}</code></td>"
            f"<td>{esc(mover.source)}.{esc(mover.metric)}</td>"
            f"<td>{sparkline([v for _, v in mover.series])}</td><td class=num>{growth}</td></tr>"
        )
    parts.append("</table>")

    parts.append(
        "<h2>Last runs</h2><table id=runs><tr><th>started</th><th>kind</th><th>source</th>"
        "<th>status</th><th class=num>stored</th><th class=num>quarantined</th><th>error</th></tr>"
    )
    for run in board.recent_runs:
        status = run["status"]
        parts.append(
            f"<tr><td>{_ago(as_utc(run['started_at']), now)}</td><td>{esc(run['kind'])}</td>"
            f"<td>{esc(run['source'])}</td>"
            f"<td>{_badge(status, STATUS_CLASS.get(status, 'warn'))}</td>"
            f"<td class=num>{run['records_stored'] or 0:,}</td>"
            f"<td class=num>{run['records_quarantined'] or 0:,}</td>"
            f'<td class="err">{esc((run["error"] or "")[:120])}</td></tr>'
        )
    parts.append("</table>")
    parts.append(
        '<p class="muted">Also here: <a href="/metrics">/metrics</a> · '
        '<a href="/healthz">/healthz</a> · <a href="/snapshot.json">/snapshot.json</a> · '
        '<a href="/v1/signals/momentum">/v1/signals/momentum</a></p></body></html>'
    )
    return "".join(parts)


class StatusServer(SnapshotServer):
    """`SnapshotServer` plus `/metrics` and the status page, for one worker's config."""

    def __init__(
        self,
        config: TractionConfig,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Clock = _utcnow,
    ):
        # set before the base class builds the app, whose routes use them
        self.config = config
        self.boards = BoardCache(config)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector(self))  # type: ignore[arg-type]
        super().__init__(config.storage.snapshot, host, port, clock=clock)

    def routes(self) -> dict[str, Route]:
        return {**super().routes(), "/": self._page}

    def app(self) -> Starlette:
        """The snapshot server's app plus `/metrics`: prometheus_client's own ASGI app
        (content negotiation, OpenMetrics, gzip), behind our GET/HEAD check."""
        app = super().app()
        metrics = make_asgi_app(self.registry)

        async def endpoint(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["method"] in ("GET", "HEAD"):
                await metrics(scope, receive, send)
                return
            status, headers, body = not_allowed(scope["method"])
            await HttpResponse(body, status_code=status, headers=headers)(scope, receive, send)

        app.router.routes.append(StarletteRoute("/metrics", _AsgiEndpoint(endpoint)))
        return app

    def _page(self, query: str, headers: Any) -> Response:
        body = render_page(self).encode("utf-8")
        return 200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"}, body


class _AsgiEndpoint:
    """An ASGI callable Starlette's `Route` mounts as is: it wraps plain functions as
    request -> response endpoints, but not instances."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def start(config: TractionConfig, listen: str) -> StatusServer:
    """Start the status server in a daemon thread (the daemon's `--http`)."""
    host, port = parse_listen(listen)
    return StatusServer(config, host, port).start()
