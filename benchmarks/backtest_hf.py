"""Does the default score predict adoption better than the obvious one-liners, on real data?

Loads daily captures of Hugging Face's model list into a fresh database through the real
ingest path (`traction ingest --from-file --observed-at`: the contract, the store), then
runs `traction backtest` (`traction/backtest.py`) at horizons 3 and 7 days and checks the
goals of the score, on all as-of days and on each half of them, so that a choice fitted
to one week's noise shows:

* composite Spearman and precision@20 above every baseline (trailing log growth per metric
  and combined, last-day change, random) and above the WZRD formula;
* top-10 turnover at most 2 models a day;
* breakout latency (a new model's first day at 10,000 downloads to its entry in the top
  20) at most 1 day.

The captures are the team's development data (not in this repository): one JSON file a
day, `{"date", "fetched_at" (ISO 8601), "models": [...]}`, where `models` is the array
`GET /api/models` returns (`id`, `downloads`, `likes`, `createdAt`, ...). Any folder of
such files works, e.g. your own captures.

    python benchmarks/backtest_hf.py DIR                 # about 15 s for 16 days
    python benchmarks/backtest_hf.py DIR --plot backtest.svg --json result.json

Exit status 0 when every goal holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import store  # noqa: E402
from ingest.runner import ingest_files  # noqa: E402
from schemas.config import TractionConfig  # noqa: E402
from traction import backtest  # noqa: E402

BASELINE_PREFIXES = ("trailing", "last-day", "random", "traction (wzrd")


def load(config: TractionConfig, folder: Path, workdir: Path) -> int:
    files = sorted(folder.glob("*.json"))
    if not files:
        raise SystemExit(f"no *.json captures in {folder}")
    with store.connect(config.storage.database) as con:
        for path in files:
            capture = json.loads(path.read_text(encoding="utf-8"))
            models = workdir / "models.json"
            models.write_text(json.dumps(capture["models"]))
            when = datetime.fromisoformat(capture["fetched_at"].replace("Z", "+00:00"))
            outcome = ingest_files(con, config, "huggingface", [models], when)
            print(
                f"  {path.name}: {outcome.status}, {outcome.fetched} records,"
                f" {outcome.quarantined} quarantined",
                file=sys.stderr,
            )
    return len(files)


def check(result: dict) -> list[str]:
    """Every goal that does not hold, in words (empty: all hold)."""
    missed = []
    for horizon, block in result["horizons"].items():
        ours = block["rankings"]["traction"]
        for part in ("all", "first half", "second half"):
            for measure in ("spearman.composite", "precision.composite"):
                mine = ours[part].get(measure)
                for name, parts in block["rankings"].items():
                    if name == "traction" or not name.startswith(BASELINE_PREFIXES):
                        continue
                    theirs = parts[part].get(measure)
                    if mine is None or (theirs is not None and mine <= theirs):
                        missed.append(
                            f"horizon {horizon}, {part}: {measure} {mine} not above"
                            f" {name}'s {theirs}"
                        )
    turnover = result["turnover"]["traction"]["mean"]
    if turnover is None or turnover > 2:
        missed.append(f"top-10 turnover {turnover} a day, over 2")
    latency = result["breakouts"]["mean_latency_days"]["traction"]
    if latency is not None and latency > 1:
        missed.append(f"breakout latency {latency} days, over 1")
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="folder of daily Hugging Face captures")
    parser.add_argument("--horizon", type=int, action="append", help="default: 3 and 7")
    parser.add_argument("--plot", type=Path, help="chart (.svg) of the first horizon")
    parser.add_argument("--json", type=Path, help="write every measure here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        config = TractionConfig.model_validate(
            {
                "storage": {
                    "database": workdir / "traction.duckdb",
                    "snapshot": workdir / "snapshot.json",
                    "analytics": "",
                }
            }
        )
        began = time.perf_counter()
        days = load(config, args.data, workdir)
        loaded = time.perf_counter() - began
        options = backtest.Options(horizons=sorted(set(args.horizon or [3, 7])))
        with store.connect(config.storage.database, read_only=True) as con:
            result = backtest.run(con, config, options)
        took = time.perf_counter() - began - loaded
    print(backtest.render(result))
    print(f"\n{days} captures loaded in {loaded:.1f} s; backtest in {took:.1f} s")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    if args.plot:
        from traction.backtest_plot import write_plot

        write_plot(result, args.plot)
        print(f"chart: {args.plot}")
    missed = check(result)
    if missed:
        print("\ngoals missed:\n  " + "\n  ".join(missed))
        return 1
    print(
        "\ngoals met: traction above every baseline on composite Spearman and precision@20"
        " at every horizon, on all days and on each half; turnover <= 2/day; latency <= 1 day"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
