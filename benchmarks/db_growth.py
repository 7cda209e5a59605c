"""How fast traction's database grows, and what a cycle costs, over a simulated year at
the defaults; checked against issue 13's goals.

Why: the worker keeps every fact, every score and every snapshot it publishes, plus a raw
archive of every fetched body, in one DuckDB file. Operators need to know how big that
file gets, what `ingest.archive_retention_days` and `traction vacuum` buy back, and whether
anything grows without bound. Guessing from row sizes misses DuckDB's compression, the
archive's dedupe and the "unchanged payload" shortcut, so this runs the real thing.

What it runs: the daemon's schedule at the default source settings (`schemas/config.py`:
every enabled source, its `interval`, its top-N and page sizes, the snapshot scope),
stepping from one due job to the next and running each source's cycle when its interval
is due, exactly as `traction.daemon.cycle_job` does: `traction.pipeline.run_cycle(config,
now, only=[source])`, i.e. the real fetch (httpx, pagination, budgets), contract checks,
the content-hash dedupe, the raw archive, `store.land`, scoring, the publish guards and
the snapshot file, against a real DuckDB file in a temp directory; then, as the daemon
books it, the incremental refresh of the analytics copy (`traction/analytics.py`,
`storage.analytics_delay` after the cycles that ran together; its time counts as the
worker's). The archive is pruned by `ingest` after every cycle, and the daemon's
retention job (`traction.pipeline.vacuum`, what `traction vacuum` runs: prune the
archive, downsample observations, thin snapshots and their scores, CHECKPOINT, and every
`storage.compact_every_days` rewrite the file) runs an hour in and then daily, as in
production.

Upstream is the loopback mirror (`traction/demo/upstream.py`) serving the seeded world of
`benchmarks/growth_world.py`, which changes values at the rates real captures show (its
docstring lists them and where they come from): Hugging Face's 30-day download counts
once a day per model, likes a few a day, GitHub stars through the day, OpenRouter's
catalogue about once a day. A few malformed records land in quarantine.

What is simulated rather than real, and why:

* the clock. Production reads the wall clock for the archive's `fetched_at`, the
  retention cutoffs and the run rows; `SimClock` points those few names
  (`utcnow` in the `store` modules, `datetime` in `ingest.http` and two sources) at the
  simulated time, so a month of retention happens in a minute;
* request budgets are raised (as `traction demo` does): an hour of simulated time passes
  in milliseconds, and pacing changes no byte that is stored;
* `OPENROUTER_API_KEY` is set to a dummy value (only ever sent to 127.0.0.1), so the
  rankings source runs instead of being skipped: the larger, realistic case;
  `--no-rankings` leaves it unset.

It prints, per report period (a week for runs of 14 days or more, and at days 30 and
365): the file size after CHECKPOINT and the blocks in use, rows per table, archive bytes,
the analytics copy's size and the worker's time; then runs per source by status, the
final file by table, what the period costs once retention has aged it (a probe on a copy:
clock moved past every horizon, `traction vacuum`'s three steps one by one), the
extrapolation per month and per year with and without retention, checks of the dedupe
and retention promises, what the next publish's guard and CHECKPOINT cost at the final
size, and the goals:

* the database file at day 30 <= 150 MB and at day 365 <= 600 MB (measured when the run
  reaches the day, else extrapolated with the default retention);
* a cycle on the last whole day takes <= 1.25x one on day 7 (mean worker seconds per
  cycle; needs 8 days or more);
* the analytics refresh writes, per cycle, under 5% of the database's size (bytes passed
  to write(2) during the refresh, /proc/self/io `wchar`, over the last whole day);
* the snapshot file at the defaults <= 300 KB.

It exits 1 when a goal it could measure is missed (judged at `--scale 1` only).
Deterministic for a seed (only run ids, which carry a random suffix, and timings differ
between runs).

    python benchmarks/db_growth.py                # 1 simulated day, under a minute
    python benchmarks/db_growth.py --quick        # half a day, a quarter of the models
    python benchmarks/db_growth.py --days 30      # the month: 15-20 minutes on 2 cores
    python benchmarks/db_growth.py --days 365 --progress   # issue 13's run: 3.5-4 hours today
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

import ingest.http as ingest_http  # noqa: E402
import ingest.sources.litellm_prices as litellm_prices_source  # noqa: E402
import ingest.sources.openrouter_rankings as rankings_source  # noqa: E402
import store  # noqa: E402
import store.archive  # noqa: E402
import store.connection  # noqa: E402
import store.facts  # noqa: E402
import store.runs  # noqa: E402
import store.snapshots  # noqa: E402
import traction.analytics as analytics_module  # noqa: E402
from benchmarks.growth_world import START, EndpointsFeed, World, litellm_upgrade  # noqa: E402
from schemas.config import TractionConfig  # noqa: E402
from traction.daemon import analytics_job  # noqa: E402
from traction.demo.upstream import Upstream  # noqa: E402
from traction.pipeline import run_cycle, vacuum  # noqa: E402

# Every module that reads the wall clock through `utcnow` (the package re-exports it).
STORE_CLOCK_MODULES = (
    store,
    store.connection,
    store.runs,
    store.archive,
    store.facts,
    store.snapshots,
)

DAY = 86400
GOAL_DAYS = (30, 365)  # issue 13's size goals are at these days
# Every table of the store, read from the database itself (a new migration's table is
# measured without being named here); `schema_version` is bookkeeping.
TABLES_SQL = (
    "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
    " AND schema_name = 'main' AND table_name <> 'schema_version' ORDER BY table_name"
)


# --------------------------------------------------------------------------- the clock


class SimClock:
    """The simulated UTC time, and the few wall-clock reads it has to replace."""

    def __init__(self, start: datetime):
        self.now = start

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Point the archive's `fetched_at`, the retention cutoffs and the run rows at the
        simulated clock; restore the real ones afterwards."""
        clock = self

        class SimDatetime(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
                return clock.now.astimezone(tz) if tz else clock.now.replace(tzinfo=None)

        sim_utcnow = lambda: clock.now.replace(tzinfo=None)  # noqa: E731
        patched: list[tuple[Any, str, Any]] = [
            *((module, "utcnow", sim_utcnow) for module in STORE_CLOCK_MODULES),
            (ingest_http, "datetime", SimDatetime),
            (litellm_prices_source, "datetime", SimDatetime),
            (rankings_source, "datetime", SimDatetime),
        ]
        saved = [(module, name, getattr(module, name)) for module, name, _ in patched]
        for module, name, value in patched:
            setattr(module, name, value)
        try:
            yield
        finally:
            for module, name, value in saved:
                setattr(module, name, value)


# --------------------------------------------------------------------------- measuring


@dataclass
class Period:
    """What the worker did between two reports."""

    cycles: int = 0
    publishes: int = 0
    busy: float = 0.0  # seconds inside run_cycle
    publish_busy: float = 0.0  # seconds inside the cycles that published


@dataclass
class Measure:
    day: float
    file_bytes: int
    used_bytes: int  # blocks in use: the file keeps freed blocks for reuse
    wal_bytes: int
    rows: dict[str, int]
    archive_gzip: int
    archive_raw: int
    analytics_bytes: int | None
    analytics_seconds: float | None
    period: Period
    period_days: float


def file_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def used_bytes(con: duckdb.DuckDBPyConnection) -> int:
    block_size, used = store.rows(
        con,
        "SELECT block_size, used_blocks FROM pragma_database_size()"
        " WHERE database_name = current_database()",
    )[0]
    return int(block_size) * int(used)


def tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [name for (name,) in store.rows(con, TABLES_SQL)]


def row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: store.scalar(con, f"SELECT count(*) FROM {t}") or 0 for t in tables(con)}


