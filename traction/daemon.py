"""`traction run`: the long-running worker, on APScheduler 3.

One interval job per enabled source. Jobs share a single-thread executor because
DuckDB allows one writer: a source's ingest and the publish that follows it never
overlap another's. `coalesce` and `max_instances=1` keep a slow run from piling up.
"""

from __future__ import annotations

import logging
import signal
from datetime import datetime, timezone

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler

from schemas.config import TractionConfig

from .pipeline import run_cycle

log = logging.getLogger("traction.daemon")


def cycle_job(config: TractionConfig, source: str) -> None:
    try:
        report = run_cycle(config, only=[source])
    except Exception:  # one bad cycle must not kill the daemon
        log.exception("cycle for %s crashed", source)
        return
    for outcome in report.failures:
        log.warning("%s failed: %s", outcome.source, outcome.error)
    if report.published and report.snapshot is not None:
        log.info(
            "published snapshot v%d (%d models)",
            report.snapshot.version,
            len(report.snapshot.models),
        )
    elif report.refused:
        log.warning("not published: %s", report.refused)


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
    for name in enabled:  # all due now; the one-thread executor runs them in turn
        interval = getattr(config.sources, name).interval
        scheduler.add_job(
            cycle_job,
            "interval",
            seconds=interval,
            jitter=min(60, interval // 10),
            args=[config, name],
            id=name,
            next_run_time=now,
        )
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
        if server is not None:
            server.close()
    log.info("traction daemon stopped")
    return 0
