"""One cycle of the worker (`traction run --once`, and each daemon job): ingest, then score
and publish when there is something new to say.

A snapshot is published when a source stored new facts, when facts were stored since the
last publish (by `traction ingest`, or a cycle killed before it published), or when the
current snapshot has used up half its freshness (so a quiet upstream never lets the
router's data go stale); a cycle whose every source was skipped is judged the same way.
Publishes are coalesced: new facts within `scoring.min_publish_interval` of the current
snapshot's generation wait (the report says until when) for the first cycle after it, or
the daemon's deferred-publish job; half-used freshness still publishes at once.
Nothing is published when every source that ran failed: the last good snapshot, with its
own `stale_after`, is the truthful thing to leave in place. A cycle that changed nothing
and finds a fresh snapshot is a no-op, so cron may run it as often as it likes.

With `TRACTION_SNAPSHOT_KEY` set every snapshot is signed (schemas/signing.py). In fleet
mode (`fleet.redis_url`) only the leader ingests and publishes, and "the current
snapshot" is the fleet's, in Redis; a one-off command (`run --once`, `publish`) holds
the lock for its own duration, or does nothing when another worker leads.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import store
from ingest.runner import Progress, RunOutcome, ingest
from schemas.config import TractionConfig
from schemas.signing import key_from_env, sign
from schemas.snapshot import Snapshot
from scoring.snapshot import PublishRefused, build_snapshot, publish

if TYPE_CHECKING:
    from .fleet import Fleet

log = logging.getLogger("traction.run")


@dataclass
class CycleReport:
    outcomes: list[RunOutcome] = field(default_factory=list)
    snapshot: Snapshot | None = None
    path: Path | None = None
    refused: str | None = None
    current_version: int | None = None  # nothing new (or deferred): this snapshot stays current
    deferred_until: datetime | None = None  # new facts, publish coalesced until then
    follower_of: str | None = None  # fleet mode: another worker leads, this one did nothing

    @property
    def published(self) -> bool:
        return self.snapshot is not None

    @property
    def up_to_date(self) -> bool:
        return self.published or self.current_version is not None

    @property
    def failures(self) -> list[RunOutcome]:
        return [o for o in self.outcomes if o.failed]


@contextmanager
def leadership(config: TractionConfig, fleet: Fleet | None = None) -> Iterator[Fleet | None]:
    """The fleet to publish through: the daemon's own, or for a one-off command in fleet
    mode a lock taken (if free) and held just for the command; None outside fleet mode."""
    if fleet is not None or not config.fleet.enabled:
        yield fleet
        return
    from .fleet import Fleet

    held = Fleet(config.fleet).start()
    try:
        held.wait_first(timeout=config.fleet.lock_ttl)
        yield held
    finally:
        held.close()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Building a snapshot allocates a few objects per model and field, millions for a
    large catalogue, none of them cyclic garbage; the cyclic collector would walk the
    growing heap again and again meanwhile (20k models: 6 s of 9). Process-wide, for the
    seconds a publish takes; collection resumes as usual after."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def score_and_publish(
    con,
    config: TractionConfig,
    now: datetime,
    report: CycleReport,
    force: str | None = None,
    fleet: Fleet | None = None,
) -> None:
    """Score and publish, recording the outcome (and why, when refused or forced) in `runs`."""
    with leadership(config, fleet) as fleet:
        _score_and_publish(con, config, now, report, force, fleet)


def _score_and_publish(
    con,
    config: TractionConfig,
    now: datetime,
    report: CycleReport,
    force: str | None,
    fleet: Fleet | None,
) -> None:
    on_disk = reconcile_snapshot(con, config)
    run_id = store.start_run(con, "publish", None, now)
    try:
        # In a fleet the snapshot being replaced is the fleet's, whoever published it.
        floor, previous = fleet.predecessor() if fleet is not None else (0, None)
        left_out: set[str] = set()  # scored, outside the snapshot scope: not vanished
        with gc_paused():
            snapshot = build_snapshot(
                con, config, now, min_version=max(floor, on_disk) + 1, left_out=left_out
            )
            key = key_from_env()
            if key is not None:
                snapshot = sign(snapshot, key)
            report.path = publish(
                con,
                config,
                snapshot,
                run_id,
                force_reason=force,
                distribute=fleet.publish if fleet is not None else None,
                previous_keys=previous,
                left_out=left_out,
            )
        report.snapshot = snapshot
        store.finish_run(con, run_id, "ok", stored=len(snapshot.models))
        if force:
            store.set_note(con, run_id, f"forced: {force}")
    except PublishRefused as exc:
        report.refused = str(exc)
        log.warning("snapshot not published: %s", exc)
        store.finish_run(con, run_id, "refused", error=str(exc))
    except BaseException as exc:  # a bug or a dying process: the run row says so, never `running`
        with contextlib.suppress(Exception):
            store.finish_run(con, run_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise


VERSION_HEAD = re.compile(rb'^\s*\{[^{]*?"version":\s*(\d+)')
HASH_TAIL = re.compile(rb'"content_hash":\s*"(sha256:[0-9a-f]{64})"')


def reconcile_snapshot(con, config: TractionConfig) -> int:
    """Make `snapshots` agree with the file routers read, and return its version (0: none).

    The file is renamed into place inside the publish transaction, just before COMMIT; a
    process killed between the two leaves routers reading a version the table never
    recorded, and the next publish would number a different document the same. Here that
    document is recorded (it is what routers saw), and the caller numbers after it. Cheap
    when all is well: the version and hash are read from the file's first and last bytes."""
    path = Path(config.storage.snapshot)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return 0
        with path.open("rb") as handle:
            head = handle.read(512)
            handle.seek(max(0, os.fstat(handle.fileno()).st_size - 4096))
            tail = handle.read()
    except OSError:
        return 0
    version_match, hash_match = VERSION_HEAD.match(head), HASH_TAIL.search(tail)
    if version_match is None or hash_match is None:
        return 0
    version, digest = int(version_match[1]), hash_match[1].decode()
    recorded = store.snapshot_hash(con, version)
    if recorded == digest:
        return version
    try:
        data = path.read_bytes()
        snapshot = Snapshot.model_validate_json(data)
    except (OSError, ValueError):  # not a snapshot we can trust: number after its version only
        return version
    if recorded is not None:  # an older worker reused the number: keep the table's, move on
        log.warning("snapshot file %s holds a v%d other than the recorded one", path, version)
        return version
    generated = store.naive_utc(snapshot.generated_at)
    run_id = store.publish_run_started_at(con, generated) or f"reconciled-v{version}"
    published = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    store.record_snapshot(
        con, version, run_id, generated, published, snapshot.content_hash, str(path), data.decode()
    )
    log.warning(
        "snapshot v%d at %s was published but never recorded (the publisher died before"
        " committing); recorded it now",
        version,
        path,
    )
    return version