def written_bytes() -> int:
    """Bytes this process has passed to write(2) and friends (`wchar` of /proc/self/io):
    every byte DuckDB writes, to the file or its WAL, whether or not it reaches the disk."""
    with open("/proc/self/io", encoding="ascii") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("wchar:"))


@dataclass
class RefreshMeter:
    """Stands in for `traction.analytics.refresh`, which the pipeline calls after every
    cycle (as the daemon does): runs the real one, and records what it cost. While it runs
    nothing else in the process writes (the mirror is idle between requests)."""

    real: Any
    database: Path
    day: float = 0.0
    records: list[tuple[float, int, float, int]] = field(default_factory=list)  # day, B, s, db B

    def __call__(self, con: duckdb.DuckDBPyConnection, target: Any) -> Path:
        before, began = written_bytes(), time.perf_counter()
        path = self.real(con, target)
        seconds, spent = time.perf_counter() - began, written_bytes() - before
        self.records.append((self.day, spent, seconds, file_size(self.database)))
        return path


def measure(
    config: TractionConfig,
    day: float,
    period: Period,
    period_days: float,
    refreshes: list[tuple[float, int, float, int]],
) -> Measure:
    """CHECKPOINT, then sizes and row counts; the analytics copy as the last cycle's
    refresh left it, and the period's refreshes' mean time."""
    db = Path(config.storage.database)
    with store.connect(db) as con:
        con.execute("CHECKPOINT")
        gz, raw = store.rows(
            con,
            "SELECT coalesce(sum(octet_length(body)), 0), coalesce(sum(size), 0) FROM raw_bodies",
        )[0]
        rows, used = row_counts(con), used_bytes(con)
    analytics_bytes = seconds = None
    if config.storage.analytics:
        analytics_bytes = file_size(Path(config.storage.analytics).resolve())
        recent = [r for r in refreshes if r[0] > day - period_days]
        seconds = sum(r[2] for r in recent) / len(recent) if recent else None
    return Measure(
        day=day,
        file_bytes=file_size(db),
        used_bytes=used,
        wal_bytes=file_size(Path(f"{db}.wal")),
        rows=rows,
        archive_gzip=int(gz),
        archive_raw=int(raw),
        analytics_bytes=analytics_bytes,
        analytics_seconds=seconds,
        period=period,
        period_days=period_days,
    )


def table_bytes(db: Path, scratch: Path) -> dict[str, int]:
    """Each table's bytes on its own: copied alone into a fresh file, minus an empty file.
    DuckDB reports no per-table size; this is what the table costs, compacted, rounded up
    to its 256 KB blocks."""
    sizes = {}
    empty = scratch / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    base = file_size(empty)
    empty.unlink()
    with duckdb.connect(str(db), read_only=True) as source:
        names = tables(source)
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{db}' AS src (READ_ONLY)")
        for table in names:
            target = scratch / f"{table}.duckdb"
            con.execute(f"ATTACH '{target}' AS one")
            con.execute(f"CREATE TABLE one.{table} AS FROM src.{table}")
            con.execute("DETACH one")
            sizes[table] = max(0, file_size(target) - base)
            target.unlink()
        con.execute("DETACH src")
    return sizes


