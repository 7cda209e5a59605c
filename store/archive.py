"""The raw archive: `raw_pages` (one row per fetched page) and `raw_bodies` (each
distinct body once, gzip-compressed)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Protocol

import duckdb

from .connection import insert_many, naive_utc, rows, scalar, transaction, utcnow


class Page(Protocol):
    """What the archive keeps of a fetched page (`ingest.http.Fetched` is one)."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    fetched_at: datetime

    @property
    def content_hash(self) -> str: ...


def archive_pages(
    con: duckdb.DuckDBPyConnection, run_id: str, source: str, pages: list[Page]
) -> None:
    """Keep every fetched body, gzip-compressed, once per distinct content. Two statements
    for the whole run (not two a page: a 20-page listing paid 40 round trips), and a body
    already archived is not compressed again (most hourly pages repeat an earlier one)."""
    if not pages:
        return
    digests = list(dict.fromkeys(page.content_hash for page in pages))
    stored = "SELECT content_hash FROM raw_bodies WHERE list_contains(?, content_hash)"
    known = {row[0] for row in rows(con, stored, [digests])}
    bodies = {}
    for page in pages:
        digest = page.content_hash
        if digest not in known and digest not in bodies:
            bodies[digest] = [digest, "gzip", gzip.compress(page.body, mtime=0), len(page.body)]
    insert_many(con, "INSERT OR IGNORE INTO raw_bodies VALUES", list(bodies.values()))
    insert_many(
        con,
        "INSERT INTO raw_pages VALUES",
        [
            [
                run_id,
                seq,
                source,
                page.url,
                page.status,
                json.dumps(page.headers),
                page.content_hash,
                naive_utc(page.fetched_at),
            ]
            for seq, page in enumerate(pages)
        ],
    )


def archived_pages(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple]:
    """(url, status, headers JSON, body bytes) of a run's pages, in fetch order."""
    found = rows(
        con,
        "SELECT p.url, p.status, p.headers, b.body FROM raw_pages p"
        " JOIN raw_bodies b USING (content_hash) WHERE p.run_id = ? ORDER BY p.seq",
        [run_id],
    )
    return [(url, status, headers, gzip.decompress(body)) for url, status, headers, body in found]


def prune_archive(con: duckdb.DuckDBPyConnection, retention_days: int) -> int:
    """Drop archived pages past retention, then bodies no page refers to any more."""
    cutoff = utcnow() - timedelta(days=retention_days)
    with transaction(con):
        dropped = scalar(con, "SELECT count(*) FROM raw_pages WHERE fetched_at < ?", [cutoff])
        con.execute("DELETE FROM raw_pages WHERE fetched_at < ?", [cutoff])
        con.execute(
            "DELETE FROM raw_bodies WHERE content_hash NOT IN"
            " (SELECT DISTINCT content_hash FROM raw_pages)"
        )
    return dropped or 0


def latest_page_headers(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple[str, str]]:
    """(url, headers JSON) of the last archived page of each URL the source fetched."""
    return rows(
        con,
        "SELECT url, headers FROM raw_pages WHERE source = ?"
        " QUALIFY row_number() OVER (PARTITION BY url ORDER BY fetched_at DESC) = 1",
        [source],
    )
