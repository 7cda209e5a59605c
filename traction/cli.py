"""The `traction` command. Every stage can run alone; `run` composes them."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

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

    report = run_cycle(config, only=args.source or None)
    for outcome in report.outcomes:
        if outcome.succeeded:
            print(
                f"{outcome.source}: {outcome.status}, {outcome.fetched} records, "
                f"{outcome.stored} new facts, {outcome.quarantined} quarantined"
            )
    for outcome in report.failures:
        print(f"{outcome.source}: {outcome.status}: {outcome.error}", file=sys.stderr)
    if report.published and report.snapshot is not None:
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
