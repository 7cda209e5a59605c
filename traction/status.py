"""What `traction status` reports: the last run per source and the published snapshot."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from schemas.config import TractionConfig

from . import store


def collect(config: TractionConfig) -> dict[str, Any]:
    db = Path(config.storage.database)
    report: dict[str, Any] = {"database": str(db), "sources": {}, "snapshot": None}
    now = datetime.now(timezone.utc)
    if not db.exists():
        report["error"] = "no database yet: run `traction run --once` or `traction demo`"
        return report
    with store.connect(db, read_only=True) as con:
        latest = con.execute(
            "SELECT source, run_id, status, started_at, finished_at, records_fetched,"
            " records_stored, records_quarantined, vintage, error FROM ("
            "  SELECT *, row_number() OVER (PARTITION BY source ORDER BY started_at DESC) AS n"
            "  FROM runs WHERE kind = 'ingest') WHERE n = 1 ORDER BY source"
        ).fetchall()
        for (
            source,
            run_id,
            status,
            started,
            finished,
            fetched,
            stored,
            quar,
            vintage,
            err,
        ) in latest:
            last_ok = store.last_success(con, source)
            totals = store.rows(
                con,
                "SELECT (SELECT count(*) FROM observations WHERE source = ?),"
                " (SELECT count(*) FROM quarantine WHERE source = ?)",
                [source, source],
            )[0]
            report["sources"][source] = {
                "last_run": {
                    "run_id": run_id,
                    "status": status,
                    "started_at": _iso(started),
                    "finished_at": _iso(finished),
                    "records_fetched": fetched,
                    "records_stored": stored,
                    "records_quarantined": quar,
                    "vintage": vintage,
                    "error": err,
                },
                "last_success_at": _iso(last_ok),
                "observations_total": totals[0],
                "quarantined_total": totals[1],
            }
        found = store.rows(
            con,
            "SELECT version, generated_at, published_at, content_hash, path,"
            " json_array_length(body -> '$.models') FROM snapshots ORDER BY version DESC LIMIT 1",
        )
        snap = found[0] if found else None
    if snap:
        version, generated, published, digest, path, models = snap
        generated_aware = generated.replace(tzinfo=timezone.utc)
        report["snapshot"] = {
            "version": version,
            "generated_at": _iso(generated),
            "published_at": _iso(published),
            "age_seconds": round((now - generated_aware).total_seconds(), 1),
            "content_hash": digest,
            "path": path,
            "models": models,
            "file_present": Path(path).exists(),
        }
    return report


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=timezone.utc).isoformat()


def render_text(report: dict[str, Any]) -> str:
    lines = [f"database: {report['database']}"]
    if report.get("error"):
        lines.append(report["error"])
        return "\n".join(lines)
    lines.append("")
    lines.append(
        f"{'source':<12} {'status':<12} {'last run (UTC)':<20} {'fetched':>8} "
        f"{'new facts':>9} {'quarantined':>11}  note"
    )
    for name, info in report["sources"].items():
        run = info["last_run"]
        started = (run["started_at"] or "")[:19].replace("T", " ")
        note = run["error"] or (f"vintage {run['vintage']}" if run["vintage"] else "")
        lines.append(
            f"{name:<12} {run['status']:<12} {started:<20} {run['records_fetched']:>8} "
            f"{run['records_stored']:>9} {run['records_quarantined']:>11}  {note}"
        )
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