def unpublished_facts(con) -> bool:
    """Whether an ingest run stored facts after the last publish that scored the store
    (published, or refused by a guard: the same facts would be refused again). Rows carry
    the wall clock at commit (`finished_at`), whatever time a run was told it is."""
    return bool(store.stored_since_last_publish(con))


def recover(config: TractionConfig) -> int:
    """What a writer does first, holding the data-directory lock (so nobody else is running):
    close the runs a killed process left `running` as `interrupted`, and make the
    snapshot table agree with the file. Returns how many runs were closed."""
    with store.connect(config.storage.database) as con:
        closed = store.close_interrupted(con)
        if closed:
            log.warning("%d run(s) left running by a process that died: marked interrupted", closed)
        reconcile_snapshot(con, config)
    return closed


def current_snapshot(
    con, config: TractionConfig, now: datetime, fleet: Fleet | None = None
) -> int | None:
    """The published snapshot's version if it is on disk (in a fleet: in Redis) and has half
    its freshness left."""
    found = _fresh_snapshot(con, config, now, fleet)
    return None if found is None else found[0]


def _fresh_snapshot(
    con, config: TractionConfig, now: datetime, fleet: Fleet | None
) -> tuple[int, datetime] | None:
    """(version, generated_at) of the published snapshot if it has half its freshness left."""
    if fleet is not None:
        try:
            found = [fleet.published()]
        except PublishRefused:  # Redis cannot say: try to publish, which will say why not
            return None
        if found[0] is None:
            return None
    else:
        latest = store.latest_snapshot(con)
        if latest is None or not Path(config.storage.snapshot).exists():
            return None
        found = [latest]
    version, generated = found[0]
    generated = generated.replace(tzinfo=timezone.utc)
    age = (now - generated).total_seconds()
    return (version, generated) if 0 <= age < config.scoring.stale_after / 2 else None


