"""`traction run`: the long-running worker, on APScheduler 3.

One interval job per enabled source, plus the retention job (daily), the deferred publish
and the analytics copy's refresh (both booked by cycles). Jobs share a single-thread
executor because DuckDB allows one writer: a source's ingest and the publish that follows
it never overlap another's. `coalesce` and `max_instances=1` keep a slow run from piling
up.
In fleet mode (`fleet.redis_url`) the jobs run only while this worker leads the fleet
(traction/fleet.py); followers keep trying for the lock and log every change.
"""

from __future__ import annotations

import logging
import signal
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler

import store
from schemas.config import TractionConfig

from .pipeline import CycleReport, publish_deferred, refresh_analytics, run_cycle, vacuum

if TYPE_CHECKING:
    from .fleet import Fleet

log = logging.getLogger("traction.daemon")


def cycle_job(
    config: TractionConfig,
    source: str | None,
    fleet: Fleet | None = None,
    scheduler: BlockingScheduler | None = None,
) -> None:
    """One source's cycle (every source's when `source` is None). A cycle whose publish
    was deferred (`scoring.min_publish_interval`) books a publish-only job for the moment
    the deferral ends, so stored facts reach routers then even if no source runs."""
    if fleet is not None and not fleet.is_leader():  # fleet mode: only the leader works
        log.debug("following; %s cycle skipped", source or "full")
        return
    try:
        report = run_cycle(
            config,
            only=[source] if source else None,
            fleet=fleet,
            analytics=not config.storage.analytics_delay,  # else the booked analytics_job
        )
    except store.DatabaseBusy as exc:  # an analyst's long read: this source's next run catches up
        log.warning("cycle for %s skipped: %s", source or "every source", exc)
        return
    except Exception:  # one bad cycle must not kill the daemon
        log.exception("cycle for %s crashed", source or "every source")
        return
    for outcome in report.failures:
        log.warning("%s failed: %s", outcome.source, outcome.error)
    _log_publish(report)
    if scheduler is None:
        return
    if report.deferred_until is not None:
        scheduler.add_job(
            publish_job,
            "date",
            run_date=report.deferred_until + timedelta(seconds=1),
            args=[config, fleet, scheduler],
            id="deferred-publish",
            replace_existing=True,
            misfire_grace_time=None,
        )
    book_analytics(config, fleet, scheduler)


def book_analytics(
    config: TractionConfig, fleet: Fleet | None, scheduler: BlockingScheduler
) -> None:
    """Book the analytics copy's refresh `storage.analytics_delay` seconds from now, unless
    one is booked already (it will catch this cycle up too, and moving it on would starve
    the copy if cycles kept coming)."""
    delay = config.storage.analytics_delay
    if not (config.storage.analytics and delay) or scheduler.get_job("analytics") is not None:
        return
    scheduler.add_job(
        analytics_job,
        "date",
        run_date=datetime.now(timezone.utc) + timedelta(seconds=delay),
        args=[config, fleet],
        id="analytics",
        misfire_grace_time=None,
    )


def _log_publish(report: CycleReport) -> None:
    """What a cycle or a deferred publish did with the snapshot, in the daemon's log."""
    if report.published and report.snapshot is not None:
        log.info(
            "published snapshot v%d (%d models)",
            report.snapshot.version,
            len(report.snapshot.models),
        )
    elif report.refused:
        log.warning("not published: %s", report.refused)


def publish_job(
    config: TractionConfig,
    fleet: Fleet | None = None,
    scheduler: BlockingScheduler | None = None,
) -> None:
    """Publish what cycles stored while publishes were coalesced (no ingest)."""
    if fleet is not None and not fleet.is_leader():
        return
    try:
        report = publish_deferred(config, fleet=fleet, analytics=not config.storage.analytics_delay)
    except store.DatabaseBusy as exc:  # the next source cycle publishes instead
        log.warning("deferred publish skipped: %s", exc)
        return
    except Exception:
        log.exception("deferred publish crashed")
        return
    _log_publish(report)
    if report.published and scheduler is not None:
        book_analytics(config, fleet, scheduler)


