"""Build the snapshot from stored facts, and publish it without ever breaking the last good one.

Publishing writes a temp file beside the target, fsyncs it, renames it over the
target and fsyncs the directory, so a reader sees the old file or the new one,
never half of one. The new document is validated against `schemas.snapshot` first.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import polars as pl
from pydantic import ValidationError

from schemas.config import TractionConfig
from schemas.snapshot import CONTRACT_VERSION, Snapshot, SnapshotBody
from traction import store

from .identity import build_identity
from .models import score_models
from .signals import compute_signals


class PublishRefused(Exception):
    """The new snapshot was not published; the previous one is untouched."""


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def load_history(con: duckdb.DuckDBPyConnection, as_of: datetime) -> pl.DataFrame:
    rel = con.sql(
        "SELECT source, model_id, metric, value, observed_at FROM observations"
        " WHERE observed_at <= ?",
        params=[store.naive_utc(as_of)],
    )
    return pl.DataFrame(rel)


def source_freshness(
    con: duckdb.DuckDBPyConnection, config: TractionConfig, now: datetime
) -> dict[str, dict]:
    fresh = {}
    for name in config.sources.enabled():
        ok = store.last_success(con, name)
        last_ok = _aware(ok) if ok else None
        stale = last_ok is None or (now - last_ok).total_seconds() > config.scoring.source_max_age
        fresh[name] = {
            "last_success_at": last_ok,
            "last_status": store.last_status(con, name),
            "stale": stale,
        }
    return fresh


def load_identity(con: duckdb.DuckDBPyConnection, config: TractionConfig, observed=()):
    catalog = store.rows(
        con,
        "SELECT source, model_id, canonical_slug, hugging_face_id, alias_target FROM catalog"
        " ORDER BY 1, 2",
    )
    if not observed:
        observed = store.rows(
            con, "SELECT DISTINCT source, model_id FROM observations ORDER BY ALL"
        )
    return build_identity(catalog, observed, config.identity.aliases)


def build_snapshot(
    con: duckdb.DuckDBPyConnection, config: TractionConfig, now: datetime | None = None
) -> Snapshot:
    """Score everything stored up to `now` and assemble (but do not publish) a snapshot."""
    now = _aware(now or datetime.now(timezone.utc))
    history = load_history(con, now)
    signals = compute_signals(history, config.scoring.metric_weights)
    observed = sorted(
        set(zip(signals["source"].to_list(), signals["model_id"].to_list(), strict=True))
    )
    identity = load_identity(con, config, observed)
    prices = store.rows(
        con,
        "SELECT p.source, p.model_id, p.provider, p.prompt_usd_per_mtok, p.completion_usd_per_mtok"
        " FROM prices p JOIN (SELECT source, model_id, max(observed_at) AS at FROM prices"
        " WHERE observed_at <= ? GROUP BY 1, 2) latest"
        " ON p.source = latest.source AND p.model_id = latest.model_id"
        " AND p.observed_at = latest.at"
        " ORDER BY 1, 2, 3",
        [store.naive_utc(now)],
    )
    scored = score_models(
        list(signals.iter_rows(named=True)), prices, identity, config.scoring, now
    )
    version = store.scalar(con, "SELECT coalesce(max(version), 0) FROM snapshots")
    body = {
        "contract_version": CONTRACT_VERSION,
        "version": version + 1,
        "generated_at": now,
        "stale_after": now + timedelta(seconds=config.scoring.stale_after),
        "policy": config.scoring.policy,
        "sources": source_freshness(con, config, now),
        "models": scored,
    }
    return SnapshotBody.model_validate(body).seal()


def render(snapshot: Snapshot) -> bytes:
    return (
        json.dumps(snapshot.model_dump(mode="json"), indent=1, ensure_ascii=False) + "\n"
    ).encode()


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # LiteLLM may run as another user; mkstemp's default is 0600
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def publish(
    con: duckdb.DuckDBPyConnection, config: TractionConfig, snapshot: Snapshot, run_id: str
) -> Path:
    """Validate, write atomically and record a snapshot; PublishRefused leaves the old one."""
    data = render(snapshot)
    try:
        checked = Snapshot.model_validate_json(data)
    except ValidationError as exc:
        raise PublishRefused(f"snapshot failed validation: {exc.errors()[0]['msg']}") from None
    if not checked.models:
        raise PublishRefused("no models to publish: nothing has been ingested yet")
    target = Path(config.storage.snapshot)
    with store.transaction(con):  # the file is written last: a failed insert publishes nothing
        con.execute(
            "INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                checked.version,
                run_id,
                store.naive_utc(checked.generated_at),
                store.utcnow(),
                checked.content_hash,
                str(target),
                data.decode(),
            ],
        )
        con.executemany(
            "INSERT INTO scores VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    run_id,
                    store.naive_utc(checked.generated_at),
                    m.key,
                    m.rank,
                    m.score,
                    m.confidence,
                    m.trend,
                    json.dumps([c.model_dump(mode="json") for c in m.components]),
                ]
                for m in checked.models
            ],
        )
        write_atomically(target, data)
    return target
