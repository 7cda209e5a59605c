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


def build_snapshot(
    con: duckdb.DuckDBPyConnection, config: TractionConfig, now: datetime | None = None
) -> Snapshot:
    """Score everything stored up to `now` and assemble (but do not publish) a snapshot."""
    now = _aware(now or datetime.now(timezone.utc))
    history = load_history(con, now)
    signals = compute_signals(history, config.scoring.metric_weights)

    catalog = con.execute(
        "SELECT source, model_id, canonical_slug, hugging_face_id FROM catalog ORDER BY 1, 2"
    ).fetchall()
    observed = sorted(
        set(zip(signals["source"].to_list(), signals["model_id"].to_list(), strict=True))
    )
    identity = build_identity(catalog, observed)

    models: dict[str, dict] = {}

    def entry(key: str) -> dict:
        return models.setdefault(key, {"key": key, "components": [], "prices": []})

    for row in signals.iter_rows(named=True):
        key = identity.resolve(row["source"], row["model_id"]) or row["model_id"].lower()
        entry(key)["components"].append(row)

    prices = con.execute(
        "SELECT p.source, p.model_id, p.provider, p.prompt_usd_per_mtok, p.completion_usd_per_mtok"
        " FROM prices p JOIN (SELECT source, model_id, max(observed_at) AS at FROM prices"
        " WHERE observed_at <= ? GROUP BY 1, 2) latest"
        " ON p.source = latest.source AND p.model_id = latest.model_id"
        " AND p.observed_at = latest.at"
        " ORDER BY 1, 2, 3",
        [store.naive_utc(now)],
    ).fetchall()
    for source, model_id, provider, prompt, completion in prices:
        key = identity.resolve(source, model_id)
        if key is None:  # a price for a model no primary source lists: nothing to rank
            continue
        entry(key)["prices"].append(
            {
                "source": source,
                "model_id": model_id,
                "provider": provider,
                "prompt_usd_per_mtok": None if prompt is None else _decimal_str(prompt),
                "completion_usd_per_mtok": None if completion is None else _decimal_str(completion),
            }
        )

    scored = []
    for key, model in models.items():
        comps = model["components"]
        total = sum(c["weight"] for c in comps)
        score = sum(c["weight"] * c["score"] for c in comps) / total if total else 0.0
        cw = sum(c["weight"] * c["confidence_weight"] for c in comps) / total if total else 0.0
        confidence = "normal" if cw >= 0.75 else "low" if cw >= 0.25 else "insufficient"
        lead = max(comps, key=lambda c: (c["weight"], c["confidence_weight"]), default=None)
        scored.append(
            {
                "key": key,
                "aliases": sorted(identity.aliases.get(key, set())),
                "score": round(score, 9),
                "confidence": confidence,
                "trend": lead["trend"] if lead else "insufficient_history",
                "components": [_component(c) for c in comps],
                "prices": model["prices"],
            }
        )
    scored.sort(key=lambda m: (-m["score"], m["key"]))
    for rank, model in enumerate(scored, start=1):
        model["rank"] = rank

    version = store.scalar(con, "SELECT coalesce(max(version), 0) FROM snapshots")
    body = {
        "contract_version": CONTRACT_VERSION,
        "version": version + 1,
        "generated_at": now,
        "stale_after": now + timedelta(seconds=config.scoring.stale_after),
        "policy": "momentum",
        "sources": source_freshness(con, config, now),
        "models": scored,
    }
    return SnapshotBody.model_validate(body).seal()


def _component(row: dict) -> dict:
    out = {
        k: row[k]
        for k in (
            "source",
            "metric",
            "value",
            "velocity",
            "delta_pct",
            "trend",
            "trend_points",
            "momentum",
            "confidence",
            "confidence_weight",
            "history_days",
            "weight",
            "score",
        )
    }
    for k in ("value", "velocity", "delta_pct", "momentum", "score"):
        if out[k] is not None:
            out[k] = round(out[k], 9)
    return out


def _decimal_str(value) -> str:
    text = format(value.normalize(), "f")
    return text


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
