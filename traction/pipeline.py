"""`traction run --once`: ingest every enabled source, then score and publish.

A snapshot is published only when at least one source succeeded in this run: when
every source is down there is nothing new to say, and the last good snapshot (with
its own `stale_after`) is the truthful thing to leave in place.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ingest.runner import RunOutcome, ingest
from schemas.config import TractionConfig
from schemas.snapshot import Snapshot
from scoring.snapshot import PublishRefused, build_snapshot, publish

from . import store

log = logging.getLogger("traction.run")


@dataclass
class CycleReport:
    outcomes: list[RunOutcome] = field(default_factory=list)
    snapshot: Snapshot | None = None
    path: Path | None = None
    refused: str | None = None

    @property
    def published(self) -> bool:
        return self.snapshot is not None

    @property
    def failures(self) -> list[RunOutcome]:
        return [o for o in self.outcomes if o.failed]


def score_and_publish(
    con, config: TractionConfig, now: datetime, report: CycleReport, force: str | None = None
) -> None:
    """Score and publish, recording the outcome (and why, when refused or forced) in `runs`."""
    run_id = store.start_run(con, "publish", None, now)
    try:
        snapshot = build_snapshot(con, config, now)
        report.path = publish(con, config, snapshot, run_id, force_reason=force)
        report.snapshot = snapshot
        store.finish_run(con, run_id, "ok", stored=len(snapshot.models))
        if force:
            con.execute("UPDATE runs SET note = ? WHERE run_id = ?", [f"forced: {force}", run_id])
    except PublishRefused as exc:
        report.refused = str(exc)
        log.warning("snapshot not published: %s", exc)
        store.finish_run(con, run_id, "refused", error=str(exc))


def run_cycle(
    config: TractionConfig, now: datetime | None = None, only: list[str] | None = None
) -> CycleReport:
    now = now or datetime.now(timezone.utc)
    report = CycleReport()
    with store.connect(config.storage.database) as con:
        report.outcomes = ingest(con, config, only=only, now=now)
        if not report.outcomes:
            report.refused = "no source is enabled"
        elif not any(o.succeeded for o in report.outcomes):
            report.refused = "every source failed; the last published snapshot is left as it was"
        else:
            score_and_publish(con, config, now, report)
    return report