def retention_job(config: TractionConfig, fleet: Fleet | None = None) -> None:
    """Once a day: the raw archive and old observations are trimmed as `traction vacuum`
    would, so a daemon left alone for a year keeps a bounded database."""
    if fleet is not None and not fleet.is_leader():
        return
    try:
        done = vacuum(config)
    except store.DatabaseBusy as exc:
        log.warning("retention skipped: %s; it runs again tomorrow", exc)
        return
    except Exception:
        log.exception("retention failed; it runs again tomorrow")
        return
    log.info("retention: %s", done)


def analytics_job(config: TractionConfig, fleet: Fleet | None = None) -> None:
    """The analysts' copy catches up with whatever the cycles since it was booked stored,
    in one refresh."""
    if fleet is not None and not fleet.is_leader():
        return
    try:
        with store.connect(config.storage.database) as con:
            refresh_analytics(con, config)
    except store.DatabaseBusy as exc:
        log.warning("analytics refresh skipped: %s; the next one catches up", exc)
    except Exception:
        log.exception("analytics refresh failed; the next one tries again")


def _fleet_for(config: TractionConfig, scheduler: BlockingScheduler, jobs: list[str]) -> Fleet:
    """Fleet mode: every job runs only while this worker leads (the Fleet logs each
    change). On taking over, one cycle of *every* source runs at once, so the fleet's
    snapshot moves on within a lock TTL of the old leader's death and is built from all
    sources (a one-source cycle first would publish a lopsided snapshot); the per-source
    jobs then resume one interval later."""
    from .fleet import Fleet

    fleet = Fleet(config.fleet)

    def on_change(leading: bool, reason: str) -> None:
        if not leading:
            return
        now = datetime.now(timezone.utc)
        for job in jobs:
            interval = getattr(config.sources, job).interval
            scheduler.modify_job(job, next_run_time=now + timedelta(seconds=interval))
        scheduler.add_job(
            cycle_job,
            "date",
            run_date=now,
            args=[config, None, fleet, scheduler],
            id="takeover",
            replace_existing=True,
            misfire_grace_time=None,
        )

    fleet.on_change = on_change
    return fleet


def run_daemon(config: TractionConfig, http: str | None = None) -> int:
    """Run until SIGTERM or SIGINT; the job in progress finishes (each is bounded by
    `retry.run_budget`) and every database connection is closed before exit."""
    scheduler = BlockingScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        timezone=timezone.utc,
    )
    now = datetime.now(timezone.utc)
    enabled = config.sources.enabled()
    if not enabled:
        log.error("no source is enabled; nothing to schedule")
        return 2
    fleet = _fleet_for(config, scheduler, enabled) if config.fleet.enabled else None
    for name in enabled:  # all due now; the one-thread executor runs them in turn
        interval = getattr(config.sources, name).interval
        scheduler.add_job(
            cycle_job,
            "interval",
            seconds=interval,
            jitter=min(60, interval // 10),
            args=[config, name, fleet, scheduler],
            id=name,
            next_run_time=now,
        )
    scheduler.add_job(  # first an hour in, so a restart loop cannot vacuum every minute
        retention_job,
        "interval",
        hours=24,
        args=[config, fleet],
        id="retention",
        next_run_time=now + timedelta(hours=1),
    )
    if fleet is not None:
        fleet.start()
    server = None
    if http:
        from .status_server import start

        server = start(config, http)
        log.info("serving status on %s", server.url)

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %d: finishing the current job, then stopping", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "traction daemon started: %s",
        ", ".join(f"{n} every {getattr(config.sources, n).interval}s" for n in enabled),
    )
    try:
        scheduler.start()
    finally:
        # shutdown(wait=False) returns at once; the running job still owns its database
        # connection, so wait for the executor here, outside the signal handler.
        executor = scheduler._executors.get("default")
        if executor is not None and hasattr(executor, "_pool"):
            executor._pool.shutdown(wait=True)
        if fleet is not None:
            fleet.close()  # after the last job: hand the lock over at once, not at its TTL
        if server is not None:
            server.close()
    log.info("traction daemon stopped")
    return 0
