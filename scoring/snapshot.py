"""Build the snapshot from stored facts, and publish it without ever breaking the last good one.

Publishing writes a temp file beside the target, fsyncs it, renames it over the
target and fsyncs the directory, so a reader sees the old file or the new one,
never half of one. The new document is validated against `schemas.snapshot` first.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import polars as pl
from pydantic import ValidationError

import store
from schemas.config import TractionConfig
from schemas.errors import TractionError
from schemas.identity import match_deployment, read_model_list
from schemas.snapshot import CONTRACT_VERSION, Snapshot, SnapshotBody, compute_hash

from .growth import MIN_SERIES_FOR_REFRESH_CHECK, growth_signals_daily, lookbacks
from .identity import build_identity
from .models import score_models
from .signals import WZRD, compute_signals, weighted_pairs

log = logging.getLogger("traction.publish")


class PublishRefused(TractionError):
    """The new snapshot was not published; the previous one is untouched."""


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def load_history(con: duckdb.DuckDBPyConnection, as_of: datetime) -> pl.DataFrame:
    """Every stored observation (change point) made by `as_of` (benchmarks read it; scoring
    reads daily values, `load_daily`)."""
    return pl.DataFrame(store.observations_until(con, as_of))


DAILY_SCHEMA = {
    "source": pl.String,
    "model_id": pl.String,
    "metric": pl.String,
    "day": pl.Date,
    "value": pl.Float64,
    "observed_at": pl.Datetime("us"),
    "day_number": pl.Int32,
    "prev_value": pl.Float64,
}


def load_daily(
    con: duckdb.DuckDBPyConnection,
    as_of: datetime,
    pairs: list[tuple[str, str]],
    since: dict[tuple[str, str], date] | None = None,
    sources: list[str] = (),
    models: list[str] | None = None,
    before: date | None = None,
) -> pl.DataFrame:
    """`store.daily_until` as a frame (its columns typed even when it is empty)."""
    found = pl.DataFrame(store.daily_until(con, as_of, pairs, since, list(sources), models, before))
    return found.cast(DAILY_SCHEMA) if found.width else pl.DataFrame(schema=DAILY_SCHEMA)


def _wzrd_sources(config: TractionConfig) -> list[str]:
    """The WZRD feed's source, when it is weighted (its signals read all its days)."""
    return [WZRD] if float(config.scoring.metric_weights.get(f"{WZRD}.momentum", 0.0)) > 0 else []


def _traction_signals(
    con: duckdb.DuckDBPyConnection, config: TractionConfig, now: datetime
) -> pl.DataFrame:
    """The traction formula's signals at `now`, reading each pair's days from its longest
    growth window back from its last day, and every earlier day only of the few series
    that need one (`growth_signals_daily` says which: a model back in a list after a gap,
    say), with the days their source did not refresh judged on every series in the
    database. Reading the whole pair again for a few such series made every publish read
    the whole history."""
    last = store.last_days(con, now)
    created = load_created(con)
    lookback = lookbacks(config.scoring)
    full_from = {
        pair: last[pair] - timedelta(days=days) for pair, days in lookback.items() if pair in last
    }
    daily = load_daily(con, now, list(lookback), full_from, _wzrd_sources(config))
    signals, short = growth_signals_daily(daily, config.scoring, now, created, full_from)
    if not short:
        return signals
    frames, stale = [daily], []
    for pair, ids in short.items():
        earlier = load_daily(con, now, [pair], {}, (), sorted(ids), full_from[pair])
        frames.append(earlier)
        if not earlier.is_empty():
            stale += store.unrefreshed_days(
                con,
                pair,
                earlier["day"].min(),
                full_from[pair],
                config.scoring.unrefreshed_share,
                MIN_SERIES_FOR_REFRESH_CHECK,
            )
    since = {pair: date.min if pair in short else day for pair, day in full_from.items()}
    older = (full_from, stale)
    return growth_signals_daily(pl.concat(frames), config.scoring, now, created, since, older)[0]