def compacted_size(db: Path, scratch: Path) -> int:
    """The database rewritten into a fresh file: the bytes its live rows need."""
    target = scratch / "compacted.duckdb"
    target.unlink(missing_ok=True)
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{db}' AS src (READ_ONLY)")
        con.execute(f"ATTACH '{target}' AS fresh")
        con.execute("COPY FROM DATABASE src TO fresh")
        con.execute("DETACH fresh")
        con.execute("DETACH src")
    size = file_size(target)
    target.unlink()
    return size


def checks(config: TractionConfig, now: datetime) -> list[tuple[str, bool, str]]:
    """The retention and dedupe promises, checked on the simulated database."""
    retention = config.ingest.archive_retention_days
    cutoff = now.replace(tzinfo=None) - timedelta(days=retention)
    with store.connect(config.storage.database) as con:
        unchanged = store.scalar(con, "SELECT count(*) FROM runs WHERE status = 'unchanged'")
        leaked = store.scalar(
            con,
            "SELECT (SELECT count(*) FROM observations WHERE run_id IN (SELECT run_id FROM runs"
            " WHERE status = 'unchanged')) + (SELECT count(*) FROM prices WHERE run_id IN"
            " (SELECT run_id FROM runs WHERE status = 'unchanged'))",
        )
        pages, bodies = store.rows(
            con, "SELECT count(*), count(DISTINCT content_hash) FROM raw_pages"
        )[0]
        stored_bodies = store.scalar(con, "SELECT count(*) FROM raw_bodies")
        orphans = store.scalar(
            con,
            "SELECT count(*) FROM raw_bodies WHERE content_hash NOT IN"
            " (SELECT content_hash FROM raw_pages)",
        )
        old = store.scalar(con, "SELECT count(*) FROM raw_pages WHERE fetched_at < ?", [cutoff])
        running = store.scalar(con, "SELECT count(*) FROM runs WHERE status = 'running'")
    return [
        (
            "unchanged payloads store no facts",
            leaked == 0,
            f"{unchanged} unchanged runs, {leaked} facts carry their run ids",
        ),
        (
            "archive keeps each body once",
            stored_bodies == bodies,
            f"{pages:,} archived pages share {stored_bodies:,} bodies",
        ),
        ("no orphaned archive bodies", orphans == 0, f"{orphans} bodies no page refers to"),
        (
            f"no archived page older than {retention} days",
            old == 0,
            f"{old} pages fetched before {cutoff:%Y-%m-%d %H:%M}",
        ),
        ("no run left 'running'", running == 0, f"{running} runs"),
    ]


# --------------------------------------------------------------------------- the run


def sim_config(
    data: Path, url: str, litellm_map: Path | None, top_n: int | None = None
) -> TractionConfig:
    """The built-in defaults, pointed at the mirror and a temp directory; nothing else but
    request budgets (an hour passes in milliseconds here)."""
    sources: dict[str, Any] = {
        "openrouter": {"base_url": f"{url}/api/v1"},
        "openrouter_endpoints": {"base_url": f"{url}/api/v1"},
        "openrouter_rankings": {"base_url": f"{url}/api/v1"},
        "huggingface": {"base_url": url},
        "github": {"base_url": url},
    }
    if litellm_map is not None:
        sources["litellm_prices"] = {"location": str(litellm_map)}
    config = TractionConfig.model_validate(
        {
            "storage": {
                "database": data / "traction.duckdb",
                "snapshot": data / "snapshot.json",
                "analytics": data / "analytics.duckdb",
            },
            "sources": sources,
            "snapshot": {} if top_n is None else {"top_n": top_n},
        }
    )
    for name in config.sources.enabled():
        getattr(config.sources, name).requests_per_window = 10**6
    return config


@dataclass
class Result:
    config: TractionConfig
    world: World
    measures: list[Measure] = field(default_factory=list)
    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    seconds: Counter = field(default_factory=Counter)
    cycles: Counter = field(default_factory=Counter)
    publishes: Counter = field(default_factory=Counter)
    vacuums: list[tuple[float, int, int, int, float]] = field(default_factory=list)
    compactions: list[tuple[float, int, int, float]] = field(default_factory=list)
    day_busy: Counter = field(default_factory=Counter)  # simulated day -> worker seconds
    day_cycles: Counter = field(default_factory=Counter)
    refreshes: list[tuple[float, int, float, int]] = field(default_factory=list)
    snapshot_bytes: int = 0
    end: datetime = START
    wall: float = 0.0


