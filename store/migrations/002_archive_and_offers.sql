-- Raw archive: every fetched body, compressed, stored once per distinct content.
CREATE TABLE raw_bodies (
    content_hash VARCHAR PRIMARY KEY,
    encoding     VARCHAR NOT NULL,        -- gzip
    body         BLOB NOT NULL,
    size         BIGINT NOT NULL          -- uncompressed bytes
);

CREATE TABLE raw_pages (
    run_id       VARCHAR NOT NULL,
    seq          INTEGER NOT NULL,
    source       VARCHAR NOT NULL,
    url          VARCHAR NOT NULL,
    status       INTEGER NOT NULL,
    headers      JSON NOT NULL,           -- authorization and cookies redacted
    content_hash VARCHAR NOT NULL,
    fetched_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (run_id, seq)
);

ALTER TABLE runs ADD COLUMN requests INTEGER DEFAULT 0;
ALTER TABLE runs ADD COLUMN records_duplicate INTEGER DEFAULT 0;
ALTER TABLE runs ADD COLUMN records_ignored INTEGER DEFAULT 0;
ALTER TABLE runs ADD COLUMN replay_of VARCHAR;
ALTER TABLE runs ADD COLUMN origin VARCHAR;   -- fetch | file | replay
ALTER TABLE runs ADD COLUMN quarantine_reasons JSON;

-- Per-provider offers (OpenRouter endpoints): what else a price row can say.
ALTER TABLE prices ADD COLUMN discount DOUBLE;
ALTER TABLE prices ADD COLUMN context_length BIGINT;
ALTER TABLE prices ADD COLUMN quantization VARCHAR;
ALTER TABLE prices ADD COLUMN uptime_last_30m DOUBLE;
ALTER TABLE prices ADD COLUMN uptime_last_1d DOUBLE;
