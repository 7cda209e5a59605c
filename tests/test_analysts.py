"""The analyst's side: the read-only copy and its views, trends, Parquet export, retention."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

import store
from traction.daemon import retention_job

from helpers import traction

NOW = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)


def test_analytics_copy_has_the_documented_views(week):
    _, config = week
    with duckdb.connect(str(config.storage.analytics), read_only=True) as con:
        views = {
            r[0]
            for r in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
        }
        assert {
            "latest_scores",
            "daily_signals",
            "top_movers",
            "price_history",
            "snapshots",
        } <= views
        top = con.execute("SELECT model_key FROM latest_scores LIMIT 1").fetchone()[0]
        mover = con.execute("SELECT model_id FROM top_movers LIMIT 1").fetchone()[0]
        versions = con.execute("SELECT count(*), max(version) FROM snapshots").fetchone()
        days = con.execute(
            "SELECT count(DISTINCT day) FROM daily_signals WHERE model_id = 'Qwen/Qwen3.5-9B'"
        ).fetchone()[0]
    assert top == "qwen/qwen3.5-9b" and mover == "Qwen/Qwen3.5-9B"
    assert versions == (8, 8) and days == 8


def test_trends_prints_the_top_movers(week):
    path, _ = week
    out = traction("trends", "--days", "7", "--source", "huggingface", config=path)
    assert out.returncode == 0, out.stderr
    first = out.stdout.splitlines()[2].split()
    assert first[0] == "huggingface" and first[1] == "Qwen/Qwen3.5-9B"
    assert first[-1].endswith("%")


def test_export_writes_hive_partitioned_parquet(week, tmp_path):
    path, config = week
    target = tmp_path / "export"
    out = traction("export", "--parquet", str(target), config=path)
    assert out.returncode == 0, out.stderr
    assert (target / "observations" / "source=huggingface").is_dir()
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT count(*) FROM read_parquet('{target}/observations/**/*.parquet',"
            " hive_partitioning = true) WHERE source = 'huggingface'"
        ).fetchone()[0]
    with store.connect(config.storage.database, read_only=True) as con:
        stored = store.scalar(con, "SELECT count(*) FROM observations WHERE source = 'huggingface'")
    assert stored > 0 and rows == stored  # every stored fact, none twice


@pytest.mark.parametrize("how", ["traction vacuum", "the daemon's daily job"])
def test_vacuum_keeps_one_observation_per_day_past_the_cutoff(week, how):
    path, config = week
    with store.connect(config.storage.database) as con:
        old = (NOW - timedelta(days=200)).replace(tzinfo=None)
        for hour in (1, 5, 9):  # three readings on one old day
            con.execute(
                "INSERT INTO observations VALUES ('huggingface', 'x/old', 'downloads',"
                " ?, ?, 'seed')",
                [float(hour), old.replace(hour=hour)],
            )
    with store.connect(config.storage.database, read_only=True) as con:
        before = store.scalar(con, "SELECT count(*) FROM observations")
    if how == "traction vacuum":
        out = traction("vacuum", config=path)
        assert out.returncode == 0, out.stderr
    else:
        retention_job(config)
    with store.connect(config.storage.database, read_only=True) as con:
        kept = store.rows(con, "SELECT value FROM observations WHERE model_id = 'x/old'")
        recent = store.scalar(con, "SELECT count(*) FROM observations")
    assert kept == [(9.0,)]  # the day's last reading
    assert recent == before - 2  # only the old day's two earlier readings went


def readme_sql() -> list[str]:
    text = (Path(__file__).resolve().parent.parent / "docs" / "analysts.md").read_text(
        encoding="utf-8"
    )
    return re.findall(r"```sql\n(.+?)\n```", text, flags=re.S)


def test_the_readmes_example_sql_answers_on_the_analytics_copy(week):
    """Every query an analyst copies from docs/analysts.md runs on the copy and finds rows."""
    _, config = week
    queries = readme_sql()
    assert len(queries) >= 5
    with duckdb.connect(str(config.storage.analytics), read_only=True) as con:
        for sql in queries:
            assert con.sql(sql).fetchall(), sql


def test_vacuum_thins_old_snapshots_to_one_per_day_with_their_scores(week):
    """Hourly publishes of a large catalogue would grow without bound: past
    `snapshot_history_days` only each day's last snapshot (and its scores) stays, moved
    out of the table every publish appends to (which DuckDB rewrites at each checkpoint)
    and still read as it was published."""
    path, config = week
    old = (NOW - timedelta(days=40)).replace(tzinfo=None)
    with store.connect(config.storage.database) as con:
        body = store.scalar(con, "SELECT body FROM snapshots ORDER BY version LIMIT 1")
        recent = store.scalar(con, "SELECT count(*) FROM snapshots")
        for version, hour in ((-3, 2), (-2, 8), (-1, 20)):  # three publishes on one old day
            when = old.replace(hour=hour)
            con.execute(
                "INSERT INTO snapshots VALUES (?, ?, ?, ?, 'hash', 'path', ?)",
                [version, f"old{version}", when, when, body],
            )
            con.execute(
                "INSERT INTO scores (run_id, version, computed_at, model_key, rank, score,"
                " confidence, trend, components)"
                " VALUES (?, ?, ?, 'x/old', 1, 1.0, 'normal', 'stable', '{}')",
                [f"old{version}", version, when],
            )
    out = traction("vacuum", config=path)
    assert out.returncode == 0, out.stderr
    assert "thinned away 2 snapshots" in out.stdout
    with store.connect(config.storage.database, read_only=True) as con:
        kept = store.rows(con, "SELECT version FROM published_snapshots WHERE version < 0")
        archived = store.rows(con, "SELECT version FROM snapshot_archive WHERE version < 0")
        old_in_recent = store.scalar(
            con,
            "SELECT count(*) FROM snapshots WHERE generated_at < ?",
            [(NOW - timedelta(days=7, minutes=10)).replace(tzinfo=None)],
        )
        scores = store.rows(con, "SELECT run_id FROM scores WHERE model_key = 'x/old'")
        left = store.scalar(con, "SELECT count(*) FROM published_snapshots WHERE version > 0")
        that_evening = store.snapshot_body_at(con, old.replace(hour=23))
        newest = store.last_snapshot_version(con)
    assert kept == [(-1,)] and scores == [("old-1",)]  # the day's last, with its scores
    assert archived == [(-1,)] and old_in_recent == 0  # out of the table publishes append to
    assert that_evening == body  # what routers were sent that day, still readable
    assert left == recent and newest == recent  # the recent, hourly history is untouched


def _contents(path: Path) -> dict[str, object]:
    """Every table's row count and checksum, and the schema (columns, constraints, views)."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        found: dict[str, object] = {
            t: con.execute(f"SELECT count(*), bit_xor(hash(t)) FROM {t} t").fetchone()
            for t in tables
        }
        for name, sql in (
            (
                "columns",
                "SELECT table_name, column_name, data_type, column_default, is_nullable"
                " FROM duckdb_columns() WHERE NOT internal ORDER BY ALL",
            ),
            (
                "constraints",
                "SELECT table_name, constraint_type, constraint_text"
                " FROM duckdb_constraints() ORDER BY ALL",
            ),
            ("views", "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal ORDER BY ALL"),
        ):
            found[name] = con.execute(sql).fetchall()
    return found


