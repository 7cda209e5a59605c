"""Run sources: plan, fetch concurrently, then land each source's run in one transaction.

A run is all or nothing: its run row, its archived pages, its facts and its quarantine
rows commit together, so a crash mid-run leaves the database as it was. A source that
fails records a failed run and nothing else; the others go on. A run whose pages hash
the same as the source's last good run stores no new facts ("unchanged").

Each source's run is one boundary: whatever its planning, fetch, parse or landing
raises (a contract failure, a redirect loop, a bug) ends as that source's `failed` run
with the reason in `error`, never as an exception out of `ingest`. A payload of which
no record passed its contract is `failed` too, not `degraded`: a source that answers
only with error objects is not a source that works.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb

import store
from schemas.config import TractionConfig
from schemas.limits import REASON_MAX_LENGTH, printable
from schemas.rows import SourceResult

from .http import Fetched, FetchError, PayloadError, SourceClient, SourceSkipped, content_hash
from .http import decode_json as _decode
from .policy import budget_for
from .sources import Source, build_sources

log = logging.getLogger("traction.ingest")

SUCCESS = store.GOOD_STATUSES  # ok, unchanged, degraded: a run that delivered


@dataclass
class RunOutcome:
    source: str
    run_id: str
    status: str  # ok | unchanged | degraded | failed | unreachable | skipped
    error: str | None = None
    fetched: int = 0
    stored: int = 0
    quarantined: int = 0
    duplicates: int = 0
    ignored: int = 0
    vintage: str | None = None
    requests: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.status in SUCCESS

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "unreachable")


@dataclass
class Fetch:
    """What a source's network phase produced: pages, or the reason there are none."""

    pages: list[Fetched]
    requests: int = 0
    error: Exception | None = None


def _budget(source: Source, config: TractionConfig, con: duckdb.DuckDBPyConnection):
    section = getattr(config.sources, source.name)
    budget = budget_for(source.budget_key, section.requests_per_window, section.window)
    if not budget._sent:  # a fresh process: count what earlier runs spent in this window
        since = store.utcnow() - timedelta(seconds=section.window)
        spent = store.requests_since(
            con,
            since,
            [
                n
                for n, s in build_sources(config, False).items()
                if s.budget_key == source.budget_key
            ],
        )
        epoch = datetime(1970, 1, 1)
        budget.preload(
            (started - epoch).total_seconds() for started, count in spent for _ in range(count)
        )
    return budget


def describe(exc: BaseException) -> str:
    """An unexpected exception as a run's `error`: its type, and its message if any."""
    text = str(exc)
    kind = type(exc).__name__
    return printable(f"{kind}: {text}" if text else kind, REASON_MAX_LENGTH)


async def fetch_source(
    source: Source, config: TractionConfig, budget: Any, plan: Any = None, transport: Any = None
) -> Fetch:
    section = getattr(config.sources, source.name)
    client = SourceClient(source.name, section.timeout, config.retry, budget, transport=transport)
    try:
        async with client:
            await asyncio.wait_for(source.fetch(client, plan), timeout=config.retry.run_budget)
    except (FetchError, PayloadError, SourceSkipped) as exc:
        return Fetch(client.pages, client.requests, exc)
    except asyncio.TimeoutError:
        error = FetchError(f"run exceeded its {config.retry.run_budget:.0f}s budget")
        return Fetch(client.pages, client.requests, error)
    except Exception as exc:  # the source's boundary: anything else fails this run only
        log.warning("%s: fetch raised", source.name, exc_info=True)
        return Fetch(client.pages, client.requests, FetchError(describe(exc)))
    return Fetch(client.pages, client.requests)


def _summarise(result: SourceResult) -> dict[str, int]:
    reasons = Counter(q.reason[:160] for q in result.quarantined)
    return dict(reasons.most_common(20))


def land(
    con: duckdb.DuckDBPyConnection,
    config: TractionConfig,
    source: Source,
    fetch: Fetch,
    now: datetime,
    *,
    origin: str = "fetch",
    replay_of: str | None = None,
    force: bool = False,
) -> RunOutcome:
    """Check and store one source run atomically; record why when there is nothing to store.

    Whatever checking or storing raises, the run is recorded as `failed` with the reason
    (its transaction rolled back first, so none of its facts land)."""
    run = _Run(config, source, fetch, now, origin, replay_of)
    try:
        outcome, result, digest = _judge(con, run, force)
        _record(con, run, outcome, result, digest)
    except Exception as exc:
        log.warning("%s: landing raised", source.name, exc_info=True)
        outcome = RunOutcome(
            source.name, store.new_run_id(), "failed", describe(exc), requests=fetch.requests
        )
        try:
            _record(con, run, outcome, None, None)
        except Exception:  # the pages themselves cannot be kept: the run row alone, then
            _record(con, run, outcome, None, None, archive=False)
    return outcome


