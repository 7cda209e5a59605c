"""The store: the DuckDB database every stage shares, its migrations, and all the SQL run
against its tables, one module per concern.

Below `ingest` and `scoring`, above `schemas`: it imports nothing of ours but `schemas`.

- `connection`: open (creating and migrating), transactions, a busy file, small helpers
- `runs`: the `runs` table
- `archive`: the raw archive (`raw_pages`, `raw_bodies`)
- `facts`: observations, prices, price changes, catalog, quarantine, listings and presence
- `snapshots`: published snapshots and their scores
"""

from .archive import Page, archive_pages, archived_pages, prune_archive
from .connection import (
    BUSY_WAIT,
    DatabaseBusy,
    connect,
    insert_many,
    migrate,
    naive_utc,
    rows,
    scalar,
    transaction,
    utcnow,
)
from .facts import (
    CATALOG_UPSERT,
    FULL_LISTS,
    downsample,
    land,
    present_ids,
    present_prices,
    record_listing,
    record_price_changes,
)
from .runs import (
    GOOD_STATUSES,
    close_interrupted,
    finish_run,
    last_payload_hash,
    last_status,
    last_success,
    new_run_id,
    record_run,
    set_stored,
    start_run,
)
from .snapshots import thin_snapshots

__all__ = [
    "BUSY_WAIT",
    "CATALOG_UPSERT",
    "FULL_LISTS",
    "GOOD_STATUSES",
    "DatabaseBusy",
    "Page",
    "archive_pages",
    "archived_pages",
    "close_interrupted",
    "connect",
    "downsample",
    "finish_run",
    "insert_many",
    "land",
    "last_payload_hash",
    "last_status",
    "last_success",
    "migrate",
    "naive_utc",
    "new_run_id",
    "present_ids",
    "present_prices",
    "prune_archive",
    "record_listing",
    "record_price_changes",
    "record_run",
    "rows",
    "scalar",
    "set_stored",
    "start_run",
    "thin_snapshots",
    "transaction",
    "utcnow",
]
