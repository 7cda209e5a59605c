"""What every source is, and the one record loop every source's `parse` goes through.

A source is a `Source` subclass: its name, the rate limit it shares (`budget_key`), how
its JSON numbers decode (`exact_numbers`), which sources it runs after (`runs_after`),
what it reads from the store before any network I/O (`plan`), its network part
(`fetch`) and its pure part (`parse`). The runner reads these and nothing else: it
never asks a source's name to decide what to do with it.

`parse` unpacks each payload's envelope (its contract: a bad envelope fails the run
with `PayloadError`) and hands the records to `Records`, with a function that builds the
rows of one record. `Records` owns the rest: the index of each record, its contract
failure as a quarantine row, duplicates and deliberately ignored records, and the
invariant the ingest property tests hold: every fetched record is exactly one of
accepted, duplicate, ignored or quarantined.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar

import duckdb
from pydantic import BaseModel, ValidationError

from schemas.rows import CatalogEntry, Observation, Price, SourceResult

from ..http import PayloadError, SourceClient
from .common import RECORD_ERRORS, quarantine

Envelope = TypeVar("Envelope", bound=BaseModel)


class Source(ABC):
    """One upstream: `fetch` gets its pages (the client keeps each, for the archive) and
    `parse` turns them into rows, so a saved payload (a dump, a replay from the archive,
    the demo's bundled days) goes through exactly the same contract checks."""

    name: ClassVar[str]
    budget_key: ClassVar[str]  # sources of one upstream share its rate limit
    exact_numbers: ClassVar[bool] = False  # decode JSON numbers as Decimal (prices)
    # Sources whose landed facts `plan` reads: when they run too, this one is fetched
    # only after they have landed.
    runs_after: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(
        cls, *, name: str, budget_key: str | None = None, exact_numbers: bool = False, **kw: Any
    ) -> None:
        super().__init_subclass__(**kw)
        cls.name = name
        cls.budget_key = budget_key or name
        cls.exact_numbers = exact_numbers

    def __init__(self, config: Any):
        self.config = config

    def plan(self, con: duckdb.DuckDBPyConnection) -> Any:
        """What the run needs from the store before any network I/O (handed to `fetch`)."""
        return None

    def observations(
        self, model_id: str, values: Mapping[str, Any], observed_at: datetime
    ) -> list[Observation]:
        """One observation of `model_id` per metric in `values` (metric name to value)."""
        return [
            Observation(
                source=self.name,
                model_id=model_id,
                metric=metric,
                value=value,
                observed_at=observed_at,
            )
            for metric, value in values.items()
        ]

    @abstractmethod
    async def fetch(self, client: SourceClient, plan: Any = None) -> None:
        """Get the run's pages through `client`, which keeps every page it gets."""

    @abstractmethod
    def parse(self, payloads: list[Any], observed_at: datetime) -> SourceResult:
        """The run's rows from its payloads; pure."""


def unpack(contract: type[Envelope], payload: Any, what: str) -> Envelope:
    """A payload's envelope by its contract; one that is not fails the run."""
    try:
        return contract.model_validate(payload)
    except ValidationError as exc:
        raise PayloadError(f"not {what} payload: {exc.errors()[0]['msg']}") from None


def present(model: BaseModel, metrics: Mapping[str, str]) -> dict[str, Any]:
    """The fields of `model` named in `metrics` (field to metric) that it has, by metric."""
    return {
        metric: value
        for field, metric in metrics.items()
        if (value := getattr(model, field)) is not None
    }


@dataclass(frozen=True)
class Rows:
    """What one record stands for once it passed its contract.

    `key` names what the record is about: a later record with the same key is a
    duplicate (None: never one). `ignored`: the record is not a model on purpose."""

    key: Hashable | None = None
    observations: list[Observation] = field(default_factory=list)
    prices: list[Price] = field(default_factory=list)
    catalog: list[CatalogEntry] = field(default_factory=list)
    ignored: bool = False


IGNORED = Rows(ignored=True)


class Records:
    """The record loop every parser shares: validate and build each record's rows inside
    its own quarantine step, then count it as accepted, duplicate, ignored or
    quarantined (with its index across all the run's payloads, and the reason)."""

    def __init__(self, source: str, vintage: str | None = None):
        self.result = SourceResult(source=source, vintage=vintage)
        self._seen: set[Hashable] = set()

    def take(self, records: Iterable[Any], rows_of: Callable[[Any], Rows]) -> None:
        """Each record through `rows_of`, whose contract failure quarantines that record."""
        for record in records:
            self._one(record, None, lambda record=record: rows_of(record))

    def take_keyed(self, records: Mapping[str, Any], rows_of: Callable[[str, Any], Rows]) -> None:
        """Records keyed by their model id, as `take`; a quarantine row names the key."""
        for key, record in records.items():
            self._one(record, key, lambda key=key, record=record: rows_of(key, record))

    def _one(self, record: Any, model_id: str | None, build: Callable[[], Rows]) -> None:
        result = self.result
        index = result.records_fetched
        result.records_fetched += 1
        try:
            rows = build()
        except RECORD_ERRORS as exc:
            result.quarantined.append(quarantine(result.source, index, record, exc, model_id))
            return
        if rows.ignored:
            result.ignored += 1
        elif rows.key is not None and rows.key in self._seen:
            result.duplicates += 1
        else:
            if rows.key is not None:
                self._seen.add(rows.key)
            result.accepted += 1
            result.observations.extend(rows.observations)
            result.prices.extend(rows.prices)
            result.catalog.extend(rows.catalog)