def simulate(args: argparse.Namespace, data: Path, scratch: Path) -> Result:
    """Step through `args.days` from one due job to the next, running each source's cycle
    when due.
    The database as the first round of cycles left it is copied to `scratch` (the baseline:
    one-off rows that are not daily growth)."""
    world = World(args.seed, scale=args.scale)
    clock = SimClock(START)
    bundled = litellm_prices_source.bundled_map()
    litellm_map = data / "model_prices_and_context_window.json" if bundled else None
    if bundled and litellm_map:
        shutil.copyfile(bundled, litellm_map)  # until the first upgrade: the installed map
    end = START + timedelta(days=args.days)
    every = timedelta(days=args.report_every)
    # The daemon's retention job: an hour in, then daily (traction/daemon.py).
    vacuum_every = timedelta(hours=args.retention_every or 24 * (args.days + 2))
    next_vacuum = START + (timedelta(hours=1) if args.retention_every else vacuum_every)
    # Reports every `every`, and at the goals' milestones (day 30, day 365) and the end.
    reports = {START + every * k for k in range(1, int(args.days / args.report_every) + 1)}
    reports |= {START + timedelta(days=d) for d in GOAL_DAYS if d < args.days} | {end}
    reports = sorted(r for r in reports if r <= end)
    next_upgrade = START
    generation, period, last_report = 0, Period(), START
    began = time.perf_counter()
    real_refresh = analytics_module.refresh
    with Upstream() as upstream, clock.installed():
        config = sim_config(data, upstream.url, litellm_map, args.snapshot_top_n)
        result = Result(config, world)
        config = result.config
        meter = RefreshMeter(real_refresh, Path(config.storage.database))
        analytics_module.refresh = meter  # the pipeline imports it at each call
        result.refreshes = meter.records
        upstream.payloads = {
            "openrouter": world.openrouter_payload,
            "huggingface": world.hf_payload,
            "openrouter_endpoints": EndpointsFeed(world),
        }
        due = {name: START for name in config.sources.enabled()}  # all due at start
        # The daemon's analytics job (traction/daemon.py): a cycle books it
        # `storage.analytics_delay` on unless one is booked; at 0 each cycle refreshes.
        delay = timedelta(seconds=config.storage.analytics_delay)
        never = end + timedelta(days=1)
        next_analytics = never
        if args.progress:
            print(PERIOD_HEAD, file=sys.stderr, flush=True)
        moment = START
        while moment < end:
            clock.now = moment
            world.advance_to(moment)
            if litellm_map and bundled and moment >= next_upgrade + timedelta(days=14):
                next_upgrade += timedelta(days=14)
                generation += 1
                litellm_upgrade(bundled, litellm_map, generation, args.seed)
            for name, when in due.items():  # the daemon's jobs, in its order, one at a time
                if when > moment:
                    continue
                due[name] = when + timedelta(seconds=getattr(config.sources, name).interval)
                if name == "github":
                    upstream.payloads["github"] = world.github_payload()
                elif name == "openrouter_rankings":
                    days = config.sources.openrouter_rankings.days
                    upstream.payloads[name] = world.rankings(days)
                meter.day = (moment - START).total_seconds() / DAY
                started = time.perf_counter()
                report = run_cycle(  # the analytics copy as the daemon refreshes it
                    config, now=moment, only=[name], analytics=not delay
                )
                if delay and next_analytics == never:
                    next_analytics = moment + delay
                spent = time.perf_counter() - started
                result.day_busy[int(meter.day)] += spent
                result.day_cycles[int(meter.day)] += 1
                result.seconds[name] += spent
                result.cycles[name] += 1
                result.publishes[name] += report.published
                period.cycles += 1
                period.busy += spent
                if report.published:
                    period.publishes += 1
                    period.publish_busy += spent
                for outcome in report.outcomes:
                    result.statuses[name][outcome.status] += 1
            if moment == START:
                with store.connect(config.storage.database) as con:
                    con.execute("CHECKPOINT")
                shutil.copyfile(config.storage.database, scratch / "baseline.duckdb")
            # The next thing that happens: a source due, the retention job, a report, the
            # end. Nothing happens between (the 5-minute scheduler ticks the old harness
            # stepped through cost time and changed no byte).
            if moment >= next_analytics:  # the analytics job the first cycle booked
                next_analytics = never
                meter.day = (moment - START).total_seconds() / DAY
                started = time.perf_counter()
                analytics_job(config)
                spent = time.perf_counter() - started
                result.day_busy[int(meter.day)] += spent  # worker time, in no cycle
                period.busy += spent
            moment = min(*due.values(), next_analytics, next_vacuum, reports[0], end)
            clock.now = moment
            if moment >= next_vacuum:  # the retention job, between two cycles
                next_vacuum += vacuum_every
                started = time.perf_counter()
                done = vacuum(config)
                day = (moment - START).total_seconds() / DAY
                spent = time.perf_counter() - started
                result.vacuums.append((day, done.pages, done.observations, done.snapshots, spent))
                if done.compacted:
                    result.compactions.append((day, *done.compacted, spent))
            if moment >= reports[0]:
                reports.pop(0)
                day = (moment - START).total_seconds() / DAY
                days = (moment - last_report).total_seconds() / DAY
                result.measures.append(measure(config, day, period, days, meter.records))
                period, last_report = Period(), moment
                if args.progress:
                    elapsed = time.perf_counter() - began
                    row = period_row(result.measures[-1])
                    print(f"{row}   ({elapsed:.0f}s)", file=sys.stderr, flush=True)
        result.end = moment
        result.snapshot_bytes = file_size(Path(config.storage.snapshot))
    analytics_module.refresh = real_refresh
    result.wall = time.perf_counter() - began
    return result


# --------------------------------------------------------------------------- the report


def mb(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value / 1e6:,.{digits}f}"


