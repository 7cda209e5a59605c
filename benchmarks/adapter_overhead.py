"""What traction costs on LiteLLM's request path.

Times LiteLLM's routing step (`Router.async_get_available_deployment`, the call every
request makes to pick a deployment) for the same group with LiteLLM's default
`simple-shuffle` and with the traction strategy installed, side by side in one process,
for groups of 3, 30 and 300 deployments, and prints microseconds per call and the ratio.
While the traction side is timed, an audit hook counts file opens and socket connections
made on the request path (there must be none while the snapshot is unchanged).

    python benchmarks/adapter_overhead.py [--calls 2000] [--sizes 3 30 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from litellm import Router  # noqa: E402

from router_adapter import register  # noqa: E402
from scoring.snapshot import render, write_atomically  # noqa: E402

from helpers import snapshot_body  # noqa: E402

IO_EVENTS = {"open": 0, "socket.connect": 0}
_counting = False


def _audit(event: str, args: tuple) -> None:
    if _counting and event in IO_EVENTS:
        IO_EVENTS[event] += 1


def group(size: int) -> list[dict]:
    return [
        {
            "model_name": "chat",
            "litellm_params": {
                "model": f"openai/model-{i}",
                "api_key": "sk-none",
                "api_base": "http://127.0.0.1:9",
                "mock_response": "ok",
            },
            "model_info": {"id": f"dep-{i}", "hf_repo_id": f"org/model-{i}"},
        }
        for i in range(size)
    ]


def snapshot(path: Path, size: int) -> None:
    models = [(f"org/model-{i}", float((i * 7919) % 1000) / 100, []) for i in range(size)]
    write_atomically(path, render(snapshot_body(models).seal()))


async def per_call_us(router: Router, calls: int, repeats: int, count_io: bool = False) -> float:
    """Median over `repeats` runs of the mean time of `calls` routing steps, in µs."""
    global _counting
    messages = [{"role": "user", "content": "hi"}]
    for _ in range(50):  # warm caches (and the snapshot read) outside the timing
        await router.async_get_available_deployment(
            model="chat", messages=messages, request_kwargs={}
        )
    runs = []
    _counting = count_io  # after the warm-up: the one snapshot read is not on this path
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            await router.async_get_available_deployment(
                model="chat", messages=messages, request_kwargs={}
            )
        runs.append((time.perf_counter() - start) / calls * 1e6)
    _counting = False
    return statistics.median(runs)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 30, 300])
    args = parser.parse_args()
    sys.addaudithook(_audit)
    workdir = Path(tempfile.mkdtemp(prefix="traction-bench-"))
    print(f"routing step, median of {args.repeats} x {args.calls} calls, µs per call")
    print(
        f"{'deployments':>11} {'simple-shuffle':>15} {'traction':>9} {'ratio':>6} "
        f"{'file opens':>10} {'connects':>8}"
    )
    worst = 0.0
    for size in args.sizes:
        path = workdir / f"snapshot-{size}.json"
        snapshot(path, size)
        plain = Router(model_list=group(size), routing_strategy="simple-shuffle")
        ranked = Router(model_list=group(size), routing_strategy="simple-shuffle")
        register(ranked, snapshot=path)
        base = await per_call_us(plain, args.calls, args.repeats)
        IO_EVENTS.update({"open": 0, "socket.connect": 0})
        ours = await per_call_us(ranked, args.calls, args.repeats, count_io=True)
        ratio = ours / base
        worst = max(worst, ratio)
        print(
            f"{size:>11} {base:>15.1f} {ours:>9.1f} {ratio:>6.2f} "
            f"{IO_EVENTS['open']:>10} {IO_EVENTS['socket.connect']:>8}"
        )
        plain.discard()
        ranked.discard()
    goal = "meets" if worst <= 1.1 else "misses"
    print(f"worst ratio {worst:.2f}: {goal} the goal of at most 1.1x simple-shuffle")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
