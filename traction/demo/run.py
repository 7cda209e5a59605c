"""`traction demo`: a week of bundled upstream data through the real pipeline, then one routed call.

The bundled payloads are served by a loopback mirror (`upstream.py`) and the
sources are pointed at it by config, exactly as an operator would point them at a
mirror, so nothing here is a separate code path. Each bundled day is ingested with
the clock set to that day, ending today, so the published snapshot is fresh.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

from schemas.config import TractionConfig

from ..pipeline import run_cycle
from .upstream import Upstream, bundled_days

GROUP = "open-chat"

# The example LiteLLM model group: six deployments of different models, listed in
# the order an operator might have written them. Matching uses every tier:
# explicit ids in model_info, and the provider route itself.
DEPLOYMENTS = [
    {
        "model_name": GROUP,
        "litellm_params": {"model": "openrouter/meta-llama/llama-3.3-70b-instruct"},
        "model_info": {"id": "llama-3.3-70b"},
    },
    {
        "model_name": GROUP,
        "litellm_params": {"model": "openrouter/mistralai/mistral-small-3.2-24b-instruct"},
        "model_info": {"id": "mistral-small"},
    },
    {
        "model_name": GROUP,
        "litellm_params": {"model": "together_ai/Qwen/Qwen3.5-35B-A3B"},
        "model_info": {"id": "qwen3.5-35b"},
    },
    {
        "model_name": GROUP,
        "litellm_params": {"model": "groq/openai/gpt-oss-120b"},
        "model_info": {"id": "gpt-oss-120b"},
    },
    {
        "model_name": GROUP,
        "litellm_params": {"model": "fireworks_ai/accounts/fireworks/models/qwen3p5-9b"},
        "model_info": {"id": "qwen3.5-9b", "hf_repo_id": "Qwen/Qwen3.5-9B"},
    },
    {
        "model_name": GROUP,
        "litellm_params": {"model": "deepseek/deepseek-chat"},
        "model_info": {"id": "deepseek-v3.2", "traction_model": "deepseek-ai/DeepSeek-V3.2"},
    },
]


def demo_config(data_dir: Path, upstream_url: str) -> TractionConfig:
    config = TractionConfig.model_validate(
        {
            "storage": {
                "database": data_dir / "traction.duckdb",
                "snapshot": data_dir / "snapshot.json",
                "analytics": data_dir / "analytics.duckdb",
            },
            "sources": {
                "openrouter": {"base_url": f"{upstream_url}/api/v1", "timeout": 10},
                "huggingface": {
                    "base_url": upstream_url,
                    "authors": [
                        "Qwen",
                        "meta-llama",
                        "mistralai",
                        "deepseek-ai",
                        "google",
                        "openai",
                        "microsoft",
                    ],
                    "models_per_author": 5,
                    "top_n": 10,
                    "page_size": 2,  # small pages, so the demo follows Link pagination
                    "timeout": 10,
                },
                "openrouter_endpoints": {"base_url": f"{upstream_url}/api/v1", "timeout": 10},
                "openrouter_rankings": {"enabled": False},  # needs a key; none offline
                "github": {
                    "base_url": upstream_url,
                    "repositories": [
                        "QwenLM/Qwen3.5",
                        "meta-llama/llama-models",
                        "openai/gpt-oss",
                        "mistralai/mistral-inference",
                    ],
                    "links": {
                        "QwenLM/Qwen3.5": "Qwen/Qwen3.5-9B",
                        "meta-llama/llama-models": "meta-llama/Llama-3.3-70B-Instruct",
                        "openai/gpt-oss": "openai/gpt-oss-120b",
                    },
                    "timeout": 10,
                },
                "litellm_prices": {"enabled": True},  # the map inside installed litellm
                "wzrd": {"enabled": False},
            },
            "retry": {"attempts": 2, "backoff_initial": 0.1, "backoff_max": 0.5},
        }
    )
    # The loopback mirror has no rate limit, and a week of simulated days runs in seconds:
    # the real budgets (30 a minute for OpenRouter) would stall the demo for minutes.
    for name in config.sources.enabled():
        getattr(config.sources, name).requests_per_window = 100_000
    return config


def run_demo(data_dir: str | os.PathLike[str]) -> int:
    data_dir = Path(data_dir)
    for name in ("traction.duckdb", "traction.duckdb.wal", "snapshot.json"):
        (data_dir / name).unlink(missing_ok=True)  # the demo starts from an empty history
    days = bundled_days()
    today = datetime.now(timezone.utc).replace(microsecond=0)
    print(
        f"traction demo: {days} days of bundled OpenRouter, Hugging Face and GitHub payloads,"
        f" served on 127.0.0.1 (plus the price map inside litellm), into {data_dir}/\n"
    )
    with Upstream() as upstream:
        config = demo_config(data_dir, upstream.url)
        for day in range(days):
            upstream.set_day(day)
            when = today - timedelta(days=days - 1 - day)
            report = run_cycle(config, now=when)
            parts = [
                f"{o.source} {o.status} ({o.stored} facts, {o.quarantined} quarantined)"
                for o in report.outcomes
            ]
            published = (
                f"snapshot v{report.snapshot.version}"
                if report.snapshot
                else f"not published: {report.refused}"
            )
            print(f"  day {day + 1} ({when:%Y-%m-%d}): {'; '.join(parts)} -> {published}")
            if report.failures:
                for failure in report.failures:
                    print(f"    {failure.source}: {failure.error}")
                return 1
    snapshot_path = config.storage.snapshot
    inspect = data_dir / "traction.toml"
    inspect.write_text(
        "# Written by `traction demo`: where its database and snapshot are.\n[storage]\n"
        f'database = "{config.storage.database.resolve()}"\n'
        f'snapshot = "{snapshot_path.resolve()}"\n'
        f'analytics = "{config.storage.analytics.resolve()}"\n'
    )
    print(f"\nsnapshot: {snapshot_path}   (inspect: traction --config {inspect} status)\n")
    print_ranking(snapshot_path)
    return route_one_call(snapshot_path)


def print_ranking(snapshot_path: Path) -> None:
    from router_adapter import SnapshotReader, match_deployment
    from schemas.snapshot import Snapshot

    reader = SnapshotReader(snapshot_path, check_interval=0)
    view, problem = reader.current()
    if view is None:
        print(f"snapshot unusable: {problem}")
        return
    snapshot = Snapshot.model_validate_json(snapshot_path.read_bytes())
    by_key = {m.key: m for m in snapshot.models}
    rows = []
    for index, deployment in enumerate(DEPLOYMENTS):
        hit = match_deployment(deployment, view)
        model = by_key.get(hit.key) if hit else None
        price = "-"
        if model and model.prices:
            quotes = [
                p
                for p in model.prices  # paid, fixed-price offers only
                if p.prompt_usd_per_mtok is not None and ":free" not in p.model_id
            ]
            if quotes:
                cheapest = min(quotes, key=lambda p: float(p.prompt_usd_per_mtok or 0))
                prompt = float(cheapest.prompt_usd_per_mtok or 0)
                completion = float(cheapest.completion_usd_per_mtok or 0)
                price = f"${prompt:.3f}/${completion:.3f}"
        rows.append((model.score if model else 0.0, -index, deployment, model, price))
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    print(
        f"ranking for LiteLLM model group {GROUP!r} (score: each signal's expected growth,"
        " ranked among peers, -2..2; weighted over signals):"
    )
    print(
        f"  {'#':<2} {'deployment id':<15} {'model':<46} {'score':>7} {'trend':<13} "
        f"{'confidence':<12} {'$/M in/out':<14}"
    )
    for rank, (score, _, deployment, model, price) in enumerate(rows, start=1):
        print(
            f"  {rank:<2} {deployment['model_info']['id']:<15} "
            f"{(model.key if model else '(no match)'):<46} {score:>7.3f} "
            f"{(model.trend if model else '-'):<13} {(model.confidence if model else '-'):<12} "
            f"{price:<14}"
        )
    print()


def route_one_call(snapshot_path: Path) -> int:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import
    try:
        import litellm
        from litellm import Router
    except ImportError:
        print("litellm is not installed: pip install 'traction[litellm]' to see a routed call")
        return 0
    litellm.suppress_debug_info = True
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from router_adapter import register

    router = Router(model_list=[dict(d) for d in DEPLOYMENTS])
    strategy = register(router, snapshot=snapshot_path)

    async def call():
        return await router.acompletion(
            model=GROUP,
            messages=[{"role": "user", "content": "Which model are you?"}],
            mock_response="Hello from a mock deployment.",
        )

    response = asyncio.run(call())
    served = response._hidden_params.get("model_id")
    print(
        f"routed call: litellm.Router.acompletion(model={GROUP!r}) was served by deployment "
        f"{served!r} (decisions: {dict(strategy.counters)})"
    )
    return 0
