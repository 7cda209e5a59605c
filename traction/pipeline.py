"""One cycle of the worker (`traction run --once`, and each daemon job): ingest, then score
and publish when there is something new to say.

A snapshot is published when a source stored new facts, or when the current snapshot
has used up half its freshness (so a quiet upstream never lets the router's data go
stale). Nothing is published when every source failed: the last good snapshot, with its
own `stale_after`, is the truthful thing to leave in place. A cycle that changed nothing
and finds a fresh snapshot is a no-op, so cron may run it as often as it likes.
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
    current_version: int | None = None  # nothing new: this snapshot stays current

    @property
    def published(self) -> bool:
        return self.snapshot is not None

    @property
    def up_to_date(self) -> bool:
        return self.published or self.current_version is not None

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


def current_snapshot(con, config: TractionConfig, now: datetime) -> int | None:
    """The published snapshot's version if it is on disk and has half its freshness left."""
    found = store.rows(
        con, "SELECT version, generated_at FROM snapshots ORDER BY version DESC LIMIT 1"
    )
    if not found or not Path(config.storage.snapshot).exists():
        return None
    version, generated = found[0]
    age = (now - generated.replace(tzinfo=timezone.utc)).total_seconds()
    return version if 0 <= age < config.scoring.stale_after / 2 else None


def run_cycle(
    config: TractionConfig,
    now: datetime | None = None,
    only: list[str] | None = None,
    analytics: bool = True,
) -> CycleReport:
    now = now or datetime.now(timezone.utc)
    report = CycleReport()
    with store.connect(config.storage.database) as con:
        report.outcomes = ingest(con, config, only=only, now=now)
        if not report.outcomes:
            report.refused = "no source is enabled"
        elif not any(o.succeeded for o in report.outcomes):
            report.refused = "every source failed; the last published snapshot is left as it was"
        elif not any(o.stored for o in report.outcomes) and (
            version := current_snapshot(con, config, now)
        ):
            report.current_version = version
            log.info("nothing new upstream; snapshot v%d stays current", version)
        else:
            score_and_publish(con, config, now, report)
        if analytics and config.storage.analytics:
            from .analytics import refresh

            refresh(con, config.storage.analytics)
    return report
