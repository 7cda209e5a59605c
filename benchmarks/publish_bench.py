"""How publish time grows with the number of models: it must be linear.

Why: publishing once rebuilt the identity's alias map for every model it wrote (2.5k
models 6.9 s, 10k 129 s, 40k over 10 minutes). A catalogue of tens of thousands of
Hugging Face repositories is a realistic operator setting, and a publish that grows
quadratically stalls the daemon's single job thread.

What it runs: for each size, a fresh DuckDB file in a temp directory filled with a
synthetic catalogue of that many models (Hugging Face downloads and likes over three
days; an OpenRouter catalogue entry linking half of them to their Hugging Face repo, with
a price; one successful ingest run per enabled source so the staleness guard passes),
then the real publish step, `traction.pipeline.score_and_publish` (scoring, identity,
validation, guards, the scores rows and the snapshot file), timed once. Filling the
database is not timed.

It prints, per size, the publish time (wall clock, and CPU time of this process: on a
machine shared with other work the CPU time is the steadier of the two), the time per
thousand models and the ratio of that to the smallest size's (1.0x is linear; a
quadratic step doubles it at every doubling of the size), then whether 20,000 models
publish within 10 s.

    python benchmarks/publish_bench.py                   # 1k, 5k and 20k models, ~30 s
    python benchmarks/publish_bench.py --sizes 1000 40000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import store  # noqa: E402
from schemas.config import TractionConfig  # noqa: E402
from traction.pipeline import CycleReport, score_and_publish  # noqa: E402

GOAL_MODELS = 20_000
GOAL_SECONDS = 10.0


def bench_config(data: Path) -> TractionConfig:
    return TractionConfig.model_validate(
        {
            "storage": {
                "database": data / "traction.duckdb",
                "snapshot": data / "snapshot.json",
                "analytics": "",
            }
        }
    )


def fill(config: TractionConfig, models: int, now: datetime) -> None:
    """`models` Hugging Face repos with three days of downloads and likes; every second one
    also in OpenRouter's catalogue (linked by `hugging_face_id`) with a price."""
    days = [store.naive_utc(now - timedelta(days=d)) for d in (2, 1, 0)]
    with store.connect(config.storage.database) as con:
        observations = []
        catalog = []
        prices = []
        for i in range(models):
            repo = f"org{i % 97}/model-{i}"
            for d, at in enumerate(days):
                observations.append(["huggingface", repo, "downloads", 1000.0 + i + d * i, at])
                observations.append(["huggingface", repo, "likes", 10.0 + d + i % 7, at])
            catalog.append(["huggingface", repo, None, repo])
            if i % 2 == 0:
                route = f"org{i % 97}/model-{i}-instruct"
                catalog.append(["openrouter", route, route, repo])
                price = [0.1 + i % 5, 0.4 + i % 3]
                prices.append(["openrouter", route, "openrouter", *price, days[-1]])
        with store.transaction(con):
            store.insert_many(
                con,
                "INSERT INTO observations (source, model_id, metric, value, observed_at, run_id)"
                " SELECT *, 'bench' FROM (VALUES",
                observations,
                suffix=")",
            )
            store.derive_daily(con)  # captures and daily values, as ingestion keeps them
            store.insert_many(
                con,
                "INSERT INTO catalog (source, model_id, canonical_slug, hugging_face_id,"
                " first_seen_at, last_seen_at, run_id) SELECT *, now(), now(), 'bench' FROM"
                " (VALUES",
                catalog,
                suffix=")",
            )
            store.insert_many(
                con,
                "INSERT INTO prices (source, model_id, provider, prompt_usd_per_mtok,"
                " completion_usd_per_mtok, observed_at, run_id) SELECT *, 'bench' FROM (VALUES",
                prices,
                suffix=")",
            )
            for source in config.sources.enabled():
                con.execute(
                    "INSERT INTO runs (run_id, kind, source, started_at, finished_at, status)"
                    " VALUES (?, 'ingest', ?, ?, ?, 'ok')",
                    [f"bench-{source}", source, days[-1], days[-1]],
                )


def publish_seconds(models: int) -> tuple[float, int]:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="traction-publish-bench-") as tmp:
        config = bench_config(Path(tmp))
        fill(config, models, now)
        report = CycleReport()
        with store.connect(config.storage.database) as con:
            started, cpu = time.perf_counter(), time.process_time()
            score_and_publish(con, config, now, report)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        if report.snapshot is None:
            raise SystemExit(f"{models} models: nothing published: {report.refused}")
        return elapsed, cpu, len(report.snapshot.models)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", nargs="+", type=int, default=[1000, 5000, GOAL_MODELS], metavar="MODELS"
    )
    args = parser.parse_args(argv)
    sizes = sorted(args.sizes)
    base: float | None = None
    goal_ok: bool | None = None
    print(f"{'models':>8} {'publish s':>10} {'cpu s':>7} {'ms / 1k models':>15} {'vs linear':>10}")
    for size in sizes:
        seconds, cpu, published = publish_seconds(size)
        per_k = seconds / published * 1000
        base = base if base is not None else per_k
        print(
            f"{published:>8} {seconds:>10.2f} {cpu:>7.2f} {per_k * 1000:>15.0f}"
            f" {per_k / base:>9.2f}x"
        )
        if size == GOAL_MODELS:
            goal_ok = seconds < GOAL_SECONDS
    if goal_ok is not None:
        verdict = "holds" if goal_ok else "FAILS"
        print(f"goal: {GOAL_MODELS:,} models publish in under {GOAL_SECONDS:.0f} s: {verdict}")
        return 0 if goal_ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
