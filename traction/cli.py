"""The `traction` command. Every stage can run alone; `run` composes them."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from .config import ConfigError, load_config
from .progress import Progress

# Exit codes (documented in the README; cron and systemd read them).
EXIT_PUBLISHED = 0  # published, or nothing changed and the current snapshot is fresh
EXIT_NOT_PUBLISHED = 1  # nothing published: every source failed, or a guard refused
EXIT_CONFIG = 2  # configuration error
EXIT_PARTIAL = 3  # the snapshot is current, but at least one source failed
EXIT_LOCKED = 4  # another traction process works on this database


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


def _time(value: str) -> datetime:
    from .beliefs import parse_time

    try:
        return parse_time(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 time (e.g. 2026-05-01T12:00:00Z)"
        ) from None


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
    from . import store

    waits: dict[str, float] = {}
    db = Path(config.storage.database)
    with contextlib.ExitStack() as stack:
        con = stack.enter_context(store.connect(db, read_only=True)) if db.exists() else None
        for name in config.sources.enabled():
            last = None
            if con is not None:
                last = store.scalar(
                    con,
                    "SELECT max(started_at) FROM runs WHERE kind = 'ingest' AND source = ?",
                    [name],
                )
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
        done = vacuum(config)
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

    from ingest.runner import ingest, ingest_files, replay

    from . import store

    config = _config(args)
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
            outcomes = [ingest_files(con, config, args.source[0], args.from_file, args.observed_at)]
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

    from . import store
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
    from . import store

    if not config.storage.database.exists():
        print(f"traction: no database at {config.storage.database}", file=sys.stderr)
        return None
    return store.connect(config.storage.database, read_only=True)


def cmd_snapshot_show(args: argparse.Namespace) -> int:
    from .beliefs import render_snapshot, snapshot_at

    config = _config(args)
    opened = _open_read_only(config)
    if opened is None:
        return EXIT_NOT_PUBLISHED
    with opened as con:
        snapshot = snapshot_at(con, args.at)
    if snapshot is None:
        print(
            f"traction: no snapshot was published"
            f" {'by ' + args.at.isoformat() if args.at else 'yet'}",
            file=sys.stderr,
        )
        return EXIT_NOT_PUBLISHED
    if args.json:
        print(json.dumps(snapshot.model_dump(mode="json"), indent=1))
    else:
        print(render_snapshot(snapshot, args.top))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from .beliefs import find_model, render_explanation, snapshot_at

    config = _config(args)
    opened = _open_read_only(config)
    if opened is None:
        return EXIT_NOT_PUBLISHED
    with opened as con:
        snapshot = snapshot_at(con, args.at)
    if snapshot is None:
        print("traction: no snapshot published yet", file=sys.stderr)
        return EXIT_NOT_PUBLISHED
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
        type=_source_name,
        metavar="NAME",
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
        type=_source_name,
        metavar="NAME",
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
        type=_time,
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
    show = snapshot.add_parser("show", help="the snapshot in force at a time (default: now)")
    show.add_argument(
        "--at", type=_time, metavar="TIME", help="ISO 8601 (UTC unless a zone is given)"
    )
    show.add_argument("--top", type=int, default=20, help="models to list (default 20)")
    show.add_argument("--json", action="store_true", help="the whole document")
    show.set_defaults(func=cmd_snapshot_show)

    explain = sub.add_parser("explain", help="the components behind a model's score and rank")
    explain.add_argument("model", help="any id or alias of the model")
    explain.add_argument(
        "--at", type=_time, metavar="TIME", help="as the snapshot in force then saw it"
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
    from .lock import DataDirLocked
    from .store import DatabaseBusy

    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"traction: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except (DataDirLocked, DatabaseBusy) as exc:
        print(f"traction: {exc}", file=sys.stderr)
        return EXIT_LOCKED
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