def test_vacuum_gives_the_space_back_and_keeps_every_row(week):
    """DuckDB reuses freed blocks but never shrinks its file: after retention deletes a
    large old history, `traction vacuum` rewrites the file, which shrinks, while every
    row, column default, constraint and view stays as it was."""
    path, config = week
    database = Path(config.storage.database)
    with store.connect(database) as con:
        con.execute(  # half a year of hourly readings of 300 series, long past the cutoff
            "INSERT INTO observations SELECT 'huggingface', 'org/m' || (i % 300), 'downloads',"
            " i, TIMESTAMP '2025-01-01' + to_minutes(i // 300 * 60), 'r-old'"
            " FROM range(1300000) t(i)"
        )
    from traction.pipeline import vacuum

    vacuum(config, compact=False)  # retention alone: the file keeps its size
    grown = database.stat().st_size
    kept = _contents(database)
    out = traction("vacuum", config=path)
    assert out.returncode == 0, out.stderr
    assert re.search(r"compacted the file from [\d.]+ MB to [\d.]+ MB", out.stdout), out.stdout
    assert database.stat().st_size < grown * 0.7
    after = _contents(database)
    after.pop("runs"), kept.pop("runs")  # `traction vacuum` recorded its own runs
    assert after == kept
    assert not list(database.parent.glob(".*.compact*"))  # no temporary file left behind
    with store.connect(database, read_only=True) as con:
        notes = store.rows(
            con,
            "SELECT kind, note FROM runs WHERE kind IN ('vacuum', 'compact')"
            " ORDER BY started_at, kind DESC",
        )
    assert [kind for kind, _ in notes][-2:] == ["vacuum", "compact"], notes
    assert notes[-1][1].startswith("compacted the file from")
    # The daemon's daily job compacts again only `storage.compact_every_days` later.
    retention_job(config)
    with store.connect(database, read_only=True) as con:
        compactions = store.scalar(con, "SELECT count(*) FROM runs WHERE kind = 'compact'")
    assert compactions == 1
    # A compacted file still refuses a duplicate key (the primary keys came along).
    with store.connect(database) as con, pytest.raises(duckdb.ConstraintException):
        row = store.rows(con, "SELECT * FROM runs LIMIT 1")[0]
        con.execute(f"INSERT INTO runs VALUES ({', '.join('?' * len(row))})", list(row))


