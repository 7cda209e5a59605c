"""The worker's status, computed once: `collect`/`read` build one `Status` from the
store's named queries, whichever database they read (the live one or the analytics
copy). `traction status` (text and `--json`), the daemon's status page and `/metrics`
all read this model."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

import store
from schemas.config import TractionConfig

READ_WAIT = 2.0  # seconds `status` waits for a writer before reading the analytics copy
FAILED = ("failed", "unreachable")
MOVERS = 10
SPARK_DAYS = 14
RECENT_RUNS = 15


@dataclass
class SourceStatus:
    """One source: its config, its latest ingest run and its totals over every run."""

    name: str
    configured: bool = False  # known to this config (a database may hold others)
    enabled: bool = False
    interval: int = 0
    last_run: dict[str, Any] | None = None  # the latest ingest run's columns (naive UTC)
    last_success: datetime | None = None  # aware UTC
    runs: dict[str, int] = field(default_factory=dict)  # ingest runs by status
    stored_total: int = 0  # new facts stored by ingest runs
    quarantined_total: int = 0  # records quarantined by ingest runs
    observations_total: int = 0  # facts in the store (read with `facts=True`)
    quarantine_rows: int = 0  # rows in the quarantine table (read with `facts=True`)

    @property
    def last_status(self) -> str | None:
        return self.last_run["status"] if self.last_run else None

    @property
    def last_started(self) -> datetime | None:
        return as_utc(self.last_run["started_at"]) if self.last_run else None

    @property
    def failures(self) -> int:
        return sum(self.runs.get(s, 0) for s in FAILED)


@dataclass
class Mover:
    source: str
    model_id: str
    metric: str
    growth_pct: float | None
    series: list[tuple[date, float]]


@dataclass
class SnapshotRow:
    """The newest published snapshot as the store recorded it."""

    version: int
    generated_at: datetime  # naive UTC
    published_at: datetime | None
    content_hash: str
    path: str
    models: int


@dataclass
class Status:
    """What the store says about the worker, read once."""

    sources: dict[str, SourceStatus] = field(default_factory=dict)
    snapshot: SnapshotRow | None = None
    recent_runs: list[dict[str, Any]] = field(default_factory=list)
    movers: list[Mover] = field(default_factory=list)
    copy_at: datetime | None = None  # when read from the analytics copy: its mtime (aware)
    problem: str | None = None  # why there is no history to show

    def configured(self) -> list[SourceStatus]:
        """The sources this config knows, in the config's order."""
        return [s for s in self.sources.values() if s.configured]

    def with_runs(self) -> list[SourceStatus]:
        """The sources that ever ran, by name."""
        return sorted((s for s in self.sources.values() if s.last_run), key=lambda s: s.name)


def empty(config: TractionConfig, problem: str | None = None) -> Status:
    """The configured sources and nothing read: there is no database to read."""
    enabled = config.sources.enabled()
    status = Status(problem=problem)
    for name in type(config.sources).model_fields:
        status.sources[name] = SourceStatus(
            name, True, name in enabled, getattr(config.sources, name).interval
        )
    return status


def read(
    con: duckdb.DuckDBPyConnection,
    config: TractionConfig,
    *,
    table: str = "published_snapshots",
    facts: bool = False,
    history: bool = False,
) -> Status:
    """The status the database `con` holds. `table`: `published_snapshots`, or `snapshot_documents`
    in the analytics copy; `facts`: also count each source's stored facts; `history`:
    also the latest runs and the top movers."""
    status = empty(config)
    sources = status.sources
    for source, run_status, runs, stored, quarantined in store.ingest_totals(con):
        row = sources.setdefault(source, SourceStatus(source))
        row.runs[run_status] = runs
        row.stored_total += int(stored or 0)
        row.quarantined_total += int(quarantined or 0)
    for run in store.latest_ingest_runs(con):
        sources.setdefault(run["source"], SourceStatus(run["source"])).last_run = run
    for source, last in store.last_successes(con):
        sources.setdefault(source, SourceStatus(source)).last_success = as_utc(last)
    if facts:
        for row in status.with_runs():
            row.observations_total, row.quarantine_rows = store.source_totals(con, row.name)
    found = store.latest_snapshot_summary(con, table)
    status.snapshot = SnapshotRow(*found) if found else None
    if history:
        status.recent_runs = store.recent_runs(con, RECENT_RUNS)
        status.movers = _movers(con, config.scoring.metric_weights)
    return status


