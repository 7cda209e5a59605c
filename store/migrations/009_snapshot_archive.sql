-- Snapshots past `ingest.snapshot_history_days` move to a table of their own.
--
-- Why: DuckDB rewrites a table's last row group, large strings and all, at every
-- CHECKPOINT after a row is added to it, and each closing connection checkpoints. Every
-- published snapshot (a ~200 KB JSON document) sat in one row group, so the publish after
-- N snapshots rewrote N documents: 0.12 s at a month, growing by the day for a year. Now
-- `snapshots` holds the recent ones (retention deletes the rest, so it stays at about a
-- week of publishes) and `snapshot_archive` the day's last of older days, appended once a
-- day by the retention job. `published_snapshots` reads both.
CREATE TABLE IF NOT EXISTS snapshot_archive (
    version      INTEGER PRIMARY KEY,
    run_id       VARCHAR NOT NULL,
    generated_at TIMESTAMP NOT NULL,
    published_at TIMESTAMP NOT NULL,
    content_hash VARCHAR NOT NULL,
    path         VARCHAR NOT NULL,
    body         JSON NOT NULL
);

CREATE OR REPLACE VIEW published_snapshots AS
SELECT * FROM snapshots UNION ALL SELECT * FROM snapshot_archive;