PERIOD_HEAD = (
    f"  {'day':>5} {'file':>8} {'used':>8} {'archive':>7} {'analyt.':>8} {'runs':>6}"
    f" {'observ.':>8} {'prices':>6} {'rawpg':>6} {'bodies':>6} {'quar.':>5}"
    f" {'scores':>7} {'snaps':>6} {'busy s/d':>8} {'ms/pub':>6}"
)


def stored_snapshots(rows: dict[str, int]) -> int:
    """Recent and archived snapshots (migration 009 keeps them in two tables)."""
    return rows["snapshots"] + rows.get("snapshot_archive", 0)


def period_row(m: Measure) -> str:
    k = {name: count / 1000 for name, count in m.rows.items()}
    snapshots = stored_snapshots(m.rows) / 1000
    p = m.period
    busy = p.busy / m.period_days if m.period_days else 0
    per_publish = p.publish_busy / p.publishes * 1000 if p.publishes else 0
    return (
        f"  {m.day:>5g} {mb(m.file_bytes):>8} {mb(m.used_bytes):>8} {mb(m.archive_gzip):>7}"
        f" {mb(m.analytics_bytes):>8} {k['runs']:>6.1f} {k['observations']:>8.1f}"
        f" {k['prices']:>6.1f} {k['raw_pages']:>6.1f} {k['raw_bodies']:>6.1f}"
        f" {k['quarantine']:>5.2f} {k['scores']:>7.1f} {snapshots:>6.2f}"
        f" {busy:>8.0f} {per_publish:>6.0f}"
    )


def print_periods(result: Result) -> None:
    print("\nper simulated period: sizes in MB after CHECKPOINT, rows in thousands")
    print(PERIOD_HEAD)
    for m in result.measures:
        print(period_row(m))
    last = result.measures[-1]
    print(
        "  file: the DuckDB file; used: its blocks in use; archive: raw_bodies, gzip"
        f" ({mb(last.archive_raw)} MB unpacked); analyt.: the analytics copy; busy s/d:"
        " worker seconds per simulated day; ms/pub: a cycle that published, on average."
        f" WAL after CHECKPOINT: {last.wal_bytes} bytes"
    )


def print_runs(result: Result) -> None:
    config = result.config
    print("\nruns per source")
    for name, statuses in result.statuses.items():
        interval = getattr(config.sources, name).interval
        parts = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
        mean = result.seconds[name] / max(1, result.cycles[name]) * 1000
        print(
            f"  {name:<21} every {interval:>5}s: {parts}; published {result.publishes[name]}"
            f" ({mean:.0f} ms per cycle)"
        )
    total = sum(result.publishes.values())
    per_day = total / max(1e-9, result.measures[-1].day)
    print(f"  snapshots published: {total} ({per_day:.0f} a day)")
    print(f"  upstream events: {', '.join(f'{k} {v}' for k, v in result.world.events.items())}")
    if result.vacuums:
        removed = [sum(v[i] for v in result.vacuums) for i in (1, 2, 3)]
        slowest = max(v[4] for v in result.vacuums)
        print(
            f"  retention job: ran {len(result.vacuums)} times; pruned {removed[0]:,} archived"
            f" pages, downsampled away {removed[1]:,} observations, thinned away"
            f" {removed[2]:,} snapshots in all (slowest run {slowest:.1f}s)"
        )
    for day, before, after, spent in result.compactions:
        print(
            f"  day {day:g}: the retention job rewrote the file, {mb(before)} -> {mb(after)} MB"
            f" ({spent:.1f}s with the retention steps)"
        )
    last = result.measures[-1]
    if last.analytics_bytes is not None and result.refreshes:
        day = [r for r in result.refreshes if r[0] >= max(last.day - 1, 1 / 24)]
        written = sum(r[1] for r in day)
        delay = result.config.storage.analytics_delay
        how = f"{delay}s after the cycles that ran together" if delay else "after every cycle"
        print(
            f"  analytics copy: {mb(last.analytics_bytes)} MB; refreshed {how}, incrementally"
            f" (traction/analytics.py): on the last simulated day {len(day)} refreshes,"
            f" {sum(r[2] for r in day) / len(day):.2f}s and {mb(written / len(day), 2)} MB"
            f" written each on average ({mb(written)} MB that day)"
        )


@dataclass
class Aged:
    used: list[int]  # blocks in use: before, after the prune, the downsampling, the thinning
    removed: list[int]  # archived pages, observations, snapshots
    file_bytes: int
    compact_bytes: int
    tables: dict[str, int]
    rows: dict[str, int]
    seconds: float


def aged_probe(result: Result, db: Path, scratch: Path) -> Aged:
    """What database `db` costs once retention has had its way: on a copy, move the clock
    past every horizon and run `traction vacuum`'s three steps, checkpointing after each
    to see what each gives back in place."""
    ingest = result.config.ingest
    probe_db = scratch / "aged.duckdb"
    shutil.copyfile(db, probe_db)
    horizon = max(
        ingest.archive_retention_days, ingest.downsample_after_days, ingest.snapshot_history_days
    )
    clock = SimClock(result.end + timedelta(days=horizon + 1))
    with clock.installed(), store.connect(probe_db) as con:
        started = time.perf_counter()
        used, removed = [used_bytes(con)], []
        for step, days in (
            (store.prune_archive, ingest.archive_retention_days),
            (store.downsample, ingest.downsample_after_days),
            (store.thin_snapshots, ingest.snapshot_history_days),
        ):
            removed.append(step(con, days))
            con.execute("CHECKPOINT")
            used.append(used_bytes(con))
        seconds = time.perf_counter() - started
        counts = row_counts(con)
    aged = Aged(
        used=used,
        removed=removed,
        file_bytes=file_size(probe_db),
        compact_bytes=compacted_size(probe_db, scratch),
        tables=table_bytes(probe_db, scratch),
        rows=counts,
        seconds=seconds,
    )
    probe_db.unlink()
    return aged