def read_copy(config: TractionConfig, path: Path | None) -> Status:
    """The status the analytics copy at `path` holds, with its history and movers (the
    status page and `/metrics`); `problem` says why there is none."""
    if path is None:
        return empty(
            config, "storage.analytics is empty: no analytics copy to read run history from"
        )
    if not path.exists():
        return empty(config, f"no analytics copy yet at {path}: it appears after the first run")
    copy_at = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    with duckdb.connect(str(path), read_only=True) as con:
        status = read(con, config, table="snapshot_documents", history=True)
    status.copy_at = copy_at
    return status


def _movers(con: duckdb.DuckDBPyConnection, weights: dict[str, float]) -> list[Mover]:
    """The fastest-growing models, one line each, on the signals scoring actually weighs
    (a cumulative counter such as `downloads_all_time` always grows, and says little)."""
    from .analytics import VIEWS

    daily = VIEWS["daily_signals"]
    top = con.sql(f"WITH daily_signals AS ({daily}) {VIEWS['top_movers']}").fetchall()
    movers: list[Mover] = []
    seen: set[str] = set()
    for source, model_id, metric, *_, growth in top:
        if len(movers) == MOVERS:
            break
        if weights.get(f"{source}.{metric}", 0) <= 0 or model_id in seen:
            continue
        seen.add(model_id)
        series = con.execute(
            f"WITH daily_signals AS ({daily}) SELECT day, value FROM daily_signals"
            " WHERE source = ? AND model_id = ? AND metric = ? ORDER BY day DESC LIMIT ?",
            [source, model_id, metric, SPARK_DAYS],
        ).fetchall()
        movers.append(Mover(source, model_id, metric, growth, list(reversed(series))))
    return movers


# `traction status` ------------------------------------------------------------------


def collect(config: TractionConfig) -> dict[str, Any]:
    """`traction status`'s report: the live database, or the analytics copy while a
    writer holds it."""
    db = Path(config.storage.database)
    report: dict[str, Any] = {"database": str(db), "sources": {}, "snapshot": None}
    if not db.exists():
        report["error"] = "no database yet: run `traction run --once` or `traction demo`"
        return report
    try:
        with store.connect(db, read_only=True, wait=READ_WAIT) as con:
            status = read(con, config, facts=True)
    except store.DatabaseBusy as exc:
        # A writer has the file: the analytics copy (refreshed after every run) says the
        # same as of its last refresh; say so rather than fail.
        copy = config.storage.analytics
        if copy is None or not Path(copy).exists():
            report["error"] = f"{exc} (and there is no analytics copy to read instead)"
            report["busy"] = True
            return report
        copied_at = datetime.fromtimestamp(Path(copy).stat().st_mtime, timezone.utc)
        report["read_from"] = str(copy)
        report["note"] = (
            f"{exc}: read the analytics copy of {_iso(copied_at.replace(tzinfo=None))} instead"
        )
        with store.connect(copy, read_only=True, wait=READ_WAIT) as con:
            status = read(con, config, table="snapshot_documents", facts=True)
    report.update(as_report(status, config))
    if config.fleet.enabled:
        report["fleet"] = fleet_status(config)
    return report