def _written() -> int:
    """Bytes this process has passed to write() so far (Linux)."""
    with open("/proc/self/io") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("wchar"))


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="counts bytes through /proc")
def test_a_refresh_appends_the_new_runs_rows_instead_of_rewriting_the_copy(tmp_path, config):
    """Once both files of the copy exist, a refresh after one new run writes its rows and
    the small tables, not the whole history; readers always open a complete copy."""
    from traction.analytics import refresh

    target = config.storage.analytics
    with store.connect(config.storage.database) as con:
        con.execute(  # a large history: a million observations
            "INSERT INTO observations SELECT 'huggingface', 'org/m' || (i % 1000), 'downloads',"
            " hash(i) % 1000003, TIMESTAMP '2026-01-01' + to_minutes(i // 1000), 'r-old'"
            " FROM range(1000000) t(i)"
        )
        before = _written()
        refresh(con, target)
        full = _written() - before
        first = os.readlink(target)
        refresh(con, target)  # the second file of the pair, made whole once
        assert os.readlink(target) != first
        with duckdb.connect(str(target), read_only=True) as reader:  # held across a refresh
            con.execute(
                "INSERT INTO observations SELECT 'huggingface', 'org/m' || i, 'downloads', 1,"
                " TIMESTAMP '2027-01-01', 'r-new' FROM range(1000) t(i)"
            )
            before = _written()
            refresh(con, target)
            appended = _written() - before
            assert reader.execute("SELECT count(*) FROM observations").fetchone()[0] == 1000000
        assert os.readlink(target) == first
        assert appended * 5 < full, (appended, full)
        with duckdb.connect(str(target), read_only=True) as reader:
            assert reader.execute("SELECT count(*) FROM observations").fetchone()[0] == 1001000
        con.execute("DELETE FROM observations WHERE run_id = 'r-new'")  # retention deletes
        con.execute(  # a price change re-derived after a back-fill keeps its earlier run
            "INSERT INTO price_changes (source, model_id, provider, changed_at, run_id)"
            " VALUES ('openrouter', 'org/m1', '', TIMESTAMP '2026-01-02', 'r-old')"
        )
        refresh(con, target)
        refresh(con, target)
    with duckdb.connect(str(target), read_only=True) as reader:
        assert reader.execute("SELECT count(*) FROM observations").fetchone()[0] == 1000000
        assert reader.execute("SELECT count(*) FROM price_changes").fetchone()[0] == 1


