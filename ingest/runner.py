"""Run sources: fetch concurrently, then land each source's facts in its own transaction.

A source that fails records a failed run and nothing else; the others go on. A run
whose payload hashes the same as the source's last good one stores no new facts.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import duckdb

from schemas.config import TractionConfig
from traction import store

from .http import FetchError, PayloadError, content_hash, make_client
from .sources import Source, build_sources

log = logging.getLogger("traction.ingest")


@dataclass
class RunOutcome:
    source: str
    run_id: str
    status: str  # ok | unchanged | failed | unreachable
    error: str | None = None
    fetched: int = 0
    stored: int = 0
    quarantined: int = 0
    vintage: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status in ("ok", "unchanged")


async def _fetch(source: Source, config: TractionConfig) -> list[Any] | Exception:
    cfg = getattr(config.sources, source.name)
    try:
        async with make_client(source.name, cfg.timeout) as client:
            return await asyncio.wait_for(
                source.fetch(client, config.retry), timeout=config.retry.run_budget
            )
    except (FetchError, PayloadError) as exc:
        return exc
    except asyncio.TimeoutError:
        return FetchError(f"run exceeded its {config.retry.run_budget:.0f}s budget")


def land_payloads(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    payloads: list[Any] | Exception,
    now: datetime,
) -> RunOutcome:
    """Check and store one source's payloads (or record why there are none) atomically."""
    run_id = store.start_run(con, "ingest", source.name, now)
    if isinstance(payloads, Exception):
        unreachable = isinstance(payloads, FetchError) and payloads.unreachable
        status = "unreachable" if unreachable else "failed"
        store.finish_run(con, run_id, status, error=str(payloads))
        return RunOutcome(source.name, run_id, status, error=str(payloads))
    digest = content_hash(payloads)
    try:
        result = source.parse(payloads, now)
    except PayloadError as exc:
        store.finish_run(con, run_id, "failed", error=str(exc), payload_hash=digest)
        return RunOutcome(source.name, run_id, "failed", error=str(exc))
    outcome = RunOutcome(
        source.name,
        run_id,
        "ok",
        fetched=result.records_fetched,
        quarantined=len(result.quarantined),
        vintage=result.vintage,
    )
    if digest == store.last_payload_hash(con, source.name):
        outcome.status = "unchanged"
        outcome.quarantined = 0
    else:
        try:
            with store.transaction(con):
                outcome.stored = store.land(con, run_id, result)
        except duckdb.Error as exc:
            store.finish_run(con, run_id, "failed", error=f"store: {exc}")
            return RunOutcome(source.name, run_id, "failed", error=f"store: {exc}")
    store.finish_run(
        con,
        run_id,
        outcome.status,
        vintage=outcome.vintage,
        fetched=outcome.fetched,
        stored=outcome.stored,
        quarantined=outcome.quarantined,
        payload_hash=digest,
    )
    log.info(
        "ingested %s: %s, %d fetched, %d new facts, %d quarantined",
        source.name,
        outcome.status,
        outcome.fetched,
        outcome.stored,
        outcome.quarantined,
    )
    return outcome


async def ingest_all(
    con: duckdb.DuckDBPyConnection,
    config: TractionConfig,
    only: list[str] | None = None,
    now: datetime | None = None,
) -> list[RunOutcome]:
    sources = build_sources(config)
    if only:
        sources = {k: v for k, v in sources.items() if k in only}
    now = now or datetime.now(timezone.utc)
    fetched = await asyncio.gather(*(_fetch(s, config) for s in sources.values()))
    return [land_payloads(con, s, p, now) for s, p in zip(sources.values(), fetched, strict=True)]


def ingest(
    con: duckdb.DuckDBPyConnection,
    config: TractionConfig,
    only: list[str] | None = None,
    now: datetime | None = None,
) -> list[RunOutcome]:
    return asyncio.run(ingest_all(con, config, only, now))