def print_tables(result: Result, tables: dict[str, int], compact: int, aged: Aged) -> None:
    last = result.measures[-1]
    total = sum(tables.values()) or 1
    print("\nthe final database by table (each copied alone into a fresh file: compacted MB)")
    print(f"  {'table':<14} {'MB':>8} {'share':>6} {'rows':>11} {'B/row':>7} {'aged MB':>8}")
    for table in sorted(tables, key=lambda t: -tables[t]):
        count = last.rows[table]
        per_row = f"{tables[table] / count:.0f}" if count else "-"
        print(
            f"  {table:<14} {mb(tables[table]):>8} {tables[table] / total:>6.1%} {count:>11,}"
            f" {per_row:>7} {mb(aged.tables[table]):>8}"
        )
    print("  (a table under 256 KB still shows a block or two; aged: after the probe below)")
    print(
        f"  file {mb(last.file_bytes)} MB, blocks in use {mb(last.used_bytes)} MB,"
        f" rewritten into a fresh file {mb(compact)} MB"
    )
    pages, observations, snapshots = aged.removed
    kept = stored_snapshots(aged.rows)
    print(
        f"\nonce retention has aged it all (on a copy, the clock moved past every horizon,"
        f" `traction vacuum`'s three steps, {aged.seconds:.1f}s): pruned {pages:,} archived"
        f" pages, downsampled away {observations:,} observations"
        f" ({aged.rows['observations']:,} left), thinned away {snapshots:,} snapshots"
        f" ({kept:,} left, {aged.rows['scores']:,} score rows)"
    )
    used = " -> ".join(mb(u) for u in aged.used)
    print(
        f"  blocks in use {used} MB (prune, downsample, thin); the file stays"
        f" {mb(aged.file_bytes)} MB (DuckDB reuses freed blocks, never shrinks the file);"
        f" rewritten into a fresh file {mb(aged.compact_bytes)} MB"
    )


def print_extrapolation(
    result: Result, aged: Aged, baseline: Aged, compact: int
) -> dict[int, float]:
    """Per month and per year, from what the final database holds and what retention gives
    back once it has aged (the probe, in blocks in use, as `traction vacuum` leaves them).

    At the end of a D-day run the database holds min(D, horizon) days of what each step
    removes: the raw archive (`archive_retention_days`), full-resolution observations
    (`downsample_after_days`) and every publish's snapshot and scores
    (`snapshot_history_days`); what is left after all three is kept forever. Less the same
    for the database as the first round of cycles left it (catalogues, the price map, empty
    tables' blocks: one-offs), divided by those days, these are daily rates. After T days a
    database then holds the aged baseline + kept x T + each rate x min(T, its horizon);
    without retention, the aged baseline + every rate x T. On disk is that times the run's
    file/used ratio (DuckDB reuses freed blocks but never returns them to the file system).
    """
    config = result.config
    days = result.measures[-1].day
    ingest = config.ingest
    horizons = [
        ingest.archive_retention_days,
        ingest.downsample_after_days,
        ingest.snapshot_history_days,
    ]

    def freed(probe: Aged) -> list[int]:
        return [max(0, a - b) for a, b in zip(probe.used, probe.used[1:], strict=False)]

    net = [max(0, a - b) for a, b in zip(freed(aged), freed(baseline), strict=True)]
    rates = [f / min(days, h) for f, h in zip(net, horizons, strict=True)]
    base = baseline.used[-1]
    kept = max(0, aged.used[-1] - base) / days
    last = result.measures[-1]
    overhead = last.file_bytes / max(1, last.used_bytes)

    def live(total: float, retention: bool) -> float:
        if not retention:
            return base + (kept + sum(rates)) * total
        held = sum(r * min(total, h) for r, h in zip(rates, horizons, strict=True))
        return base + kept * total + held

    print(
        "\ngrowth, extrapolated (live: blocks in use; on disk: x the file/used ratio measured,"
        f" {overhead:.2f})"
    )
    print(
        f"  one-offs of the first cycles, aged: {mb(base)} MB; then each day adds {mb(kept, 2)}"
        f" MB kept forever, {mb(rates[0])} MB of raw archive (kept {horizons[0]} days),"
        f" {mb(rates[1])} MB of observations that downsampling removes after {horizons[1]}"
        f" days, {mb(rates[2])} MB of snapshots and scores that thinning removes after"
        f" {horizons[2]} days"
    )
    # With `storage.compact_every_days` the retention job rewrites the file that often:
    # on disk is then the data as densely as a fresh file holds it plus what the file grows
    # by until the next rewrite (a worst case: the day before it). The density is the final
    # database's (its rewrite against its blocks in use), not the aged probe's: the raw
    # archive, a month of gzip bodies, packs no tighter in a fresh file, and a year's file
    # still holds a month of it.
    every = config.storage.compact_every_days
    density = min(1.0, compact / max(1, last.used_bytes))

    def on_disk(total: float, retention: bool) -> float:
        if not (every and retention):
            return live(total, retention) * overhead
        grows = (kept + sum(rates)) * overhead * every
        return live(total, retention) * density + grows

    print(f"  {'':<30} {'1 month':>10} {'3 months':>10} {'1 year':>10} {'later, a month':>15}")
    for label, retention in (("without retention", False), ("with the defaults", True)):
        for kind in ("live", "on disk"):
            size = live if kind == "live" else on_disk
            sizes = [size(t, retention) for t in (30, 90, 365)]
            later = size(395, retention) - sizes[-1]
            cells = " ".join(f"{mb(v):>7} MB" for v in sizes)
            print(f"  {label + ', ' + kind:<30} {cells} {mb(later):>12} MB")
    if every:
        print(
            f"  (on disk with the defaults: rewritten every {every} days, a fresh file holds the"
            f" data at {density:.2f}x its blocks in use, as the final database's rewrite did,"
            f" plus {every} days of growth)"
        )
    if days >= 29:
        print(
            f"  measured at day {days:g}: file {mb(last.file_bytes)} MB,"
            f" in use {mb(last.used_bytes)} MB"
        )
    return {days: on_disk(days, True) for days in GOAL_DAYS}


