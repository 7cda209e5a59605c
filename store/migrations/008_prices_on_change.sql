-- Prices stored on change. A capture whose price for an offer (source, model_id, provider)
-- equals the offer's previous stored row stores no row: it moves that row's
-- `confirmed_at` (the last capture that quoted it before it changed) forward. A row is the
-- price quoted from `observed_at` (the first capture that quoted it) through
-- `confirmed_at`; a price that goes A -> B -> A is three rows. Replaying two years of
-- OpenRouter catalogues showed 94 % of rows repeating the previous one.
--
-- Presence no longer reads every capture's price rows: `presence_spans` holds each span an
-- offer was on its source's complete lists (`listings`), maintained at ingest.
ALTER TABLE prices ADD COLUMN IF NOT EXISTS confirmed_at TIMESTAMP;

CREATE TABLE IF NOT EXISTS presence_spans (
    source      VARCHAR NOT NULL,
    scope       VARCHAR NOT NULL,     -- as in `listings`: '' or the endpoints page's model
    model_id    VARCHAR NOT NULL,
    provider    VARCHAR NOT NULL,
    listed_at   TIMESTAMP NOT NULL,   -- the first complete list of the span naming the offer
    delisted_at TIMESTAMP,            -- the first complete list after it not naming it
    PRIMARY KEY (source, model_id, provider, listed_at)
);

-- The spans the lists observed so far, read from the presence view while it still joins
-- every capture's price rows (before the repeated rows go). A database whose spans exist
-- already (this file applied again after an operator rolled schema_version back) keeps them.
INSERT INTO presence_spans
SELECT source, CASE WHEN source = 'openrouter_endpoints' THEN model_id ELSE '' END,
    model_id, provider, listed_at, delisted_at
FROM presence WHERE NOT EXISTS (SELECT 1 FROM presence_spans);

CREATE OR REPLACE VIEW presence AS
SELECT source, model_id, provider, listed_at, delisted_at FROM presence_spans;

-- Every offer each complete list named (quarantined records count: listed, unreadable).
CREATE OR REPLACE VIEW listed AS
SELECT s.source, s.model_id, s.provider, l.observed_at
FROM presence_spans s JOIN listings l ON l.source = s.source AND l.scope = s.scope
    AND l.observed_at >= s.listed_at AND (s.delisted_at IS NULL OR l.observed_at < s.delisted_at);

-- Each run of equal rows of an offer becomes its first row, confirmed at its last.
CREATE TEMP TABLE price_runs AS
SELECT source, model_id, provider, observed_at,
    first_value(observed_at) OVER g AS first_at,
    max(coalesce(confirmed_at, observed_at)) OVER g AS last_at
FROM (
    SELECT *, sum(changed) OVER (PARTITION BY source, model_id, provider ORDER BY observed_at)
        AS grp
    FROM (
        SELECT source, model_id, provider, observed_at, confirmed_at,
            CASE WHEN row_number() OVER w = 1
                OR prompt_usd_per_mtok IS DISTINCT FROM lag(prompt_usd_per_mtok) OVER w
                OR completion_usd_per_mtok IS DISTINCT FROM lag(completion_usd_per_mtok) OVER w
                OR discount IS DISTINCT FROM lag(discount) OVER w
                OR context_length IS DISTINCT FROM lag(context_length) OVER w
                OR quantization IS DISTINCT FROM lag(quantization) OVER w
                OR uptime_last_30m IS DISTINCT FROM lag(uptime_last_30m) OVER w
                OR uptime_last_1d IS DISTINCT FROM lag(uptime_last_1d) OVER w
            THEN 1 ELSE 0 END AS changed
        FROM prices
        WINDOW w AS (PARTITION BY source, model_id, provider ORDER BY observed_at)
    )
)
WINDOW g AS (PARTITION BY source, model_id, provider, grp ORDER BY observed_at
    ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING);

DELETE FROM prices p USING price_runs r
WHERE r.source = p.source AND r.model_id = p.model_id AND r.provider = p.provider
    AND r.observed_at = p.observed_at AND r.observed_at > r.first_at;

UPDATE prices p SET confirmed_at = r.last_at FROM price_runs r
WHERE r.source = p.source AND r.model_id = p.model_id AND r.provider = p.provider
    AND r.observed_at = p.observed_at AND p.confirmed_at IS DISTINCT FROM r.last_at;

DROP TABLE price_runs;
