"""The snapshot scope (`[snapshot]`): the top N by score plus every model a configured
deployment, an alias or `snapshot.models` needs, and a publish guard that does not take a
model leaving the top N for a model vanishing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

import store
from router_adapter import register
from schemas.config import TractionConfig
from schemas.snapshot import Snapshot
from scoring.snapshot import build_snapshot
from traction.demo.upstream import Upstream
from traction.pipeline import CycleReport, score_and_publish

from routing import deployment, served

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def ingested(config: TractionConfig) -> TractionConfig:
    """Three days of bundled data ingested, nothing published; scope off (`top_n = 0`)."""
    config = config.model_copy(deep=True)
    config.snapshot.top_n = 0
    with Upstream() as up:
        config.sources.openrouter.base_url = f"{up.url}/api/v1"
        config.sources.huggingface.base_url = up.url
        from ingest.runner import ingest

        for day in range(3):
            up.set_day(day)
            with store.connect(config.storage.database) as con:
                outcomes = ingest(con, config, now=NOW - timedelta(days=2 - day))
                assert any(o.stored for o in outcomes)
    return config


def ranking(config: TractionConfig) -> list[str]:
    """Every scored model's key, best first (the scope off)."""
    with store.connect(config.storage.database) as con:
        return [m.key for m in build_snapshot(con, config, NOW).models]


def scoped(config: TractionConfig, **snapshot: Any) -> TractionConfig:
    data = config.model_dump()
    data["snapshot"].update(snapshot)
    identity = snapshot.pop("aliases", None)
    if identity is not None:
        data["identity"]["aliases"] = identity
        data["snapshot"].pop("aliases")
    return TractionConfig.model_validate(data)


def published_keys(config: TractionConfig) -> list[str]:
    with store.connect(config.storage.database) as con:
        snapshot = build_snapshot(con, config, NOW)
    assert [m.rank for m in snapshot.models] == list(range(1, len(snapshot.models) + 1))
    return [m.key for m in snapshot.models]


def model_list(path: Path, deployments: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"model_list": deployments}), encoding="utf-8")
    return path


def test_the_top_n_by_score_are_published_in_their_order(ingested):
    full = ranking(ingested)
    assert len(full) > 8  # enough models for a scope to leave some out
    assert published_keys(scoped(ingested, top_n=3)) == full[:3]
    assert published_keys(scoped(ingested, top_n=0)) == full  # 0: every scored model


def test_a_configured_deployments_model_outside_the_top_n_is_published(ingested, tmp_path):
    full = ranking(ingested)
    last = full[-1]
    path = model_list(
        tmp_path / "litellm.yaml",
        [
            deployment("cheap", "cheap-1", route=f"openrouter/{last}"),
            deployment("cheap", "cheap-2", route="openai/not-a-model-traction-knows"),
        ],
    )
    keys = published_keys(scoped(ingested, top_n=3, model_list=str(path)))
    assert keys == [*full[:3], last]  # rank order kept, ranks renumbered 1..4


def test_alias_targets_and_listed_models_are_published(ingested):
    full = ranking(ingested)
    target, listed = full[6], full[7].upper()  # any case, as ids compare lowercased
    config = scoped(ingested, top_n=2, models=[listed], aliases={"house/fast": target})
    assert published_keys(config) == [*full[:2], target, full[7]]


def test_a_model_dropping_out_of_the_top_n_does_not_trip_the_vanished_guard(ingested):
    everything = scoped(ingested, top_n=0)
    with store.connect(everything.storage.database) as con:
        first = CycleReport()
        score_and_publish(con, everything, NOW - timedelta(minutes=5), first)
        assert first.published, first.refused
        narrow = scoped(ingested, top_n=2)  # most of v1's models now fall outside the scope
        second = CycleReport()
        score_and_publish(con, narrow, NOW, second)
    assert second.refused is None and second.published
    assert len(second.snapshot.models) == 2 < len(first.snapshot.models) / 2


def test_the_adapter_ranks_a_group_whose_models_are_outside_the_top_n(
    ingested, tmp_path, make_router
):
    full = ranking(ingested)
    better, worse = full[4], full[9]
    group = [  # configured order: the worse-ranked model's deployment first
        deployment("chat", "chat-worse", route=f"openrouter/{worse}"),
        deployment("chat", "chat-better", route=f"openrouter/{better}"),
    ]
    config = scoped(ingested, top_n=2, model_list=str(model_list(tmp_path / "ll.yaml", group)))
    with store.connect(config.storage.database) as con:
        report = CycleReport()
        score_and_publish(con, config, NOW, report)
    assert report.published, report.refused
    published = Snapshot.model_validate_json(config.storage.snapshot.read_bytes())
    assert [m.key for m in published.models] == [*full[:2], better, worse]
    router = make_router(group)
    register(router, snapshot=config.storage.snapshot, check_interval=0, max_age=None)
    assert [served(router, "sync")[0] for _ in range(3)] == ["chat-better"] * 3
