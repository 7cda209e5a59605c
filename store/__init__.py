"""The store: the DuckDB database every stage shares, its migrations, and all the SQL run
against its tables, one module per concern.

Below `ingest` and `scoring`, above `schemas`: it imports nothing of ours but `schemas`.

- `connection`: open (creating and migrating), transactions, a busy file, small helpers
- `runs`: the `runs` table
- `archive`: the raw archive (`raw_pages`, `raw_bodies`)
- `daily`: observations stored on change, captures and daily values (what scoring reads)
- `facts`: landing a run's facts; observations, catalog and quarantine
- `prices`: prices (stored on change) and price changes
- `presence`: listings, presence spans, and what is present at a time
- `snapshots`: published snapshots and their scores
"""

from .archive import (
    Page,
    archive_pages,
    archived_pages,
    latest_page_headers,
    prune_archive,
)
from .connection import (
    BUSY_WAIT,
    DatabaseBusy,
    checkpoint,
    compact,
    connect,
    insert_many,
    migrate,
    migration_files,
    naive_utc,
    rows,
    scalar,
    transaction,
    utcnow,
)
from .daily import (
    daily_until,
    daily_values,
    derive_daily,
    last_days,
    record_observations,
    top_movers,
)
from .facts import (
    CATALOG_UPSERT,
    catalog_links,
    creation_dates,
    downsample,
    land,
    observations_until,
    observed_ids,
    source_totals,
)
from .presence import FULL_LISTS, present_ids, present_prices, record_listing
from .prices import record_price_changes
from .runs import (
    GOOD_STATUSES,
    close_interrupted,
    finish_run,
    ingest_run,
    ingest_totals,
    last_compaction,
    last_payload_hash,
    last_started,
    last_status,
    last_success,
    last_successes,
    latest_ingest_runs,
    new_run_id,
    publish_run_started_at,
    recent_runs,
    record_run,
    requests_since,
    set_note,
    set_stored,
    start_run,
    stored_since_last_publish,
)
from .snapshots import (
    last_snapshot_version,
    latest_model_keys,
    latest_snapshot,
    latest_snapshot_summary,
    record_scores,
    record_snapshot,
    snapshot_body_at,
    snapshot_hash,
    thin_snapshots,
    top_ranked_openrouter_ids,
)

__all__ = [
    "BUSY_WAIT",
    "CATALOG_UPSERT",
    "DatabaseBusy",
    "FULL_LISTS",
    "GOOD_STATUSES",
    "Page",
    "archive_pages",
    "archived_pages",
    "catalog_links",
    "checkpoint",
    "compact",
    "close_interrupted",
    "connect",
    "creation_dates",
    "daily_until",
    "daily_values",
    "derive_daily",
    "downsample",
    "finish_run",
    "ingest_run",
    "ingest_totals",
    "insert_many",
    "land",
    "last_days",
    "last_compaction",
    "last_payload_hash",
    "last_snapshot_version",
    "last_started",
    "last_status",
    "last_success",
    "last_successes",
    "latest_ingest_runs",
    "latest_model_keys",
    "latest_page_headers",
    "latest_snapshot",
    "latest_snapshot_summary",
    "migrate",
    "migration_files",
    "naive_utc",
    "new_run_id",
    "observations_until",
    "observed_ids",
    "present_ids",
    "present_prices",
    "prune_archive",
    "publish_run_started_at",
    "recent_runs",
    "record_listing",
    "record_observations",
    "record_price_changes",
    "record_run",
    "record_scores",
    "record_snapshot",
    "requests_since",
    "rows",
    "scalar",
    "set_note",
    "set_stored",
    "snapshot_body_at",
    "snapshot_hash",
    "source_totals",
    "start_run",
    "stored_since_last_publish",
    "thin_snapshots",
    "top_movers",
    "top_ranked_openrouter_ids",
    "transaction",
    "utcnow",
]
