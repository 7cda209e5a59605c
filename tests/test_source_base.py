"""The one Source base and the one record loop: what every source shares, and the run
order the runner takes from `runs_after` rather than from any source's name."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from ingest.runner import waves
from ingest.sources import SOURCE_TYPES, build_sources
from ingest.sources.base import IGNORED, Records, Rows, Source

from helpers import loopback_config

NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)


def test_every_source_is_a_source_named_as_it_is_listed():
    for name, kind in SOURCE_TYPES.items():
        assert issubclass(kind, Source)
        assert kind.name == name
        assert kind.budget_key
    assert SOURCE_TYPES["openrouter_endpoints"].budget_key == "openrouter"
    assert SOURCE_TYPES["litellm_prices"].exact_numbers


def test_a_source_without_fetch_or_parse_cannot_be_built():
    class Half(Source, name="half"):
        def parse(self, payloads: list[Any], observed_at: datetime) -> Any:
            return None

    with pytest.raises(TypeError):
        Half(None)  # type: ignore[abstract]


def test_plan_defaults_to_nothing(tmp_path):
    sources = build_sources(loopback_config(tmp_path), only_enabled=False)
    assert sources["openrouter"].plan(None) is None  # type: ignore[arg-type]


def test_endpoints_wait_for_the_catalogue_only_when_it_runs(tmp_path):
    sources = build_sources(loopback_config(tmp_path), only_enabled=False)
    order = [list(wave) for wave in waves(sources)]
    assert order == [[n for n in sources if n != "openrouter_endpoints"], ["openrouter_endpoints"]]
    alone = {n: s for n, s in sources.items() if n in ("openrouter_endpoints", "github")}
    assert [list(wave) for wave in waves(alone)] == [["openrouter_endpoints", "github"]]


def test_sources_that_wait_on_each_other_are_refused():
    class A(Source, name="a"):
        runs_after = ("b",)

        async def fetch(self, client: Any, plan: Any = None) -> None: ...

        def parse(self, payloads: list[Any], observed_at: datetime) -> Any: ...

    class B(A, name="b"):
        runs_after = ("a",)

    with pytest.raises(ValueError, match="wait on each other"):
        waves({"a": A(None), "b": B(None)})


def test_every_record_is_exactly_one_of_accepted_duplicate_ignored_quarantined():
    def rows_of(record: Any) -> Rows:
        if record == "skip":
            return IGNORED
        if not isinstance(record, int):
            raise ValueError("not a number")
        return Rows(key=record % 10)

    records = Records("demo", vintage="v")
    records.take([1, 2, "x", 11], rows_of)
    records.take(["skip", 3, None], rows_of)  # indexes go on across payloads
    result = records.result
    assert (result.accepted, result.duplicates, result.ignored) == (3, 1, 1)
    assert [(q.record_index, q.reason) for q in result.quarantined] == [
        (2, "not a number"),
        (6, "not a number"),
    ]
    assert (
        result.records_fetched
        == 7
        == (result.accepted + result.duplicates + result.ignored + len(result.quarantined))
    )
    assert result.vintage == "v"


def test_keyed_records_name_their_key_when_quarantined():
    def rows_of(key: str, record: Any) -> Rows:
        raise ArithmeticError("overflow")

    records = Records("demo")
    records.take_keyed({"vendor/model": {"price": 1}}, rows_of)
    (quarantined,) = records.result.quarantined
    assert quarantined.model_id == "vendor/model"
    assert quarantined.raw == '{"price": 1}'
    assert quarantined.record_index == 0


def test_a_bug_in_a_record_is_not_quarantined():
    def rows_of(record: Any) -> Rows:
        raise KeyError(record)

    with pytest.raises(KeyError):
        Records("demo").take([1], rows_of)