def publish_if_due(
    con,
    config: TractionConfig,
    now: datetime,
    report: CycleReport,
    fleet: Fleet | None = None,
    stored: bool = False,
) -> None:
    """Publish unless there is nothing to: no new facts (`stored` by this cycle, or since
    the last publish) and a fresh snapshot; or new facts but a fresh snapshot younger than
    `scoring.min_publish_interval` (coalesced: the deferral is recorded in the report, and
    the first cycle, or the daemon's deferred-publish job, after the interval publishes).
    A snapshot past half its freshness is always replaced."""
    news = stored or unpublished_facts(con)  # landed by `ingest`, or a cycle killed mid-way
    fresh = _fresh_snapshot(con, config, now, fleet)
    if fresh is not None:
        version, generated = fresh
        interval = config.scoring.min_publish_interval
        until = generated + timedelta(seconds=interval)
        if not news:
            report.current_version = version
            log.info("nothing new upstream; snapshot v%d stays current", version)
            return
        if now < until:
            report.current_version = version
            report.deferred_until = until
            log.info(
                "new facts stored; publish deferred until %s (scoring.min_publish_interval):"
                " snapshot v%d stays current meanwhile",
                until.isoformat(timespec="seconds"),
                version,
            )
            return
    _score_and_publish(con, config, now, report, None, fleet)


def publish_deferred(
    config: TractionConfig,
    now: datetime | None = None,
    fleet: Fleet | None = None,
    analytics: bool = True,
) -> CycleReport:
    """The daemon's deferred-publish job (and `run --once --due` with nothing due): no
    ingest; publish the facts earlier cycles stored since the last publish, if any, once
    `scoring.min_publish_interval` allows (see `publish_if_due`), then refresh the
    analytics copy. Without such facts it does nothing."""
    with store.connect(config.storage.database) as con:
        if not unpublished_facts(con):  # the usual case: no fleet lock taken for nothing
            return CycleReport()
    with leadership(config, fleet) as fleet:
        if fleet is not None and not fleet.is_leader():
            if fleet.problem:
                return CycleReport(refused=fleet.problem)
            return CycleReport(follower_of=fleet.leader() or "unknown")
        now = now or datetime.now(timezone.utc)
        report = CycleReport()
        with store.connect(config.storage.database) as con:
            publish_if_due(con, config, now, report, fleet, stored=True)
            if report.published and analytics:
                refresh_analytics(con, config)
        return report


def refresh_analytics(con, config: TractionConfig) -> None:
    """Bring the analysts' copy up to date, if one is configured: after the cycle of
    `run --once`, and in the daemon `storage.analytics_delay` seconds after a cycle (each
    refresh checksums every table, so the three hourly sources, which run together, would
    otherwise pay it three times for one hour's news)."""
    if config.storage.analytics:
        from .analytics import refresh

        refresh(con, config.storage.analytics)