def publish_costs(result: Result, scratch: Path) -> tuple[float, float]:
    """Two costs of the next publish that grew with every publish before it, timed on a
    copy: the publish guard (`scoring.snapshot.guard`) reading the last snapshot's model
    keys, and the CHECKPOINT (every cycle ends with one, when it closes the database)
    after one more `snapshots` row."""
    from schemas.snapshot import Snapshot
    from scoring.snapshot import guard

    db = scratch / "costs.duckdb"
    shutil.copyfile(result.config.storage.database, db)
    with store.connect(db) as con:
        latest = "SELECT max(version) FROM snapshots"
        body = store.scalar(con, f"SELECT body FROM snapshots WHERE version = ({latest})")
        snapshot = Snapshot.model_validate_json(body)
        started = time.perf_counter()
        guard(con, result.config, snapshot)
        guard_seconds = time.perf_counter() - started
        con.execute(
            "INSERT INTO snapshots SELECT version + 1, run_id, generated_at, published_at,"
            f" content_hash, path, body FROM snapshots WHERE version = ({latest})"
        )
        started = time.perf_counter()
        con.execute("CHECKPOINT")
        checkpoint_seconds = time.perf_counter() - started
    db.unlink()
    return guard_seconds, checkpoint_seconds


def print_checks(result: Result, costs: tuple[float, float]) -> None:
    print("\nchecks")
    for name, ok, detail in checks(result.config, result.end):
        print(f"  [{'ok' if ok else 'FAIL'}] {name}: {detail}")
    rows = result.measures[-1].rows
    recent, archived = rows["snapshots"], rows.get("snapshot_archive", 0)
    print(
        f"  the next publish, with {recent:,} recent snapshots and {archived:,} archived"
        f" stored: the guard takes {costs[0]:.2f}s, the CHECKPOINT after its snapshot row"
        f" {costs[1]:.2f}s (DuckDB rewrites the recent table, which retention keeps at"
        f" {result.config.ingest.snapshot_history_days} days of publishes)"
    )


@dataclass
class Goal:
    name: str
    value: float | None  # None: this run cannot measure it
    limit: float
    shown: str
    how: str

    @property
    def met(self) -> bool | None:
        return None if self.value is None else self.value <= self.limit