def as_report(status: Status, config: TractionConfig) -> dict[str, Any]:
    """The `sources` and `snapshot` of `traction status --json`, from the model."""
    now = datetime.now(timezone.utc)
    sources: dict[str, Any] = {}
    for row in status.with_runs():
        run = {k: v for k, v in (row.last_run or {}).items() if k != "source"}
        run["started_at"], run["finished_at"] = _iso(run["started_at"]), _iso(run["finished_at"])
        run["quarantine_reasons"] = json.loads(run["quarantine_reasons"] or "{}")
        sources[row.name] = {
            "last_run": run,
            "last_success_at": _iso(row.last_success),
            "observations_total": row.observations_total,
            "quarantined_total": row.quarantine_rows,
        }
    snapshot = None
    snap = status.snapshot
    if snap:
        # The configured path, not the one recorded at publish time: that one may be
        # relative to another working directory, or from before the config changed.
        path = Path(config.storage.snapshot)
        snapshot = {
            "version": snap.version,
            "generated_at": _iso(snap.generated_at),
            "published_at": _iso(snap.published_at),
            "age_seconds": round(
                (now - snap.generated_at.replace(tzinfo=timezone.utc)).total_seconds(), 1
            ),
            "content_hash": snap.content_hash,
            "path": str(path),
            "models": snap.models,
            "file_present": path.is_file(),
        }
        if snap.path != str(path):
            snapshot["published_to"] = snap.path
    return {"sources": sources, "snapshot": snapshot}


def fleet_status(config: TractionConfig) -> dict[str, Any]:
    """Who leads the fleet and what it last published, asked of Redis (never a vote: this
    process does not try for the lock)."""
    from .fleet import Fleet

    try:
        fleet = Fleet(config.fleet)
    except Exception as exc:  # redis-py missing, a bad URL: say so, the rest still reports
        return {"error": str(exc)}
    try:
        info = fleet.status()
    finally:
        fleet.close()
    return {k: v for k, v in info.items() if k not in ("worker_id", "leading")}


def as_utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=timezone.utc)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=timezone.utc).isoformat()


def render_text(report: dict[str, Any]) -> str:
    lines = [f"database: {report['database']}"]
    if report.get("note"):
        lines.append(report["note"])
    if report.get("error"):
        lines.append(report["error"])
        return "\n".join(lines)
    lines.append("")
    lines.append(
        f"{'source':<21} {'status':<11} {'last run (UTC)':<19} {'records':>7} "
        f"{'new facts':>9} {'quarantined':>11} {'requests':>8}  note"
    )
    for name, info in report["sources"].items():
        run = info["last_run"]
        started = (run["started_at"] or "")[:19].replace("T", " ")
        note = run["error"] or (f"vintage {run['vintage']}" if run["vintage"] else "")
        if run["origin"] and run["origin"] != "fetch":
            note = f"from {run['origin']}; {note}" if note else f"from {run['origin']}"
        lines.append(
            f"{name:<21} {run['status']:<11} {started:<19} {run['records_fetched']:>7} "
            f"{run['records_stored']:>9} {run['records_quarantined']:>11} {run['requests']:>8}"
            f"  {note}"
        )
        for reason, count in run["quarantine_reasons"].items():
            lines.append(f"{'':<21} quarantined x{count}: {reason}")
    snap = report["snapshot"]
    lines.append("")
    if snap:
        age = _human(snap["age_seconds"])
        lines.append(
            f"snapshot v{snap['version']}: {snap['models']} models, generated {age} ago,"
            f" {snap['path']}{'' if snap['file_present'] else ' (FILE MISSING)'}"
        )
    else:
        lines.append("snapshot: none published yet")
    fleet = report.get("fleet")
    if fleet:
        if fleet.get("error"):
            lines.append(f"fleet: {fleet.get('redis', '')} unavailable: {fleet['error']}")
        else:
            lines.append(
                f"fleet: {fleet['redis']}, led by {fleet['leader'] or 'nobody'},"
                f" fleet snapshot v{fleet.get('snapshot_version')}"
            )
    return "\n".join(lines)


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=True)


def _human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"