def run_cycle(
    config: TractionConfig,
    now: datetime | None = None,
    only: list[str] | None = None,
    analytics: bool = True,
    fleet: Fleet | None = None,
    progress: Progress | None = None,
) -> CycleReport:
    """One cycle. In fleet mode, only on the leader: a follower reports `follower_of`."""
    with leadership(config, fleet) as fleet:
        if fleet is not None and not fleet.is_leader():
            if fleet.problem:  # not a follower: cut off from the fleet
                return CycleReport(refused=fleet.problem)
            return CycleReport(follower_of=fleet.leader() or "unknown")
        return _run_cycle(config, now, only, analytics, fleet, progress)


def _run_cycle(
    config: TractionConfig,
    now: datetime | None,
    only: list[str] | None,
    analytics: bool,
    fleet: Fleet | None,
    progress: Progress | None = None,
) -> CycleReport:
    now = now or datetime.now(timezone.utc)
    report = CycleReport()
    with store.connect(config.storage.database) as con:
        report.outcomes = ingest(con, config, only=only, now=now, progress=progress)
        if not report.outcomes:
            report.refused = "no source is enabled"
        elif any(o.failed for o in report.outcomes) and not any(
            o.succeeded for o in report.outcomes
        ):  # skipped sources (no key, nothing to ask) are neither failures nor news
            report.refused = "every source failed; the last published snapshot is left as it was"
        else:
            stored = any(o.stored for o in report.outcomes)
            publish_if_due(con, config, now, report, fleet, stored=stored)
        if analytics:
            refresh_analytics(con, config)
    return report


def vacuum(config: TractionConfig, compact: bool | None = None) -> Retention:
    """Apply retention now: prune the raw archive past `archive_retention_days`, keep one
    observation per series and day past `downsample_after_days` and one snapshot per day
    past `snapshot_history_days`, then give the space back. `compact`: rewrite the file
    (True: `traction vacuum`), or only when `storage.compact_every_days` have passed since
    the last compaction (None: the daemon's daily retention job, since a rewrite costs
    about a second per 100 MB while the lock is held). Each pass is a run (kind `vacuum`,
    and `compact` when the file was rewritten) whose note says what it did. The caller
    holds the lock."""
    now = store.utcnow()
    with store.connect(config.storage.database) as con:
        run_id = store.start_run(con, "vacuum", None, now)
        done = Retention(
            pages=store.prune_archive(con, config.ingest.archive_retention_days),
            observations=store.downsample(con, config.ingest.downsample_after_days),
            snapshots=store.thin_snapshots(con, config.ingest.snapshot_history_days),
        )
        store.finish_run(con, run_id, "ok")
        store.set_note(con, run_id, str(done))
        store.checkpoint(con)
        if compact is None:
            every = config.storage.compact_every_days
            last = store.last_compaction(con)
            compact = every > 0 and (last is None or now - last >= timedelta(days=every))
    if compact:
        done.compacted = store.compact(config.storage.database)
        done.left_uncompacted = done.compacted is None
        # Recorded either way; only an `ok` one puts off the next rewrite (`last_compaction`).
        with store.connect(config.storage.database) as con:
            run_id = store.start_run(con, "compact", None, now)
            store.finish_run(con, run_id, "ok" if done.compacted else "failed")
            store.set_note(con, run_id, done.compaction())
    return done


@dataclass
class Retention:
    """What one retention pass removed (and the file's size before and after, if it was
    rewritten)."""

    pages: int
    observations: int
    snapshots: int
    compacted: tuple[int, int] | None = None
    left_uncompacted: bool = False  # a rewrite was due but would have lost something

    def compaction(self) -> str:
        """What the rewrite did, or why it left the file as it was."""
        if self.compacted is None:
            return "did not compact the file: it was still in use (it stays as it was)"
        before, after = self.compacted
        return f"compacted the file from {before / 1e6:,.1f} MB to {after / 1e6:,.1f} MB"

    def __str__(self) -> str:
        return (
            f"pruned {self.pages} archived pages; downsampled away {self.observations}"
            f" observations; thinned away {self.snapshots} snapshots"
        ) + (f"; {self.compaction()}" if self.compacted or self.left_uncompacted else "")
