"""What `traction status` reports: the last run per source and the published snapshot."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import store
from schemas.config import TractionConfig

READ_WAIT = 2.0  # seconds `status` waits for a writer before reading the analytics copy


def collect(config: TractionConfig) -> dict[str, Any]:
    db = Path(config.storage.database)
    report: dict[str, Any] = {"database": str(db), "sources": {}, "snapshot": None}
    now = datetime.now(timezone.utc)
    if not db.exists():
        report["error"] = "no database yet: run `traction run --once` or `traction demo`"
        return report
    try:
        with store.connect(db, read_only=True, wait=READ_WAIT) as con:
            snap = _read(con, report, "snapshots")
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
            snap = _read(con, report, "snapshot_documents")
    if config.fleet.enabled:
        report["fleet"] = fleet_status(config)
    if snap:
        version, generated, published, digest, recorded_path, models = snap
        generated_aware = generated.replace(tzinfo=timezone.utc)
        # The configured path, not the one recorded at publish time: that one may be
        # relative to another working directory, or from before the config changed.
        path = Path(config.storage.snapshot)
        report["snapshot"] = {
            "version": version,
            "generated_at": _iso(generated),
            "published_at": _iso(published),
            "age_seconds": round((now - generated_aware).total_seconds(), 1),
            "content_hash": digest,
            "path": str(path),
            "models": models,
            "file_present": path.is_file(),
        }
        if recorded_path != str(path):
            report["snapshot"]["published_to"] = recorded_path
    return report


def _read(con, report: dict[str, Any], snapshots: str) -> tuple | None:
    """Fill `report["sources"]`; return the newest snapshot's row, or None."""
    for run in store.latest_ingest_runs(con):
        source = run.pop("source")
        run["started_at"], run["finished_at"] = (
            _iso(run["started_at"]),
            _iso(run["finished_at"]),
        )
        run["quarantine_reasons"] = json.loads(run["quarantine_reasons"] or "{}")
        last_ok = store.last_success(con, source)
        totals = store.source_totals(con, source)
        report["sources"][source] = {
            "last_run": run,
            "last_success_at": _iso(last_ok),
            "observations_total": totals[0],
            "quarantined_total": totals[1],
        }
    return store.latest_snapshot_summary(con, snapshots)


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