def goals(result: Result, extrapolated: dict[int, float]) -> list[Goal]:
    """Issue 13's goals, from what this run measured; a size past the run's end is the
    extrapolation's (with the default retention, on disk)."""
    out = []
    for days, limit in zip(GOAL_DAYS, (150e6, 600e6), strict=True):
        at = [m for m in result.measures if abs(m.day - days) < 1e-6]
        size, how = (
            (at[0].file_bytes, "measured")
            if at
            else (extrapolated[days], f"extrapolated from {result.measures[-1].day:g} days")
        )
        out.append(
            Goal(
                f"database at day {days}",
                size,
                limit,
                f"{mb(size)} MB",
                f"{how}; <= {mb(limit, 0)} MB",
            )
        )
    last = int((result.end - START).total_seconds() // DAY) - 1  # the last whole day
    per_cycle = {d: result.day_busy[d] / result.day_cycles[d] for d in result.day_cycles}
    ratio = per_cycle[last] / per_cycle[6] if last > 6 and per_cycle.get(6) else None
    out.append(
        Goal(
            f"cycle time, day {last + 1} against day 7" if last > 6 else "cycle time",
            ratio,
            1.25,
            "-" if ratio is None else f"{ratio:.2f}x",
            "needs 8 days or more"
            if ratio is None
            else f"{per_cycle[last]:.2f}s against {per_cycle[6]:.2f}s a cycle; <= 1.25x",
        )
    )
    # The last whole day's refreshes (a run under two days: those after its first hour,
    # when the first full copies are made), per cycle of that day.
    day = [r for r in result.refreshes if r[0] >= max(last, 1 / 24)]
    cycles = sum(n for d, n in result.day_cycles.items() if d >= last) or 1
    if day and last == 0:  # the first hour's cycles are not the day's refreshes'
        cycles = max(1, round(cycles * (1 - 1 / 24)))
    written = sum(r[1] for r in day)
    size = sum(r[3] for r in day) / len(day) if day else 0
    share = written / cycles / size if day and size else None
    out.append(
        Goal(
            "analytics refresh writes per cycle",
            share,
            0.05,
            "-" if share is None else f"{share:.1%} of the database",
            "-"
            if not day
            else f"{mb(written / cycles, 2)} MB a cycle on the last day ({len(day)} refreshes,"
            f" {cycles} cycles); < 5%",
        )
    )
    out.append(
        Goal(
            "snapshot at defaults",
            result.snapshot_bytes,
            300e3,
            f"{result.snapshot_bytes / 1e3:.0f} KB",
            f"{result.measures[-1].rows['snapshots']} recent snapshots stored; <= 300 KB",
        )
    )
    return out


def print_goals(found: list[Goal], judged: bool) -> bool:
    """The goals, each ok / MISS / not measured; whether none was missed."""
    print("\ngoals (issue 13)" + ("" if judged else ": not judged, the upstream is not at scale 1"))
    for goal in found:
        mark = {True: "ok", False: "MISS", None: "n/a"}[goal.met]
        print(f"  [{mark:>4}] {goal.name}: {goal.shown} ({goal.how})")
    return not judged or all(goal.met is not False for goal in found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=None, help="simulated days (default 1)")
    parser.add_argument(
        "--quick", action="store_true", help="half a day at a quarter of the models: a smoke run"
    )
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--scale", type=float, default=None, help="upstream size (1: realistic)")
    parser.add_argument(
        "--report-every", type=float, help="days between reports (default 7, or days/4)"
    )
    parser.add_argument(
        "--retention-every",
        type=float,
        default=24,
        help="hours between the daemon's retention job (default 24, the daemon's; 0: never)",
    )
    parser.add_argument(
        "--no-rankings", action="store_true", help="no OPENROUTER_API_KEY: rankings skipped"
    )
    parser.add_argument(
        "--snapshot-top-n",
        type=int,
        help="snapshot.top_n instead of the default (0: every model, as before the scope)",
    )
    parser.add_argument("--keep", type=Path, help="keep the database in this directory")
    parser.add_argument("--progress", action="store_true", help="progress on stderr")
    args = parser.parse_args(argv)
    args.days = args.days or (0.5 if args.quick else 1.0)
    args.scale = args.scale or (0.25 if args.quick else 1.0)
    args.report_every = args.report_every or (7.0 if args.days >= 14 else args.days / 4)
    for name in ("HF_TOKEN", "GITHUB_TOKEN", "OPENROUTER_API_KEY", "TRACTION_SNAPSHOT_KEY"):
        os.environ.pop(name, None)  # anonymous defaults, unsigned snapshots
    if not args.no_rankings:
        os.environ["OPENROUTER_API_KEY"] = "sim-not-a-key"  # only ever sent to 127.0.0.1
    defaults = TractionConfig()
    print(
        f"traction database growth: {args.days:g} simulated days from {START:%Y-%m-%d},"
        f" seed {args.seed}, upstream scale {args.scale:g}"
    )
    schedule = ", ".join(
        f"{name} {getattr(defaults.sources, name).interval // 60} min"
        for name in defaults.sources.enabled()
    )
    print(f"  default sources and intervals: {schedule}")
    print(
        f"  ingest.archive_retention_days {defaults.ingest.archive_retention_days},"
        f" ingest.downsample_after_days {defaults.ingest.downsample_after_days},"
        f" ingest.snapshot_history_days {defaults.ingest.snapshot_history_days};"
        f" retention job every {args.retention_every:g} h"
    )
    with tempfile.TemporaryDirectory(prefix="traction-growth-") as tmp:
        data = args.keep or Path(tmp)
        data.mkdir(parents=True, exist_ok=True)
        for leftover in ("traction.duckdb", "traction.duckdb.wal", "snapshot.json"):
            (data / leftover).unlink(missing_ok=True)
        scratch = Path(tmp) / "scratch"
        scratch.mkdir()
        result = simulate(args, data, scratch)
        db = Path(result.config.storage.database)
        tables, compact = table_bytes(db, scratch), compacted_size(db, scratch)
        aged = aged_probe(result, db, scratch)
        baseline = aged_probe(result, scratch / "baseline.duckdb", scratch)
        print_periods(result)
        print_runs(result)
        print_tables(result, tables, compact, aged)
        extrapolated = print_extrapolation(result, aged, baseline, compact)
        print_checks(result, publish_costs(result, scratch))
        met = print_goals(goals(result, extrapolated), judged=args.scale == 1)
    per_day = result.wall / args.days
    print(
        f"\nsimulated {args.days:g} days in {result.wall:.0f}s ({per_day:.0f}s per simulated day"
        f" at scale {args.scale:g}); seed {args.seed}"
    )
    if args.days < 365:
        print(
            f"  a year at this pace: about {per_day * 365 / 60:.0f} min of wall time, if cycles"
            " stay as fast as history grows (the cycle-time goal)"
        )
    if not met:
        print("a goal was missed", file=sys.stderr)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