def load_created(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """(source, model_id, created_at): when sources say each model was created, for the
    age term of the traction formula. A creation date does not change, so its latest
    report stands for every as-of time."""
    return pl.DataFrame(
        store.creation_dates(con),
        schema={"source": pl.String, "model_id": pl.String, "created_at": pl.Datetime("us")},
    )


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


def load_identity(
    con: duckdb.DuckDBPyConnection,
    config: TractionConfig,
    observed=(),
    now: datetime | None = None,
):
    """Who is who as of `now` (default: the wall clock), among the ids present then
    (`store.present_ids`): a model that left its source's list, or that no source has
    reported within `identity.presence_window`, claims no name, so a stale variant can
    never take an id from the live model."""
    now = _aware(now or datetime.now(timezone.utc))
    present = store.present_ids(con, now, config.identity.presence_window)
    catalog = [row for row in store.catalog_links(con) if (row[0], row[1]) in present]
    if not observed:
        observed = store.observed_ids(con)
    observed = [pair for pair in observed if tuple(pair) in present]
    return build_identity(catalog, observed, config.identity.aliases)


def score_at(con: duckdb.DuckDBPyConnection, config: TractionConfig, now: datetime) -> list[dict]:
    """Every model as a publish at `now` would rank it, from the facts observed by then.

    The one scoring path: publishing, `traction score --as-of` and the backtest all call
    it, so what the backtest measures is what routers would have been sent."""
    now = _aware(now)
    if config.scoring.formula == "wzrd":
        # Its spike guard weighs each series' whole history: every day of the weighted pairs.
        weights = config.scoring.metric_weights
        pairs = [(source, metric) for source, metric, _ in weighted_pairs(weights)]
        daily = load_daily(con, now, pairs, None, _wzrd_sources(config))
        history = daily.select("source", "model_id", "metric", "value", "observed_at")
        signals = compute_signals(history, weights)
    else:
        signals = _traction_signals(con, config, now)
    observed = sorted(
        set(zip(signals["source"].to_list(), signals["model_id"].to_list(), strict=True))
    )
    identity = load_identity(con, config, observed, now)
    # Only offers present at `now`: a delisted id's last price is nobody's offer.
    prices = store.present_prices(con, now, config.identity.presence_window)
    return score_models(list(signals.iter_rows(named=True)), prices, identity, config.scoring, now)


def required_keys(scored: list[dict], config: TractionConfig) -> set[str]:
    """The keys of the scored models a snapshot must carry whatever their rank: the model
    each deployment of `snapshot.model_list` serves (matched by the adapter's own rule,
    `schemas.identity.match_deployment`, with `adapter.alias_map`), the targets of
    `identity.aliases`, and `snapshot.models`. A name no scored model answers to adds
    nothing. PublishRefused when the model list has become unreadable since the config
    was loaded (publishing without it could drop a deployment's model)."""
    by_alias: dict[str, str] = {}
    for model in scored:  # rank order: a name two models claim goes to the higher ranked
        for name in (model["key"], *model["aliases"]):
            by_alias.setdefault(name.lower(), model["key"])
    names = [*config.identity.aliases, *config.identity.aliases.values(), *config.snapshot.models]
    keys = {by_alias[n.strip().lower()] for n in names if n.strip().lower() in by_alias}
    path = config.snapshot.model_list
    if path is not None:
        try:
            deployments = read_model_list(path)
        except ValueError as exc:
            raise PublishRefused(f"snapshot.model_list {path}: {exc}") from None
        for deployment in deployments:
            key = match_deployment(deployment, by_alias, config.adapter.alias_map)
            if key is not None:
                keys.add(key)
    return keys


def in_scope(scored: list[dict], config: TractionConfig) -> tuple[list[dict], set[str]]:
    """(the models to publish, the keys scored but left out): the top `snapshot.top_n` and
    every required model (`required_keys`), in rank order, renumbered 1..n (a snapshot's
    ranks run 1..n; the order, which is what routers use, is the scoring's)."""
    top_n = config.snapshot.top_n
    if top_n == 0 or len(scored) <= top_n:
        return scored, set()
    keep = {model["key"] for model in scored[:top_n]} | required_keys(scored, config)
    published = [model for model in scored if model["key"] in keep]
    for rank, model in enumerate(published, start=1):
        model["rank"] = rank
    return published, {model["key"] for model in scored} - keep


def build_snapshot(
    con: duckdb.DuckDBPyConnection,
    config: TractionConfig,
    now: datetime | None = None,
    min_version: int = 1,
    left_out: set[str] | None = None,
) -> Snapshot:
    """Score everything stored up to `now` and assemble (but do not publish) a snapshot of
    the models in scope (`in_scope`). `left_out`, if given, receives the keys scored but
    out of scope, for the publish guard (`guard`).

    Its version follows this database's last one, or `min_version` if that is higher (in a
    fleet, a new leader numbers after the fleet's snapshot, not its own old ones)."""
    now = _aware(now or datetime.now(timezone.utc))
    scored, outside = in_scope(score_at(con, config, now), config)
    if left_out is not None:
        left_out.update(outside)
    version = store.last_snapshot_version(con)
    body = {
        "contract_version": CONTRACT_VERSION,
        "version": max(version + 1, min_version),
        "generated_at": now,
        "stale_after": now + timedelta(seconds=config.scoring.stale_after),
        "policy": config.scoring.policy,
        "sources": source_freshness(con, config, now),
        "models": scored,
    }
    checked = SnapshotBody.model_validate(body)
    # Sealed without validating it all again: publish() validates the rendered bytes in
    # full, hash included (a second pass here cost seconds for a large catalogue).
    digest = compute_hash(checked.model_dump(mode="json"))
    return Snapshot.model_construct(**dict(checked), content_hash=digest)


def render(snapshot: Snapshot) -> bytes:
    """The file's bytes: indented JSON, UTF-8 (pydantic's serializer: the same document as
    `json.dumps(indent=1)`, at a fifth of the cost for a large catalogue)."""
    return snapshot.model_dump_json(indent=1).encode() + b"\n"


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


def guard(
    con: duckdb.DuckDBPyConnection,
    config: TractionConfig,
    snapshot: Snapshot,
    previous_keys: set[str] | None = None,
    left_out: set[str] | None = None,
) -> str | None:
    """Why this snapshot must not replace the last one, or None. (Contract checks beyond
    the schema: a snapshot can be valid JSON and still be the wrong thing to route on.)

    `previous_keys` are the model keys of the snapshot being replaced when that is not
    this database's last one (in a fleet: the snapshot another worker published).
    `left_out`: keys still scored but outside the snapshot scope; a model that merely
    dropped out of the top N has not vanished, so the vanished share counts only models
    that are gone from the scoring itself."""
    if not snapshot.models:
        return "no models to publish: nothing has been ingested yet"
    if snapshot.sources and all(s.stale for s in snapshot.sources.values()):
        return (
            "every source is stale (no good run within scoring.source_max_age):"
            " the new scores would rest on old data only"
        )
    before = previous_keys
    if before is None:
        before = store.latest_model_keys(con)
    if before:
        vanished = before - {m.key for m in snapshot.models} - (left_out or set())
        share = len(vanished) / len(before)
        if share > config.scoring.max_vanished_share:
            sample = ", ".join(sorted(vanished)[:5])
            return (
                f"{len(vanished)} of {len(before)} previously published models ({share:.0%})"
                f" would vanish, above scoring.max_vanished_share"
                f" ({config.scoring.max_vanished_share:.0%}): {sample}..."
            )
    return None


def publish(
    con: duckdb.DuckDBPyConnection,
    config: TractionConfig,
    snapshot: Snapshot,
    run_id: str,
    force_reason: str | None = None,
    distribute: Callable[[Snapshot, bytes], None] | None = None,
    previous_keys: set[str] | None = None,
    left_out: set[str] | None = None,
) -> Path:
    """Validate, guard, write atomically and record a snapshot. PublishRefused leaves the last
    good one byte for byte. `force_reason` overrides the guards, never the validation (an
    invalid document would only make every adapter fall back).

    `distribute(snapshot, data)` (fleet mode: the conditional Redis publish) runs inside the
    transaction, after the rows and before the file: if it refuses (this worker no longer
    leads), nothing is recorded or written here either. `previous_keys`, `left_out`: see
    `guard`."""
    data = render(snapshot)
    try:
        checked = Snapshot.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PublishRefused(f"snapshot failed validation at {where}: {first['msg']}") from None
    refusal = guard(con, config, checked, previous_keys, left_out)
    if refusal and not checked.models:
        raise PublishRefused(refusal)
    if refusal and force_reason is None:
        raise PublishRefused(refusal)
    if refusal:
        log.warning("publishing despite the guard (%s), forced: %s", refusal, force_reason)
    target = Path(config.storage.snapshot)
    with store.transaction(con):  # the file is written last: a failed insert publishes nothing
        store.record_snapshot(
            con,
            checked.version,
            run_id,
            checked.generated_at,
            store.utcnow(),
            checked.content_hash,
            str(target),
            data.decode(),
        )
        models = checked.models
        store.record_scores(  # only the models whose score changed since their last row
            con,
            run_id,
            checked.version,
            checked.generated_at,
            keys=[m.key for m in models],
            ranks=[m.rank for m in models],
            scores=[float(m.score) for m in models],
            confidences=[m.confidence for m in models],
            trends=[m.trend for m in models],
            components=[m.model_dump_json(exclude={"aliases"}) for m in models],
        )
        if distribute is not None:
            distribute(checked, data)
        write_atomically(target, data)
    return target