@dataclass(frozen=True)
class _Run:
    """One source run on its way into the store: what was fetched, when, and from where."""

    config: TractionConfig
    source: Source
    fetch: Fetch
    now: datetime
    origin: str
    replay_of: str | None


def _log_fields(outcome: RunOutcome) -> dict[str, Any]:
    return {
        "run_id": outcome.run_id,
        "source": outcome.source,
        "status": outcome.status,
        "records": outcome.fetched,
        "stored": outcome.stored,
        "quarantined": outcome.quarantined,
        "requests": outcome.requests,
    }


def _judge(
    con: duckdb.DuckDBPyConnection, run: _Run, force: bool
) -> tuple[RunOutcome, SourceResult | None, str | None]:
    """Parse the run's pages and decide its status; nothing is written yet."""
    source, fetch, config = run.source, run.fetch, run.config
    outcome = RunOutcome(source.name, store.new_run_id(), "ok", requests=fetch.requests)
    if fetch.error is not None:
        outcome.error = str(fetch.error)
        if isinstance(fetch.error, SourceSkipped):
            outcome.status = "skipped"
        elif isinstance(fetch.error, FetchError) and fetch.error.unreachable:
            outcome.status = "unreachable"
        else:
            outcome.status = "failed"
        return outcome, None, None
    payloads = [page.data for page in fetch.pages]
    digest = content_hash(payloads)
    try:
        result = source.parse(payloads, run.now)
    except PayloadError as exc:
        outcome.status, outcome.error = "failed", str(exc)
        return outcome, None, digest
    outcome.fetched = result.records_fetched
    outcome.vintage = result.vintage
    outcome.quarantined = len(result.quarantined)
    outcome.duplicates, outcome.ignored = result.duplicates, result.ignored
    outcome.reasons = _summarise(result)
    share = outcome.quarantined / max(1, outcome.fetched)
    if result.quarantined and not result.accepted:
        # Nothing usable came back (a payload of error objects): the source did
        # not work, whatever it answered. Its quarantined records still land.
        outcome.status = "failed"
        outcome.error = (
            f"no record passed its contract ({outcome.quarantined} of"
            f" {outcome.fetched} quarantined)"
        )
    elif share > config.ingest.quarantine_threshold:
        outcome.status = "degraded"
        outcome.error = (
            f"{share:.0%} of records quarantined (threshold"
            f" {config.ingest.quarantine_threshold:.0%})"
        )
    if (
        not force
        and outcome.status != "failed"
        and digest == store.last_payload_hash(con, source.name)
    ):
        outcome.status, outcome.quarantined, outcome.reasons = "unchanged", 0, {}
    return outcome, result, digest


def _record(
    con: duckdb.DuckDBPyConnection,
    run: _Run,
    outcome: RunOutcome,
    result: SourceResult | None,
    digest: str | None,
    archive: bool = True,
) -> None:
    """Write the run row, its archived pages and (if it is good) its facts in one
    transaction, and log the run."""
    name = run.source.name
    with store.transaction(con):
        store.record_run(
            con,
            outcome.run_id,
            name,
            run.now,
            outcome.status,
            error=outcome.error,
            vintage=outcome.vintage,
            fetched=outcome.fetched,
            quarantined=outcome.quarantined,
            duplicates=outcome.duplicates,
            ignored=outcome.ignored,
            payload_hash=digest if outcome.status in SUCCESS else None,
            requests=outcome.requests,
            origin=run.origin,
            replay_of=run.replay_of,
            reasons=outcome.reasons,
        )
        if archive and run.config.ingest.archive_retention_days and run.origin != "replay":
            store.archive_pages(con, outcome.run_id, name, run.fetch.pages)
        if result is not None and outcome.status in ("ok", "degraded"):
            complete = outcome.status == "ok"  # a partial run lists, never delists
            outcome.stored = store.land(con, outcome.run_id, result, complete=complete)
            store.set_stored(con, outcome.run_id, outcome.stored)
        elif result is not None and outcome.status == "failed":  # why nothing passed
            store.land(con, outcome.run_id, result.model_copy(update=_QUARANTINE_ONLY))
    level = logging.WARNING if outcome.failed or outcome.status == "degraded" else logging.INFO
    log.log(
        level,
        "%s: %s, %d records, %d new facts, %d quarantined%s",
        name,
        outcome.status,
        outcome.fetched,
        outcome.stored,
        outcome.quarantined,
        f" ({outcome.error})" if outcome.error else "",
        extra=_log_fields(outcome),
    )


_QUARANTINE_ONLY = {"observations": [], "prices": [], "catalog": []}


Progress = Callable[[str, int, int], None]  # (step, done, total): for an interactive bar


