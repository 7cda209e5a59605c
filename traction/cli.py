"""The `traction` command. Every stage can run alone; `run` composes them."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import ConfigError, load_config

EXIT_PUBLISHED = 0
EXIT_NOT_PUBLISHED = 1
EXIT_CONFIG = 2


def _config(args: argparse.Namespace):
    return load_config(args.config)


def cmd_run(args: argparse.Namespace) -> int:
    config = _config(args)
    if not args.once:
        from .daemon import run_daemon

        return run_daemon(config)
    from .pipeline import run_cycle

    try:
        report = run_cycle(config, only=args.source or None)
    except ValueError as exc:
        print(f"traction: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    for outcome in report.outcomes:
        _print_outcome(outcome)
    if report.published and report.snapshot is not None:
        print(
            f"published snapshot v{report.snapshot.version} "
            f"({len(report.snapshot.models)} models) to {report.path}"
        )
        return EXIT_PUBLISHED
    print(f"no snapshot published: {report.refused}", file=sys.stderr)
    return EXIT_NOT_PUBLISHED


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
    from datetime import datetime, timezone

    from ingest.runner import ingest, ingest_files, replay

    from . import store

    config = _config(args)
    with store.connect(config.storage.database) as con:
        if args.replay:
            try:
                outcomes = [replay(con, config, args.replay)]
            except ValueError as exc:
                print(f"traction: {exc}", file=sys.stderr)
                return EXIT_NOT_PUBLISHED
        elif args.from_file:
            if not args.source or len(args.source) != 1:
                print("traction: --from-file needs exactly one --source", file=sys.stderr)
                return EXIT_CONFIG
            when = None
            if args.observed_at:
                when = datetime.fromisoformat(args.observed_at.replace("Z", "+00:00"))
                if when.tzinfo is None:
                    when = when.replace(tzinfo=timezone.utc)
            outcomes = [ingest_files(con, config, args.source[0], args.from_file, when)]
        else:
            try:
                outcomes = ingest(con, config, only=args.source or None)
            except ValueError as exc:
                print(f"traction: {exc}", file=sys.stderr)
                return EXIT_CONFIG
    for outcome in outcomes:
        _print_outcome(outcome)
    return EXIT_NOT_PUBLISHED if any(o.failed for o in outcomes) else 0


def cmd_publish(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from . import store
    from .pipeline import CycleReport, score_and_publish

    config = _config(args)
    report = CycleReport()
    with store.connect(config.storage.database) as con:
        score_and_publish(con, config, datetime.now(timezone.utc), report)
    if report.snapshot is not None:
        print(
            f"published snapshot v{report.snapshot.version} "
            f"({len(report.snapshot.models)} models) to {report.path}"
        )
        return EXIT_PUBLISHED
    print(f"no snapshot published: {report.refused}", file=sys.stderr)
    return EXIT_NOT_PUBLISHED


def cmd_status(args: argparse.Namespace) -> int:
    from .status import collect, render_json, render_text

    report = collect(_config(args))
    print(render_json(report) if args.json else render_text(report))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo.run import run_demo

    return run_demo(args.data_dir)


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
        help="only this source (repeatable; with --once)",
    )
    run.set_defaults(func=cmd_run)

    ingest = sub.add_parser(
        "ingest", help="ingest only: fetch sources, or load saved payloads, or replay a run"
    )
    ingest.add_argument(
        "--source",
        action="append",
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
        metavar="TIME",
        help="with --from-file: when the dump was taken (ISO 8601, default now)",
    )
    ingest.add_argument(
        "--replay", metavar="RUN_ID", help="re-derive a run's facts from its archived pages"
    )
    ingest.set_defaults(func=cmd_ingest)

    publish = sub.add_parser("publish", help="score what is stored and publish a snapshot")
    publish.set_defaults(func=cmd_publish)

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

    schema = sub.add_parser("schema", help="print the snapshot's JSON Schema")
    schema.set_defaults(func=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(
            logging,
            args.log_level
            or ("WARNING" if args.command in ("demo", "status", "schema") else "INFO"),
        ),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"traction: {exc}", file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
