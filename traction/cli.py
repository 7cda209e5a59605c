"""The `traction` command. Every stage can run alone; `run` composes them."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from schemas import errors
from schemas.errors import TractionError

from .config import ConfigError, load_config
from .progress import Progress

if TYPE_CHECKING:
    from schemas.snapshot import Snapshot

# Exit codes (documented in docs/operating.md; cron and systemd read them).
EXIT_PUBLISHED = 0  # published, or nothing changed and the current snapshot is fresh
EXIT_NOT_PUBLISHED = (
    errors.EXIT_FAILED
)  # nothing published: every source failed, or a guard refused
EXIT_CONFIG = errors.EXIT_CONFIG  # configuration or usage error
EXIT_PARTIAL = 3  # the snapshot is current, but at least one source failed
EXIT_LOCKED = errors.EXIT_LOCKED  # another traction process works on this database


def _config(args: argparse.Namespace):
    return load_config(args.config)


@contextlib.contextmanager
def _writer(config):
    """Hold the data-directory lock for a command that writes (DataDirLocked, exit 4, when
    another traction process holds it), after closing what a killed writer left open:
    runs still `running` become `interrupted`, an unrecorded snapshot file is recorded."""
    from .lock import DataDirLock
    from .pipeline import recover

    with DataDirLock(config.storage.database):
        recover(config)
        yield


def _source_name(value: str) -> str:
    from schemas.config import SourcesConfig

    if value not in SourcesConfig.model_fields:
        known = ", ".join(SourcesConfig.model_fields)
        raise argparse.ArgumentTypeError(f"unknown source {value!r} (known: {known})")
    return value


def cmd_run(args: argparse.Namespace) -> int:
    config = _config(args)
    if args.due and not args.once:
        print("traction: --due goes with --once (the daemon paces sources itself)", file=sys.stderr)
        return EXIT_CONFIG
    if args.http:
        from .serve import parse_listen

        try:
            parse_listen(args.http)
        except ValueError as exc:
            print(f"traction: {str(exc).replace('--listen', '--http')}", file=sys.stderr)
            return EXIT_CONFIG
        if args.once:
            print("traction: --http serves the daemon's status; not with --once", file=sys.stderr)
            return EXIT_CONFIG
    with _writer(config):
        if not args.once:
            from .daemon import run_daemon

            return run_daemon(config, http=args.http)
        return _run_once(config, args)


def due_sources(config, now: datetime) -> dict[str, float]:
    """Enabled sources whose `interval` has passed since their last run started, with the
    seconds until each of the others is due (negative or zero: due now). Lets cron call
    `run --once --due` every few minutes and still pace each source as the daemon does."""
    import store

    waits: dict[str, float] = {}
    db = Path(config.storage.database)
    with contextlib.ExitStack() as stack:
        con = stack.enter_context(store.connect(db, read_only=True)) if db.exists() else None
        for name in config.sources.enabled():
            last = None
            if con is not None:
                last = store.last_started(con, name)
            if last is None:
                waits[name] = 0.0
                continue
            elapsed = (now - last.replace(tzinfo=timezone.utc)).total_seconds()
            waits[name] = getattr(config.sources, name).interval - elapsed
    return waits


def _run_once(config, args: argparse.Namespace) -> int:
    from .pipeline import run_cycle

    only = args.source or None
    if args.due:
        waits = due_sources(config, datetime.now(timezone.utc))
        if only:
            waits = {name: wait for name, wait in waits.items() if name in only}
        only = [name for name, wait in waits.items() if wait <= 0]
        if not only:
            from .pipeline import publish_deferred

            deferred = publish_deferred(config)  # facts a coalesced publish left waiting
            if deferred.published and deferred.snapshot is not None:
                print(
                    f"nothing due; published the facts stored since the last publish:"
                    f" snapshot v{deferred.snapshot.version}"
                    f" ({len(deferred.snapshot.models)} models) to {deferred.path}"
                )
                return EXIT_PUBLISHED
            soonest = min(waits.items(), key=lambda item: item[1], default=None)
            hint = f"; next: {soonest[0]} in {soonest[1] / 60:.0f} min" if soonest else ""
            print(f"nothing due{hint}")
            return EXIT_PUBLISHED
    try:
        with Progress("run") as progress:
            report = run_cycle(config, only=only, progress=progress)
    except ValueError as exc:
        print(f"traction: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    for outcome in report.outcomes:
        _print_outcome(outcome)
    if report.follower_of is not None:  # fleet mode: the leader does the work
        print(f"following: worker {report.follower_of} leads the fleet; nothing to do here")
        return EXIT_PUBLISHED
    if report.deferred_until is not None:
        print(
            f"new facts stored; publish deferred until"
            f" {report.deferred_until.isoformat(timespec='seconds')}"
            f" (scoring.min_publish_interval): snapshot v{report.current_version} stays current"
        )
        return EXIT_PARTIAL if report.failures else EXIT_PUBLISHED
    if report.current_version is not None:
        print(f"nothing new upstream: snapshot v{report.current_version} stays current")
        return EXIT_PARTIAL if report.failures else EXIT_PUBLISHED
    if report.published and report.snapshot is not None:
        print(
            f"published snapshot v{report.snapshot.version} "
            f"({len(report.snapshot.models)} models) to {report.path}"
        )
        return EXIT_PARTIAL if report.failures else EXIT_PUBLISHED
    print(f"no snapshot published: {report.refused}", file=sys.stderr)
    return EXIT_NOT_PUBLISHED


def cmd_trends(args: argparse.Namespace) -> int:
    from .analytics import trends

    config = _config(args)
    opened = _open_read_only(config)
    if opened is None:
        return EXIT_NOT_PUBLISHED
    with opened as con:
        movers = trends(con, args.days, args.source, args.limit)
    if not movers:
        print(f"no series with two or more days in the last {args.days} days")
        return 0
    print(f"top movers over the last {args.days} days")
    print(f"  {'source':<20} {'model':<46} {'metric':<18} {'from':>12} {'to':>12} {'growth':>8}")
    for source, model, metric, first, last, growth in movers:
        print(
            f"  {source:<20} {model:<46} {metric:<18} {first:>12,.0f} {last:>12,.0f}"
            f" {growth:>7.1f}%"
        )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .analytics import export_parquet

    config = _config(args)
    opened = _open_read_only(config)
    if opened is None:
        return EXIT_NOT_PUBLISHED
    with opened as con:
        written = export_parquet(con, args.parquet)
    for path in written:
        print(path)
    return 0


def cmd_vacuum(args: argparse.Namespace) -> int:
    from .pipeline import vacuum

    config = _config(args)
    with _writer(config):
        done = vacuum(config, compact=True)
    print(
        f"{done} (one observation per day past {config.ingest.downsample_after_days} days,"
        f" one snapshot per day past {config.ingest.snapshot_history_days} days)"
    )
    return 0


def _print_outcome(outcome) -> None:
    if outcome.failed:
        print(f"{outcome.source}: {outcome.status}: {outcome.error}", file=sys.stderr)
    elif outcome.status == "skipped":
        print(f"{outcome.source}: skipped: {outcome.error}")
    else:
        note = f" ({outcome.error})" if outcome.error else ""
        print(
            f"{outcome.source}: {outcome.status}, {outcome.fetched} records, "
            f"{outcome.stored} new facts, {outcome.quarantined} quarantined{note}"
        )
        for reason, count in outcome.reasons.items():
            print(f"  quarantined x{count}: {reason}")


def cmd_ingest(args: argparse.Namespace) -> int:

    import store
    from ingest.runner import ingest, ingest_files, replay

    config = _config(args)
    ok, when = _time_option("--observed-at", args.observed_at)  # before the database opens
    if not ok:
        return EXIT_CONFIG
    if args.from_file and (not args.source or len(args.source) != 1):
        print("traction: --from-file needs exactly one --source", file=sys.stderr)
        return EXIT_CONFIG
    if args.observed_at and not args.from_file:
        print("traction: --observed-at goes with --from-file", file=sys.stderr)
        return EXIT_CONFIG
    with _writer(config), store.connect(config.storage.database) as con:
        if args.replay:
            try:
                outcomes = [replay(con, config, args.replay)]
            except ValueError as exc:
                print(f"traction: {exc}", file=sys.stderr)
                return EXIT_NOT_PUBLISHED
        elif args.from_file:
            outcomes = [ingest_files(con, config, args.source[0], args.from_file, when)]
        else:
            try:
                with Progress("ingest") as progress:
                    outcomes = ingest(con, config, only=args.source or None, progress=progress)
            except ValueError as exc:
                print(f"traction: {exc}", file=sys.stderr)
                return EXIT_CONFIG
    for outcome in outcomes:
        _print_outcome(outcome)
    return EXIT_NOT_PUBLISHED if any(o.failed for o in outcomes) else 0


def cmd_publish(args: argparse.Namespace) -> int:

    import store

    from .pipeline import CycleReport, score_and_publish

    config = _config(args)
    if args.force and not args.reason:
        print("traction: --force needs --reason TEXT (it is logged and kept)", file=sys.stderr)
        return EXIT_CONFIG
    report = CycleReport()
    with _writer(config), store.connect(config.storage.database) as con:
        score_and_publish(
            con,
            config,
            datetime.now(timezone.utc),
            report,
            force=args.reason if args.force else None,
        )
    if report.snapshot is not None:
        print(
            f"published snapshot v{report.snapshot.version} "
            f"({len(report.snapshot.models)} models) to {report.path}"
        )
        return EXIT_PUBLISHED
    print(f"no snapshot published: {report.refused}", file=sys.stderr)
    return EXIT_NOT_PUBLISHED


def _open_read_only(config):
    import store

    if not config.storage.database.exists():
        print(f"traction: no database at {config.storage.database}", file=sys.stderr)
        return None
    return store.connect(config.storage.database, read_only=True)


def _time_option(option: str, text: str | None) -> tuple[bool, datetime | None]:
    """(ok, the time) of an ISO 8601 option (UTC unless a zone is given; None if absent).
    A value that is not one is reported on one line naming the option (not ok), so the
    command exits 2 instead of a traceback from deep inside."""
    from .beliefs import parse_time

    if text is None:
        return True, None
    try:  # in UTC here, so a year-1 time with an offset overflows now, not in a query
        return True, parse_time(text).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        print(
            f"traction: {option} {text!r} is not an ISO 8601 time"
            " (e.g. 2026-11-20T09:00:00Z; UTC unless a zone is given)",
            file=sys.stderr,
        )
        return False, None


def _snapshot_named(args: argparse.Namespace) -> Snapshot | int:
    """The snapshot `--at` names (the latest one without it), or the exit code saying why
    there is none (the reason printed)."""
    from .beliefs import snapshot_at

    config = _config(args)
    ok, at = _time_option("--at", args.at)
    if not ok:
        return EXIT_CONFIG
    opened = _open_read_only(config)
    if opened is None:
        return EXIT_NOT_PUBLISHED
    with opened as con:
        snapshot = snapshot_at(con, at)
    if snapshot is None:
        print(
            "traction: no snapshot "
            + (f"was generated by {args.at}" if args.at else "was published yet"),
            file=sys.stderr,
        )
        return EXIT_NOT_PUBLISHED
    return snapshot


def cmd_snapshot_show(args: argparse.Namespace) -> int:
    from .beliefs import render_snapshot

    snapshot = _snapshot_named(args)
    if isinstance(snapshot, int):
        return snapshot
    if args.json:
        print(json.dumps(snapshot.model_dump(mode="json"), indent=1))
    else:
        print(render_snapshot(snapshot, args.top))
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """What a publish at --as-of would hold, scored by the same `score_at` publishing uses,
    from a read-only connection without the data directory's lock: nothing is written, and
    any past time can be asked (the facts observed by then, whatever was published)."""
    from schemas.snapshot import ModelScore
    from scoring.snapshot import score_at

    from .beliefs import render_scores

    config = _config(args)
    ok, at = _time_option("--as-of", args.as_of)
    if not ok:
        return EXIT_CONFIG
    at = at or datetime.now(timezone.utc)
    opened = _open_read_only(config)
    if opened is None:
        return EXIT_NOT_PUBLISHED
    with opened as con:
        scored = score_at(con, config, at)
    # Validated as the snapshot validates them: the JSON is the snapshot's model dicts.
    models = [ModelScore.model_validate(m) for m in scored]
    if args.json:
        document = {
            "as_of": at.isoformat(),
            "policy": config.scoring.policy,
            "models": [m.model_dump(mode="json") for m in models],
        }
        print(json.dumps(document, indent=1))
    else:
        print(render_scores(at, config.scoring.policy, models, args.top))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from .beliefs import find_model, render_explanation

    snapshot = _snapshot_named(args)
    if isinstance(snapshot, int):
        return snapshot
    model = find_model(snapshot, args.model)
    if model is None:
        print(
            f"traction: {args.model!r} is not in snapshot v{snapshot.version}"
            " (try `traction resolve`)",
            file=sys.stderr,
        )
        return EXIT_NOT_PUBLISHED
    if args.json:
        print(json.dumps(model.model_dump(mode="json"), indent=1))
    else:
        print(render_explanation(snapshot, model))
    return 0


def cmd_resolve(args: argparse.Namespace) -> int:
    from .beliefs import dumps, resolve

    config = _config(args)
    opened = _open_read_only(config)
    if opened is None:
        return EXIT_NOT_PUBLISHED
    with opened as con:
        found = resolve(con, config, args.name)
    if args.json:
        print(dumps(found))
    elif found["key"]:
        print(found["key"])
        for line in found["evidence"]:
            print(f"  because: {line}")
    else:
        print(f"no match for {args.name!r}: {'; '.join(found['evidence'])}")
        if found["candidates"]:
            print("  candidates: " + ", ".join(found["candidates"]))
    return 0 if found["key"] else EXIT_NOT_PUBLISHED


def _day(option: str, text: str | None):
    if text is None:
        return None
    from datetime import date

    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise ConfigError(f"{option} {text!r}: expected a date, YYYY-MM-DD") from None


def cmd_backtest(args: argparse.Namespace) -> int:
    from . import backtest

    config = _config(args)
    horizons = sorted(set(args.horizon or [7]))
    # Days are bounded: a history is months, and a date past year 9999 does not exist.
    for option, value in [("--top", args.top), ("--lookback", args.lookback)] + [
        ("--horizon", h) for h in horizons
    ]:
        if not 1 <= value <= (10_000 if option == "--top" else 3650):
            most = "10000" if option == "--top" else "3650 (days)"
            raise ConfigError(f"{option} {value}: must be from 1 to {most}")
    if not (math.isfinite(args.breakout_threshold) and args.breakout_threshold >= 0):
        raise ConfigError(
            f"--breakout-threshold {args.breakout_threshold}: must be a finite number >= 0"
        )
    if args.plot and Path(args.plot).suffix.lower() not in (".svg", ".png"):
        raise ConfigError(f"--plot {args.plot}: the file name must end in .svg or .png")
    formulas = args.formula or [config.scoring.formula] + [
        f for f in ("traction", "wzrd") if f != config.scoring.formula
    ]
    options = backtest.Options(
        horizons=horizons,
        since=_day("--since", args.since),
        until=_day("--until", args.until),
        top=args.top,
        lookback=args.lookback,
        formulas=list(dict.fromkeys(formulas)),
        breakout_metric=args.breakout_metric,
        breakout_threshold=args.breakout_threshold,
        seed=args.seed,
    )
    if args.model_list:
        try:
            options.model_list = backtest.load_model_list(Path(args.model_list))
        except backtest.BacktestError as exc:
            raise ConfigError(str(exc)) from None
    opened = _open_read_only(config)
    if opened is None:
        return EXIT_NOT_PUBLISHED
    try:
        with opened as con:
            result = backtest.run(con, config, options)
    except backtest.BacktestError as exc:
        print(f"traction: {exc}", file=sys.stderr)
        return EXIT_NOT_PUBLISHED
    if args.plot:
        from .backtest_plot import write_plot

        write_plot(result, Path(args.plot))
    print(json.dumps(result, indent=1) if args.json else backtest.render(result))
    if args.plot and not args.json:
        print(f"chart: {args.plot}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .status import collect, render_json, render_text

    report = collect(_config(args))
    print(render_json(report) if args.json else render_text(report))
    return EXIT_LOCKED if report.get("busy") else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo.run import run_demo

    return run_demo(args.data_dir)


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import parse_listen, serve

    config = _config(args)
    try:
        host, port = parse_listen(args.listen)
    except ValueError as exc:
        print(f"traction: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return serve(config.storage.snapshot, host, port)
    except OSError as exc:  # the address is taken, or not ours to bind
        print(f"traction: cannot listen on {args.listen}: {exc}", file=sys.stderr)
        return EXIT_NOT_PUBLISHED


def cmd_schema(args: argparse.Namespace) -> int:
    from schemas.snapshot import json_schema

    print(json.dumps(json_schema(), indent=2, sort_keys=True))
    return 0


def _count(text: str) -> int:
    """A --top value: a whole number, 0 or more (a negative one would slice from the end)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="traction",
        description="Adoption momentum and prices for LiteLLM routing.",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="TOML config file (default: $TRACTION_CONFIG, else built-in defaults)",
    )
    parser.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="default: WARNING for demo and status, INFO otherwise",
    )
    parser.add_argument(
        "--log-format",
        choices=["json", "text"],
        default="json",
        help="stderr log lines: one JSON object per event (default), or text for humans",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the worker (a daemon unless --once)")
    run.add_argument(
        "--once",
        action="store_true",
        help="one cycle: ingest every enabled source, score, publish, exit",
    )
    run.add_argument(
        "--source",
        action="append",
        metavar="NAME",
        type=_source_name,
        help="only this source (repeatable; with --once)",
    )
    run.add_argument(
        "--due",
        action="store_true",
        help="with --once: only the sources whose interval has passed since their last run"
        " (for cron, which may then call it every few minutes)",
    )
    run.add_argument(
        "--http",
        metavar="HOST:PORT",
        help="daemon only: serve /healthz, /metrics, /snapshot.json, the WZRD API and a status"
        " page on this address (e.g. 127.0.0.1:8700)",
    )
    run.set_defaults(func=cmd_run)

    ingest = sub.add_parser(
        "ingest", help="ingest only: fetch sources, or load saved payloads, or replay a run"
    )
    ingest.add_argument(
        "--source",
        action="append",
        metavar="NAME",
        type=_source_name,
        help="only this source (repeatable); exactly one with --from-file",
    )
    ingest.add_argument(
        "--from-file",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="load saved payload(s) of --source through its contract",
    )
    ingest.add_argument(
        "--observed-at",
        metavar="TIME",
        help="with --from-file: when the dump was taken (ISO 8601, default now)",
    )
    ingest.add_argument(
        "--replay", metavar="RUN_ID", help="re-derive a run's facts from its archived pages"
    )
    ingest.set_defaults(func=cmd_ingest)

    publish = sub.add_parser("publish", help="score what is stored and publish a snapshot")
    publish.add_argument(
        "--force", action="store_true", help="publish even when a guard refuses (needs --reason)"
    )
    publish.add_argument("--reason", metavar="TEXT", help="why the guard is overridden (logged)")
    publish.set_defaults(func=cmd_publish)

    snapshot = sub.add_parser("snapshot", help="published snapshots").add_subparsers(
        dest="snapshot_command", required=True, metavar="COMMAND"
    )
    show = snapshot.add_parser(
        "show", help="the snapshot describing a time (default: the newest published)"
    )
    show.add_argument(
        "--at",
        metavar="TIME",
        help="the latest snapshot generated by then (ISO 8601, UTC unless a zone is given)",
    )
    show.add_argument(
        "--top", type=_count, default=20, metavar="N", help="models to list (default 20)"
    )
    show.add_argument("--json", action="store_true", help="the whole document")
    show.set_defaults(func=cmd_snapshot_show)

    score = sub.add_parser(
        "score", help="what a publish at a time would hold; publishes and writes nothing"
    )
    score.add_argument(
        "--as-of",
        metavar="TIME",
        help="score the facts observed by then (ISO 8601, UTC unless a zone is given; default now)",
    )
    score.add_argument(
        "--top", type=_count, default=20, metavar="N", help="models to list (default 20)"
    )
    score.add_argument(
        "--json", action="store_true", help="every model with every component, as JSON"
    )
    score.set_defaults(func=cmd_score)

    explain = sub.add_parser("explain", help="the components behind a model's score and rank")
    explain.add_argument("model", help="any id or alias of the model")
    explain.add_argument(
        "--at", metavar="TIME", help="as the latest snapshot generated by then saw it"
    )
    explain.add_argument("--json", action="store_true")
    explain.set_defaults(func=cmd_explain)

    resolve = sub.add_parser("resolve", help="the canonical model key for a name, and why")
    resolve.add_argument("name", help="an id, a LiteLLM route, an alias")
    resolve.add_argument("--json", action="store_true")
    resolve.set_defaults(func=cmd_resolve)

    trend = sub.add_parser("trends", help="top movers by growth over recent days")
    trend.add_argument("--days", type=int, default=7)
    trend.add_argument("--source", type=_source_name, metavar="NAME")
    trend.add_argument("--limit", type=int, default=15)
    trend.set_defaults(func=cmd_trends)

    export = sub.add_parser("export", help="the history as hive-partitioned Parquet")
    export.add_argument("--parquet", required=True, type=Path, metavar="DIR")
    export.set_defaults(func=cmd_export)

    vacuum = sub.add_parser("vacuum", help="apply retention: prune the archive, downsample")
    vacuum.set_defaults(func=cmd_vacuum)

    backtest = sub.add_parser(
        "backtest",
        help="score the stored history as of each day and measure each ranking against"
        " what happened next, beside baselines",
    )
    backtest.add_argument(
        "--horizon",
        type=int,
        action="append",
        metavar="DAYS",
        help="days of future each ranking is judged on (repeatable; default 7)",
    )
    backtest.add_argument("--since", metavar="DATE", help="first as-of day (default: the first)")
    backtest.add_argument("--until", metavar="DATE", help="last as-of day (default: the last)")
    backtest.add_argument("--top", type=int, default=20, help="N of precision@N and latency")
    backtest.add_argument(
        "--lookback", type=int, default=7, help="days of the trailing-growth baselines"
    )
    backtest.add_argument(
        "--formula",
        action="append",
        choices=["traction", "wzrd"],
        help="scoring formula(s) to measure (default: both, the configured one first)",
    )
    backtest.add_argument(
        "--model-list",
        metavar="CONFIG.yaml",
        help="a LiteLLM config: also measure how often each group's top deployment was"
        " the one whose model gained most",
    )
    backtest.add_argument(
        "--breakout-metric",
        default="huggingface.downloads",
        metavar="SOURCE.METRIC",
        help="what a new model's breakout is measured on (default huggingface.downloads)",
    )
    backtest.add_argument(
        "--breakout-threshold",
        type=float,
        default=10_000,
        metavar="VALUE",
        help="a breakout is a new model's first day at or above this (default 10000)",
    )
    backtest.add_argument("--seed", type=int, default=0, help="of the random baseline")
    backtest.add_argument("--json", action="store_true", help="every measure, per day")
    backtest.add_argument(
        "--plot", metavar="FILE.svg", help="chart of Spearman and turnover per day (.svg/.png)"
    )
    backtest.set_defaults(func=cmd_backtest)

    status = sub.add_parser("status", help="last run per source and the published snapshot")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_status)

    demo = sub.add_parser("demo", help="the whole pipeline offline, on bundled data")
    demo.add_argument(
        "--data-dir",
        default="traction-demo",
        help="where the demo's database and snapshot go (default: ./traction-demo)",
    )
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser(
        "serve", help="serve the snapshot over HTTP, and its scores as the WZRD momentum API"
    )
    serve.add_argument(
        "--listen",
        default="127.0.0.1:8700",
        metavar="HOST:PORT",
        help="address to listen on (default: 127.0.0.1:8700)",
    )
    serve.set_defaults(func=cmd_serve)

    schema = sub.add_parser("schema", help="print the snapshot's JSON Schema")
    schema.set_defaults(func=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .logs import configure

    default_level = "WARNING" if args.command in ("demo", "status", "schema") else "INFO"
    configure(args.log_level or default_level, args.log_format)
    try:
        return args.func(args)
    except TractionError as exc:  # reported in words: a bad key, a held lock, a busy file
        print(f"traction: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # a bug: one log event (traceback inside), one line for people
        import logging

        logging.getLogger("traction.cli").exception("%s crashed", args.command)
        print(
            f"traction: {args.command} failed: {type(exc).__name__}: {exc}"
            " (the log event above has the traceback)",
            file=sys.stderr,
        )
        return EXIT_NOT_PUBLISHED


if __name__ == "__main__":
    sys.exit(main())