async def _fetch_all(
    con,
    config,
    sources: dict[str, Source],
    transport=None,
    step: Callable[[str], None] | None = None,
) -> list[Fetch]:

    async def one(name: str, source: Source) -> Fetch:
        try:  # planning reads the store; a failure there fails this source's run only
            plan = source.plan(con)
            budget = _budget(source, config, con)
        except Exception as exc:
            log.warning("%s: planning raised", name, exc_info=True)
            fetched = Fetch([], 0, PayloadError(f"cannot plan the run: {describe(exc)}"))
        else:
            fetched = await fetch_source(source, config, budget, plan, transport)
        if step is not None:
            step(f"{name} fetched")
        return fetched

    return await asyncio.gather(*(one(n, s) for n, s in sources.items()))


def waves(sources: dict[str, Source]) -> list[dict[str, Source]]:
    """The sources in the order they run: each wave is fetched together and landed before
    the next starts, and a source comes after every source it `runs_after` that runs too
    (one that does not run holds nothing back)."""
    left = dict(sources)
    ordered: list[dict[str, Source]] = []
    while left:
        wave = {
            name: source
            for name, source in left.items()
            if not any(after in left for after in source.runs_after)
        }
        if not wave:
            raise ValueError(f"sources wait on each other: {', '.join(sorted(left))}")
        ordered.append(wave)
        left = {name: source for name, source in left.items() if name not in wave}
    return ordered


def ingest(
    con: duckdb.DuckDBPyConnection,
    config: TractionConfig,
    only: list[str] | None = None,
    now: datetime | None = None,
    transport: Any = None,
    progress: Progress | None = None,
) -> list[RunOutcome]:
    """Fetch every enabled source (or `only` these), then land each in its own transaction.

    A source that `runs_after` others in the run (OpenRouter's per-model endpoints are
    planned from the catalogue) is fetched after they have landed. `progress` hears of
    each source fetched and each landed.
    """
    sources = build_sources(config)
    if only:
        unknown = set(only) - set(build_sources(config, only_enabled=False))
        if unknown:
            raise ValueError(f"unknown source(s): {', '.join(sorted(unknown))}")
        sources = {k: v for k, v in build_sources(config, False).items() if k in only}
    now = now or datetime.now(timezone.utc)
    outcomes: list[RunOutcome] = []
    done, total = 0, 2 * len(sources)

    def step(what: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(what, done, total)

    for group in waves(sources):
        fetched = asyncio.run(_fetch_all(con, config, group, transport, step))
        for source, fetch in zip(group.values(), fetched, strict=True):
            outcomes.append(land(con, config, source, fetch, now))
            step(f"{source.name} stored")
    store.prune_archive(con, config.ingest.archive_retention_days)
    return outcomes


def ingest_files(
    con: duckdb.DuckDBPyConnection,
    config: TractionConfig,
    source_name: str,
    paths: list[Path],
    observed_at: datetime | None = None,
) -> RunOutcome:
    """Load saved payloads (a dump, a backfill) through the same contract and store path."""
    source = build_sources(config, only_enabled=False)[source_name]
    pages, error = [], None
    for path in paths:
        try:
            body = Path(path).read_bytes()
            data = _decode(body, source.exact_numbers)
        except OSError as exc:
            error = PayloadError(f"cannot read {path}: {exc.strerror or exc}")
            break
        except PayloadError as exc:
            error = PayloadError(f"{path}: {exc}")
            break
        except ValueError as exc:
            error = PayloadError(f"{path} is not JSON: {exc}")
            break
        pages.append(
            Fetched(
                f"file://{Path(path).resolve()}", 200, {}, body, datetime.now(timezone.utc), data
            )
        )
    when = observed_at or datetime.now(timezone.utc)
    return land(con, config, source, Fetch(pages, 0, error), when, origin="file", force=True)


def replay(con: duckdb.DuckDBPyConnection, config: TractionConfig, run_id: str) -> RunOutcome:
    """Re-derive a run's facts from its archived pages, as of the original run's time."""
    found = store.ingest_run(con, run_id)
    if found is None:
        raise ValueError(f"no ingest run {run_id!r}")
    source_name, started = found
    source = build_sources(config, only_enabled=False)[source_name]
    pages, error = [], None
    for url, status, headers, body in store.archived_pages(con, run_id):
        try:
            data = _decode(body, source.exact_numbers)
        except (PayloadError, ValueError) as exc:
            error = PayloadError(f"archived body from {url} is not usable JSON: {exc}")
            data = None
        pages.append(Fetched(url, status, json.loads(headers), body, started, data))
    if not pages:
        raise ValueError(f"run {run_id} has no archived pages (failed, or pruned by retention)")
    when = started.replace(tzinfo=timezone.utc)
    return land(
        con,
        config,
        source,
        Fetch(pages, 0, error),
        when,
        origin="replay",
        replay_of=run_id,
        force=True,
    )
