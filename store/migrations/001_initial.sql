-- Timestamps are naive UTC throughout (TIMESTAMP, not TIMESTAMPTZ), converted at the edges.

CREATE TABLE runs (
    run_id              VARCHAR PRIMARY KEY,
    kind                VARCHAR NOT NULL,      -- ingest | publish
    source              VARCHAR,               -- the source, for ingest runs
    started_at          TIMESTAMP NOT NULL,
    finished_at         TIMESTAMP,
    status              VARCHAR NOT NULL,      -- ok | unchanged | degraded | failed | unreachable
    vintage             VARCHAR,               -- contract vintage seen (WZRD A/B/C, OpenRouter paged/unpaged)
    records_fetched     INTEGER NOT NULL DEFAULT 0,
    records_stored      INTEGER NOT NULL DEFAULT 0,
    records_quarantined INTEGER NOT NULL DEFAULT 0,
    payload_hash        VARCHAR,
    error               VARCHAR
);

-- Long format: one row per (source, model, metric, time). Re-ingesting the same
-- payload hits the primary key and adds nothing.
CREATE TABLE observations (
    source      VARCHAR NOT NULL,
    model_id    VARCHAR NOT NULL,
    metric      VARCHAR NOT NULL,
    value       DOUBLE NOT NULL,
    observed_at TIMESTAMP NOT NULL,
    run_id      VARCHAR NOT NULL,
    PRIMARY KEY (source, model_id, metric, observed_at)
);

-- Exact prices, USD per million tokens; NULL = variable or unknown (OpenRouter "-1").
CREATE TABLE prices (
    source                  VARCHAR NOT NULL,
    model_id                VARCHAR NOT NULL,
    provider                VARCHAR NOT NULL,
    prompt_usd_per_mtok     DECIMAL(38, 18),
    completion_usd_per_mtok DECIMAL(38, 18),
    observed_at             TIMESTAMP NOT NULL,
    run_id                  VARCHAR NOT NULL,
    PRIMARY KEY (source, model_id, provider, observed_at)
);

-- Identity facts (latest per model): what links one source's id to another's.
CREATE TABLE catalog (
    source          VARCHAR NOT NULL,
    model_id        VARCHAR NOT NULL,
    canonical_slug  VARCHAR,
    hugging_face_id VARCHAR,
    display_name    VARCHAR,
    context_length  BIGINT,
    first_seen_at   TIMESTAMP NOT NULL,
    last_seen_at    TIMESTAMP NOT NULL,
    run_id          VARCHAR NOT NULL,
    PRIMARY KEY (source, model_id)
);

CREATE TABLE quarantine (
    run_id         VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,
    record_index   INTEGER NOT NULL,
    model_id       VARCHAR,
    reason         VARCHAR NOT NULL,
    raw            VARCHAR NOT NULL,
    quarantined_at TIMESTAMP NOT NULL
);

-- Every score of every publish attempt, components included, so a rank can be explained.
CREATE TABLE scores (
    run_id      VARCHAR NOT NULL,
    computed_at TIMESTAMP NOT NULL,
    model_key   VARCHAR NOT NULL,
    rank        INTEGER NOT NULL,
    score       DOUBLE NOT NULL,
    confidence  VARCHAR NOT NULL,
    trend       VARCHAR NOT NULL,
    components  JSON NOT NULL,
    PRIMARY KEY (run_id, model_key)
);

CREATE TABLE snapshots (
    version      INTEGER PRIMARY KEY,
    run_id       VARCHAR NOT NULL,
    generated_at TIMESTAMP NOT NULL,
    published_at TIMESTAMP NOT NULL,
    content_hash VARCHAR NOT NULL,
    path         VARCHAR NOT NULL,
    body         JSON NOT NULL
);