def test_a_copy_partitioned_otherwise_is_copied_whole_and_matches(tmp_path, config, monkeypatch):
    """A refresh compares partitions with checksums the copy kept; a copy made by a
    traction that split the tables otherwise (an upgrade) must not be patched partition by
    partition with keys that name other rows: it is copied whole, and matches again."""
    import traction.analytics as analytics

    target = config.storage.analytics
    with store.connect(config.storage.database) as con:
        con.execute(
            "INSERT INTO observations SELECT 'huggingface', 'org/m' || (i % 10), 'downloads',"
            " i, TIMESTAMP '2026-01-01' + to_minutes(i * 7), 'r1' FROM range(500) t(i)"
        )
        monkeypatch.setattr(analytics, "PARTITIONS", {**analytics.PARTITIONS, "observations": "1"})
        monkeypatch.setattr(analytics, "LAYOUT", "an older one")
        analytics.refresh(con, target)
        analytics.refresh(con, target)  # both files of the pair, in the old layout
        monkeypatch.undo()
        con.execute("DELETE FROM observations WHERE value < 100")
        con.execute(
            "INSERT INTO observations VALUES ('huggingface', 'org/new', 'downloads', 1,"
            " TIMESTAMP '2026-01-01 03:00', 'r2')"
        )
        analytics.refresh(con, target)
        expected = store.rows(con, "SELECT * FROM observations ORDER BY ALL")
    with duckdb.connect(str(target), read_only=True) as reader:
        assert reader.execute("SELECT * FROM observations ORDER BY ALL").fetchall() == expected


def test_an_appended_copy_equals_the_worker_tables_after_edits_anywhere_in_history(
    tmp_path, config
):
    """A refresh copies again only rows at or after the earliest partition that changed:
    an edit deep in the history (a back-fill, a value corrected in place, retention's
    delete) must still reach the copy, and rows before it must stay as they are."""
    from traction.analytics import TABLES, refresh

    target = config.storage.analytics
    with store.connect(config.storage.database) as con:
        con.execute(  # thirty days of hourly observations
            "INSERT INTO observations SELECT 'huggingface', 'org/m' || (i % 7), 'downloads', i,"
            " TIMESTAMP '2026-01-01' + to_minutes(i * 60), 'r-old' FROM range(720) t(i)"
        )
        con.execute(
            "INSERT INTO daily_values (source, model_id, metric, day, value, observed_at,"
            " first_at, day_number) SELECT 'huggingface', 'org/m', 'downloads',"
            " DATE '2026-01-01' + i::INTEGER, i, TIMESTAMP '2026-01-01' + to_days(i::INTEGER),"
            " TIMESTAMP '2026-01-01' + to_days(i::INTEGER), i FROM range(30) t(i)"
        )
        refresh(con, target)
        refresh(con, target)  # both files of the pair exist: refreshes now append
        edits = [
            "UPDATE observations SET value = -1 WHERE observed_at = TIMESTAMP '2026-01-03 05:00'",
            "DELETE FROM observations WHERE observed_at < TIMESTAMP '2026-01-02'",
            "INSERT INTO observations VALUES ('huggingface', 'org/late', 'downloads', 5,"
            " TIMESTAMP '2026-01-10 10:30', 'r-back')",
            "UPDATE daily_values SET value = 99 WHERE day = DATE '2026-01-05'",
            "INSERT INTO observations VALUES ('huggingface', 'org/new', 'downloads', 1,"
            " TIMESTAMP '2026-02-01', 'r-new')",
        ]
        for edit in edits:
            con.execute(edit)
            refresh(con, target)
        refresh(con, target)  # the other file of the pair catches up on all of them
        expected = {t: store.rows(con, f"SELECT * FROM {t} ORDER BY ALL") for t in TABLES}
    with duckdb.connect(str(target), read_only=True) as reader:
        copied = {t: reader.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}
    assert copied == expected
    assert len(expected["observations"]) == 720 - 24 + 2
