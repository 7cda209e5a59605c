"""Daily values maintained at ingest, observations stored on change (migration 007).

A year of hourly captures must not make each publish read, nor the database keep, every
repeated value: a capture that repeats a series' previous value stores no observation,
`daily_values` keeps each series' day, and scoring reads only the days it needs. What
must not change: the scores (against scoring every capture held in memory), what
back-fills in any order leave, and what an older database holds after it migrates."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta, timezone

import duckdb
import polars as pl
import pytest

import store
from schemas.config import TractionConfig
from schemas.rows import CatalogEntry, Observation, SourceResult
from scoring import snapshot
from scoring.growth import daily_frame
from scoring.snapshot import score_at

START = datetime(2026, 8, 1)
DAYS = 20
HOURS = (1, 9, 17)  # three captures a day; Hugging Face refreshes at the second
FACT_TABLES = ("observations", "daily_values", "captures", "catalog")


def _captures(seed: int = 11) -> list[SourceResult]:
    """Real-shaped captures, one SourceResult per source and time: Hugging Face downloads
    and likes refreshed once a day (the other captures repeat them), one day nobody
    refreshed, a model that leaves the list for days and returns, a late newcomer, one
    value that goes A -> B -> A within a day, GitHub stars and the WZRD feed."""
    rng = random.Random(seed)
    models = [f"org/model-{i:02d}" for i in range(12)]
    downloads = {m: rng.randint(100, 100_000) for m in models}
    likes = {m: rng.randint(0, 500) for m in models}
    stars = {r: rng.randint(10, 5000) for r in ("a/one", "b/two", "c/three")}
    out: list[SourceResult] = []
    for day in range(DAYS):
        if day != 5:  # day 5: Hugging Face refreshed nothing
            for m in models:
                downloads[m] = max(0, downloads[m] + rng.randint(-2000, 9000))
                likes[m] += rng.choice((0, 0, 1, 3, 10))
        for r in stars:
            stars[r] += rng.randint(0, 40)
        for hour in HOURS:
            at = START + timedelta(days=day, hours=hour)
            present = [
                m
                for m in models
                if not (m == "org/model-03" and 3 <= day <= 17)  # leaves, returns
                and not (m == "org/model-11" and day < 12)  # a newcomer
            ]
            refreshed = hour != HOURS[0]
            observations, catalog = [], []
            for m in present:
                value = downloads[m] if refreshed else downloads[m] - 777
                if m == "org/model-07" and hour == HOURS[1]:
                    value += 5  # A -> B -> A within the day
                observations.append(
                    Observation(
                        source="huggingface",
                        model_id=m,
                        metric="downloads",
                        value=value,
                        observed_at=at,
                    )
                )
                observations.append(
                    Observation(
                        source="huggingface",
                        model_id=m,
                        metric="likes",
                        value=likes[m],
                        observed_at=at,
                    )
                )
                created = START - timedelta(days=5) if m == "org/model-11" else None
                catalog.append(CatalogEntry(source="huggingface", model_id=m, created_at=created))
            out.append(
                SourceResult(source="huggingface", observations=observations, catalog=catalog)
            )
            if hour == HOURS[1]:
                out.append(
                    SourceResult(
                        source="github",
                        observations=[
                            Observation(
                                source="github", model_id=r, metric="stars", value=v, observed_at=at
                            )
                            for r, v in stars.items()
                        ],
                    )
                )
                out.append(
                    SourceResult(
                        source="wzrd",
                        observations=[
                            Observation(
                                source="wzrd",
                                model_id="org/model-01",
                                metric=metric,
                                value=value,
                                observed_at=at,
                            )
                            for metric, value in (
                                ("trend_points", 2.0),
                                ("momentum", 0.6 + day / 100),
                            )
                        ],
                    )
                )
    return out


def _run_id(result: SourceResult) -> str:
    return f"{result.source}-{result.observations[0].observed_at:%Y%m%dT%H}"


def _land(database, results: list[SourceResult]) -> None:
    with store.connect(database) as con:
        for result in results:
            with store.transaction(con):
                store.land(con, _run_id(result), result)


def _tables(database) -> dict[str, list[tuple]]:
    with store.connect(database, read_only=True) as con:
        return {t: store.rows(con, f"SELECT * FROM {t} ORDER BY ALL") for t in FACT_TABLES}


def _config(formula: str = "traction") -> TractionConfig:
    return TractionConfig.model_validate({"scoring": {"formula": formula}})


AS_OF = [
    START + timedelta(days=DAYS - 1, hours=23),  # after the last capture
    START + timedelta(days=DAYS - 1, hours=12),  # within a day: two of its captures known
    START + timedelta(days=10, hours=9),  # at a capture
    START + timedelta(days=6, hours=3),  # the day after nobody refreshed, one capture in
]


@pytest.fixture(scope="module")
def captures() -> list[SourceResult]:
    return _captures()


@pytest.fixture(scope="module")
def in_order(tmp_path_factory, captures) -> str:
    database = tmp_path_factory.mktemp("in-order") / "t.duckdb"
    _land(database, captures)
    return str(database)


def test_a_repeated_capture_stores_no_observation_but_still_confirms_the_series(in_order):
    with store.connect(in_order, read_only=True) as con:
        captured = sum(len(r.observations) for r in _captures())
        stored = store.scalar(con, "SELECT count(*) FROM observations")
        assert stored < captured / 2  # most captures repeated their series' value
        # model-07 went A -> B -> A on a day: three change points that day
        day = START + timedelta(days=9)
        changes = store.rows(
            con,
            "SELECT value, observed_at FROM observations WHERE model_id = 'org/model-07'"
            " AND metric = 'downloads' AND observed_at::DATE = ?::DATE ORDER BY observed_at",
            [day],
        )
        assert [at.hour for _, at in changes] == [1, 9, 17]
        assert changes[0][0] != changes[1][0] and changes[2][0] == changes[1][0] - 5
        # likes repeat all day: one change point at most, yet the day's last capture counts
        last = store.rows(
            con,
            "SELECT observed_at, first_at, day_number FROM daily_values"
            " WHERE model_id = 'org/model-00' AND metric = 'likes' AND day = ?::DATE",
            [day],
        )
        assert last == [(day + timedelta(hours=17), day + timedelta(hours=1), 10)]
        # its signals are as old as its last confirmation, not its last change
        late = day + timedelta(hours=17, minutes=30)
        scored = {m["key"]: m for m in score_at(con, _config(), late.replace(tzinfo=timezone.utc))}
        hf = [c for c in scored["org/model-00"]["components"] if c["source"] == "huggingface"]
        assert [round(c["age_seconds"]) for c in hf] == [1800, 1800]


def test_back_fills_in_any_order_leave_the_tables_in_order_ingestion_leaves(
    tmp_path, captures, in_order
):
    expected = _tables(in_order)
    for seed in (1, 2):
        shuffled = list(captures)
        random.Random(seed).shuffle(shuffled)
        database = tmp_path / f"shuffled-{seed}.duckdb"
        _land(database, shuffled)
        got = _tables(database)
        for table in FACT_TABLES:
            assert got[table] == expected[table], f"{table} differs after shuffle {seed}"
    # newest first, the worst case for re-deriving
    database = tmp_path / "reversed.duckdb"
    _land(database, list(reversed(captures)))
    assert _tables(database) == expected


def _every_capture(captures: list[SourceResult]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            (o.source, o.model_id, o.metric, o.value, o.observed_at.replace(tzinfo=None))
            for r in captures
            for o in r.observations
        ],
        schema={
            "source": pl.String,
            "model_id": pl.String,
            "metric": pl.String,
            "value": pl.Float64,
            "observed_at": pl.Datetime("us"),
        },
        orient="row",
    )


@pytest.mark.parametrize("formula", ["traction", "wzrd"])
def test_scores_read_from_daily_values_equal_scores_from_every_capture(
    monkeypatch, captures, in_order, formula
):
    """The reference scores every capture held in memory (what publishing read before the
    daily table: all observations up to the as-of time)."""
    config = _config(formula)
    with store.connect(in_order, read_only=True) as con:
        ours = [score_at(con, config, at.replace(tzinfo=timezone.utc)) for at in AS_OF]
    everything = _every_capture(captures)

    def every_day(con, as_of, pairs, since=None, sources=()):
        known = everything.filter(pl.col("observed_at") <= as_of.replace(tzinfo=None))
        return daily_frame(known)

    monkeypatch.setattr(snapshot, "load_daily", every_day)
    with store.connect(in_order, read_only=True) as con:
        reference = [score_at(con, config, at.replace(tzinfo=timezone.utc)) for at in AS_OF]
    assert ours == reference
    assert all(len(scored) >= 10 for scored in ours)


def _schema_6(database, captures: list[SourceResult], catalog_from: str) -> None:
    """A database as traction wrote it before migration 007: every capture an observation
    (and the catalog `catalog_from`'s ingestion of the same captures wrote)."""
    con = duckdb.connect(str(database))
    con.execute(
        "CREATE TABLE schema_version "
        "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    for number, name, sql in store.migration_files():
        if number <= 6:
            con.execute(sql)
            con.execute("INSERT INTO schema_version VALUES (?, ?, ?)", [number, name, START])
    for result in captures:
        store.insert_many(
            con,
            "INSERT INTO observations VALUES",
            [
                [
                    o.source,
                    o.model_id,
                    o.metric,
                    o.value,
                    o.observed_at.replace(tzinfo=None),
                    _run_id(result),
                ]
                for o in result.observations
            ],
        )
    con.execute(f"ATTACH '{catalog_from}' AS other (READ_ONLY)")
    con.execute("INSERT INTO catalog SELECT * FROM other.catalog")
    con.close()


def test_a_schema_6_database_migrates_in_place_and_scores_the_same(tmp_path, captures, in_order):
    database = tmp_path / "old.duckdb"
    _schema_6(database, captures, in_order)
    with store.connect(database) as con:
        assert store.scalar(con, "SELECT max(version) FROM schema_version") >= 7
        # compacted to change points, with the days and captures the repeats told
        for table in ("observations", "daily_values", "captures"):
            assert (
                store.rows(con, f"SELECT * FROM {table} ORDER BY ALL") == _tables(in_order)[table]
            ), table
        with store.connect(in_order, read_only=True) as fresh:
            for formula in ("traction", "wzrd"):
                for at in AS_OF:
                    at = at.replace(tzinfo=timezone.utc)
                    assert score_at(con, _config(formula), at) == score_at(
                        fresh, _config(formula), at
                    )
        # and it goes on: a capture after the migration lands on change
        later = START + timedelta(days=DAYS, hours=1)
        same = store.rows(
            con,
            "SELECT model_id, value FROM daily_values WHERE metric = 'likes' AND day = ?::DATE",
            [later - timedelta(days=1)],
        )
        result = SourceResult(
            source="huggingface",
            observations=[
                Observation(
                    source="huggingface", model_id=m, metric="likes", value=v, observed_at=later
                )
                for m, v in same
            ],
        )
        before = store.scalar(con, "SELECT count(*) FROM observations")
        with store.transaction(con):
            assert store.land(con, "hf-later", result) == len(same)
        assert store.scalar(con, "SELECT count(*) FROM observations") == before
        assert store.scalar(
            con, "SELECT count(*) FROM daily_values WHERE day = ?::DATE", [later]
        ) == len(same)


def test_downsampling_trims_observations_and_keeps_every_day(tmp_path, captures):
    database = tmp_path / "t.duckdb"
    _land(database, captures)
    with store.connect(database) as con:
        days = store.rows(con, "SELECT * FROM daily_values ORDER BY ALL")
        gone = store.downsample(con, 0)
        assert gone > 0  # model-07's A -> B -> A days keep their last change only
        assert store.rows(con, "SELECT * FROM daily_values ORDER BY ALL") == days
        kept = store.rows(
            con,
            "SELECT count(*) FROM observations GROUP BY source, model_id, metric,"
            " observed_at::DATE HAVING count(*) > 1",
        )
        assert kept == []
        end = datetime.combine(START + timedelta(days=DAYS - 1), time.max, timezone.utc)
        assert score_at(con, _config(), end)  # scoring reads days, not observations


def test_a_series_confirmed_by_repeated_captures_stays_present(tmp_path):
    """Presence within `identity.presence_window` counts captures, not changes: a series
    whose value has not changed for hours is still reported, hence present."""
    at = [START + timedelta(hours=h) for h in (1, 5, 9)]  # three captures, one value
    results = [
        SourceResult(
            source="github",
            observations=[
                Observation(
                    source="github", model_id="a/repo", metric="stars", value=7, observed_at=t
                )
            ],
        )
        for t in at
    ]
    database = tmp_path / "t.duckdb"
    _land(database, results)
    with store.connect(database, read_only=True) as con:
        assert store.scalar(con, "SELECT count(*) FROM observations") == 1
        hour = 3600
        # the middle capture only (neither the day's first nor its last) is within the hour
        assert ("github", "a/repo") in store.present_ids(con, at[1] + timedelta(minutes=30), hour)
        assert ("github", "a/repo") in store.present_ids(con, at[2] + timedelta(minutes=30), hour)
        assert ("github", "a/repo") not in store.present_ids(con, at[2] + timedelta(hours=2), hour)
        assert ("github", "a/repo") not in store.present_ids(con, at[0] - timedelta(hours=1), hour)


def test_a_model_back_after_a_gap_is_scored_from_its_earlier_days_as_from_every_capture(
    monkeypatch, tmp_path
):
    """A publish reads each pair's recent days, and earlier days only of the series that
    need them: here a model back in the list after 12 days away, whose last day before
    leaving is one Hugging Face refreshed for nobody. Whether that day counts is judged
    on every model's values that day, not on the few series read back: it must drop out
    of the returning model's growth as it would reading every capture."""
    rng = random.Random(5)
    models = [f"org/model-{i:02d}" for i in range(8)]
    downloads = {m: rng.randint(1_000, 90_000) for m in models}
    results = []
    for day in range(19):
        if day != 5:  # day 5: Hugging Face refreshed nothing
            for m in models:
                downloads[m] += rng.randint(200, 9_000)
        present = [m for m in models if not (m == "org/model-03" and 6 <= day <= 17)]
        at = START + timedelta(days=day, hours=9)
        results.append(
            SourceResult(
                source="huggingface",
                observations=[
                    Observation(
                        source="huggingface",
                        model_id=m,
                        metric=metric,
                        value=downloads[m] // divisor,
                        observed_at=at,
                    )
                    for m in present
                    for metric, divisor in (("downloads", 1), ("likes", 100))
                ],
            )
        )
    database = tmp_path / "t.duckdb"
    _land(database, results)
    config = _config()
    as_of = (START + timedelta(days=18, hours=12)).replace(tzinfo=timezone.utc)
    read_back = []
    real = store.unrefreshed_days
    monkeypatch.setattr(store, "unrefreshed_days", lambda *a: read_back.append(a) or real(*a))
    with store.connect(database, read_only=True) as con:
        ours = score_at(con, config, as_of)
    assert read_back  # the returning model's earlier days were read on their own
    everything = _every_capture(results)

    def every_day(con, as_of, pairs, since=None, sources=(), models=None, before=None):
        return daily_frame(everything.filter(pl.col("observed_at") <= as_of.replace(tzinfo=None)))

    monkeypatch.setattr(snapshot, "load_daily", every_day)
    with store.connect(database, read_only=True) as con:
        reference = score_at(con, config, as_of)
    assert ours == reference
    back = next(m for m in ours if m["key"] == "org/model-03")
    assert {c["metric"] for c in back["components"]} >= {"downloads"}
