"""The store's own package keeps the databases traction already wrote: migrations keep their
numbers and names (`schema_version` records them), so a database written before the store
became its package opens in place, applies nothing twice and keeps every row."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta

import duckdb
import pytest

import store

# The migrations as traction shipped them in traction/migrations/ when the store moved out:
# a database records these (number, name) pairs, and must find them again.
SHIPPED = [
    (1, "001_initial.sql"),
    (2, "002_archive_and_offers.sql"),
    (3, "003_identity_prices_guards.sql"),
    (4, "004_created_at.sql"),
    (5, "005_presence.sql"),
]
T0 = datetime(2026, 11, 20, 12)
BODY = json.dumps({"version": 1, "models": [{"key": "org/model-a"}]})

# One row per table, as the writers before the move stored them (column lists: the order
# is the migrations', which the store never relies on).
ROWS = {
    "runs": (
        "run_id, kind, source, started_at, finished_at, status, vintage, records_fetched,"
        " records_stored, records_quarantined, payload_hash, error, requests, records_duplicate,"
        " records_ignored, replay_of, origin, quarantine_reasons, note",
        [
            ["r-ingest", "ingest", "openrouter", T0, T0, "ok", "paged", 2, 2, 1, "sha256:p"]
            + [None, 1, 0, 0, None, "fetch", '{"bad price": 1}', None],
            ["r-publish", "publish", None, T0 + timedelta(minutes=1), T0, "ok", None, 0, 1, 0]
            + [None, None, 0, 0, 0, None, None, None, None],
        ],
    ),
    "observations": (
        "source, model_id, metric, value, observed_at, run_id",
        [["huggingface", "org/model-a", "downloads", 1234.0, T0, "r-ingest"]],
    ),
    "prices": (
        "source, model_id, provider, prompt_usd_per_mtok, completion_usd_per_mtok, observed_at,"
        " run_id, discount, context_length, quantization, uptime_last_30m, uptime_last_1d",
        [["openrouter", "org/model-a", "", 0.5, 1.5, T0, "r-ingest", None, 8192, None, None, None]],
    ),
    "price_changes": (
        "source, model_id, provider, changed_at, old_prompt_usd_per_mtok,"
        " new_prompt_usd_per_mtok, old_completion_usd_per_mtok, new_completion_usd_per_mtok,"
        " run_id",
        [["openrouter", "org/model-a", "", T0, 0.4, 0.5, 1.5, 1.5, "r-ingest"]],
    ),
    "catalog": (
        "source, model_id, canonical_slug, hugging_face_id, display_name, context_length,"
        " first_seen_at, last_seen_at, run_id, alias_target, created_at",
        [
            ["openrouter", "org/model-a", "org/model-a-2026", "org/model-a", "Model A", 8192]
            + [T0, T0, "r-ingest", None, T0 - timedelta(days=30)]
        ],
    ),
    "quarantine": (
        "run_id, source, record_index, model_id, reason, raw, quarantined_at",
        [["r-ingest", "openrouter", 1, "org/model-b", "bad price", "{}", T0]],
    ),
    "listings": ("source, scope, observed_at, run_id", [["openrouter", "", T0, "r-ingest"]]),
    "raw_bodies": (
        "content_hash, encoding, body, size",
        [["sha256:b", "gzip", gzip.compress(b'{"data": []}', mtime=0), 12]],
    ),
    "raw_pages": (
        "run_id, seq, source, url, status, headers, content_hash, fetched_at",
        [["r-ingest", 0, "openrouter", "https://up.test/models", 200, "{}", "sha256:b", T0]],
    ),
    "snapshots": (
        "version, run_id, generated_at, published_at, content_hash, path, body",
        [[1, "r-publish", T0, T0, "sha256:s", "snapshot.json", BODY]],
    ),
    "scores": (
        "run_id, computed_at, model_key, rank, score, confidence, trend, components",
        [["r-publish", T0, "org/model-a", 1, 0.9, "high", "rising", "{}"]],
    ),
}


def written_before_the_move(path) -> None:
    """A database as traction wrote it while the migrations lived in traction/migrations/:
    the same statements, recorded in `schema_version` as its `migrate` recorded them."""
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE schema_version "
        "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    sql = {name: text for _, name, text in store.migration_files()}
    for number, name in SHIPPED:
        con.execute(sql[name])
        con.execute("INSERT INTO schema_version VALUES (?, ?, ?)", [number, name, T0])
    for table, (columns, values) in ROWS.items():
        for row in values:
            marks = ", ".join("?" * len(row))
            con.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", row)
    con.close()


def counts(con) -> dict[str, int]:
    return {table: store.scalar(con, f"SELECT count(*) FROM {table}") for table in ROWS}


def test_the_migrations_keep_their_numbers_and_names():
    assert [(n, name) for n, name, _ in store.migration_files()][: len(SHIPPED)] == SHIPPED


def test_a_database_written_before_the_move_opens_in_place_with_its_history(tmp_path):
    database = tmp_path / "traction.duckdb"
    written_before_the_move(database)
    for read_only in (True, False):
        with store.connect(database, read_only=read_only) as con:
            versions = store.rows(con, "SELECT version, name, applied_at FROM schema_version")
            assert sorted(versions)[: len(SHIPPED)] == [(n, name, T0) for n, name in SHIPPED]
            assert counts(con) == {table: len(values) for table, (_, values) in ROWS.items()}
            # and the store's own reads find it
            assert store.last_success(con, "openrouter") == T0
            assert store.last_status(con, "openrouter") == "ok"
            assert store.last_payload_hash(con, "openrouter") == "sha256:p"
            assert store.snapshot_body_at(con, None) == BODY
            assert store.latest_model_keys(con) == {"org/model-a"}
            assert store.archived_pages(con, "r-ingest") == [
                ("https://up.test/models", 200, "{}", b'{"data": []}')
            ]
            assert [p[:3] for p in store.present_prices(con, T0, 3600)] == [
                ("openrouter", "org/model-a", "")
            ]
            assert ("huggingface", "org/model-a") in store.present_ids(con, T0, 3600)
    with store.connect(database) as con:  # a writer goes on where the history ends
        run_id = store.start_run(con, "publish", None, T0 + timedelta(hours=1))
        store.finish_run(con, run_id, "ok", stored=1)
        assert store.scalar(con, "SELECT count(*) FROM runs") == 3
        assert store.last_snapshot_version(con) == 1


def test_scores_of_an_older_database_gain_their_version_and_typed_terms(tmp_path):
    """Migration 006 in place: each stored score row is tied to its snapshot's version and
    its scalar terms are read out of `components`; the next publish stores a model's row
    only if its score changed since that row."""
    database = tmp_path / "traction.duckdb"
    written_before_the_move(database)
    terms = '{"momentum_score": 0.7, "cost_points": 1.5, "blended_usd_per_mtok": null}'
    raw = duckdb.connect(str(database))
    raw.execute("UPDATE scores SET components = ?", [terms])
    raw.close()
    with store.connect(database) as con:
        row = store.rows(
            con,
            "SELECT version, momentum_score, cost_points, blended_usd_per_mtok, agreement"
            " FROM scores WHERE model_key = 'org/model-a'",
        )
        assert row == [(1, 0.7, 1.5, None, None)]
        later = T0 + timedelta(hours=1)
        same = [["org/model-a"], [1], [0.9], ["high"], ["rising"], [terms]]
        assert store.record_scores(con, "r-2", 2, later, *same) == 0
        moved = [["org/model-a", "org/b"], [2, 1], [0.9, 1.0], ["high"] * 2, ["rising"] * 2]
        assert store.record_scores(con, "r-3", 3, later, *moved, [terms] * 2) == 2


def test_a_closed_database_is_free_for_other_processes_and_threads_wait_for_each_other(tmp_path):
    """Opens share one DuckDB instance in a process (the file attached while in use): the
    file must still be released the moment the last user closes it, so a CLI reader in
    another process gets in between two cycles, and a writer thread waits for a reader
    thread instead of failing."""
    import subprocess
    import sys
    import threading
    import time

    database = tmp_path / "traction.duckdb"
    with store.connect(database) as con:
        con.execute("CREATE TABLE t (x INTEGER)")
        con.execute("INSERT INTO t VALUES (1)")
    other = [sys.executable, "-c", f"import duckdb; duckdb.connect({str(database)!r}).close()"]
    assert subprocess.run(other, capture_output=True).returncode == 0  # released, no WAL left
    assert not database.with_name("traction.duckdb.wal").exists()

    opened = threading.Event()
    release = threading.Event()

    def reader() -> None:
        with store.connect(database, read_only=True) as con:
            assert store.scalar(con, "SELECT count(*) FROM t") == 1
            opened.set()
            release.wait(10)

    thread = threading.Thread(target=reader)
    thread.start()
    opened.wait(10)
    with store.connect(database, read_only=True) as con:  # readers share the file
        assert store.scalar(con, "SELECT count(*) FROM t") == 1
    # A writer waits for the reader, then says so.
    with pytest.raises(store.DatabaseBusy), store.connect(database, wait=0.2):
        pass
    threading.Timer(0.3, release.set).start()
    began = time.monotonic()
    with store.connect(database) as con:  # ... and gets in once the reader is done
        con.execute("INSERT INTO t VALUES (2)")
    assert time.monotonic() - began >= 0.2
    thread.join()
    blocked = subprocess.run(other, capture_output=True, text=True)
    assert blocked.returncode == 0, blocked.stderr
    with store.connect(database, read_only=True) as con:
        assert store.scalar(con, "SELECT count(*) FROM t") == 2


def test_a_compaction_that_would_lose_writes_leaves_the_file_and_is_tried_again(config):
    """The rewrite swaps a fresh file in: while another thread of this process has the
    database open (opens share the attached file), it would go on writing to the replaced
    one. Then the file stays as it was, the run says so, and the daemon's next daily job
    tries again."""
    import threading

    from traction.pipeline import vacuum

    database = config.storage.database
    with store.connect(database) as con:
        con.execute("CREATE TABLE t (x INTEGER)")
        con.execute("INSERT INTO t SELECT range FROM range(1000)")
    opened, release = threading.Event(), threading.Event()

    def writer() -> None:
        with store.connect(database):
            opened.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    opened.wait(10)
    inode = database.stat().st_ino
    try:
        done = vacuum(config, compact=True)
    finally:
        release.set()
        thread.join()
    assert done.compacted is None and "did not compact the file" in str(done)
    assert database.stat().st_ino == inode
    assert not list(database.parent.glob(".*.compact*"))
    with store.connect(database, read_only=True) as con:
        runs = store.rows(con, "SELECT status FROM runs WHERE kind = 'compact'")
        assert runs == [("failed",)] and store.last_compaction(con) is None
    assert vacuum(config).compacted is not None  # the daily job: due again, and done
    assert database.stat().st_ino != inode
    with store.connect(database, read_only=True) as con:
        assert store.scalar(con, "SELECT count(*) FROM t") == 1000
