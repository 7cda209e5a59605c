-- Presence: what a full-list source listed at each complete observation. A model, variant
-- or provider offer that a complete list leaves out is delisted then; it returns when a
-- later list names it again. Only full-list sources record lists: OpenRouter's /models
-- (scope ''), each model's OpenRouter endpoints (scope = that model: its providers) and
-- LiteLLM's price map (scope ''). A failed, partial (degraded) or empty run records none,
-- so it can never delist anything.
CREATE TABLE listings (
    source      VARCHAR NOT NULL,
    scope       VARCHAR NOT NULL,
    observed_at TIMESTAMP NOT NULL,
    run_id      VARCHAR NOT NULL,
    PRIMARY KEY (source, scope, observed_at)
);

-- The lists earlier good runs observed (a run's facts carry its start time).
INSERT OR IGNORE INTO listings
SELECT DISTINCT r.source, '', r.started_at, r.run_id FROM runs r
WHERE r.kind = 'ingest' AND r.status = 'ok' AND r.source IN ('openrouter', 'litellm_prices')
  AND EXISTS (SELECT 1 FROM prices p WHERE p.source = r.source AND p.observed_at = r.started_at);
INSERT OR IGNORE INTO listings
SELECT DISTINCT r.source, p.model_id, r.started_at, r.run_id FROM runs r
JOIN prices p ON p.source = r.source AND p.observed_at = r.started_at
WHERE r.kind = 'ingest' AND r.status = 'ok' AND r.source = 'openrouter_endpoints'
  AND r.records_quarantined = 0;

-- Every offer each complete list named: its price rows observed then, and (for a
-- catalogue-wide list) the offers of models it named in records that failed their
-- contract checks (quarantined ids are listed, only unreadable).
CREATE VIEW listed AS
SELECT p.source, p.model_id, p.provider, l.observed_at
FROM listings l JOIN prices p ON p.source = l.source AND p.observed_at = l.observed_at
    AND (l.scope = '' OR p.model_id = l.scope)
UNION
SELECT DISTINCT p.source, p.model_id, p.provider, l.observed_at
FROM listings l
JOIN quarantine q ON q.run_id = l.run_id AND q.source = l.source AND l.scope = ''
JOIN prices p ON p.source = l.source AND p.model_id = q.model_id AND p.observed_at < l.observed_at;

-- One row per span an offer was listed: listed_at, the first complete list naming it;
-- delisted_at, the first complete list after it that did not (NULL: still listed).
CREATE VIEW presence AS
WITH lists AS (
    SELECT source, scope, observed_at,
        row_number() OVER (PARTITION BY source, scope ORDER BY observed_at) AS n
    FROM listings
),
members AS (
    SELECT m.source, m.model_id, m.provider, l.scope, l.observed_at, l.n,
        l.n - row_number() OVER (
            PARTITION BY m.source, m.model_id, m.provider, l.scope ORDER BY l.n
        ) AS span
    FROM listed m JOIN lists l ON l.source = m.source AND l.observed_at = m.observed_at
        AND (l.scope = '' OR l.scope = m.model_id)
),
spans AS (
    SELECT source, model_id, provider, scope, min(observed_at) AS listed_at, max(n) AS last_n
    FROM members GROUP BY source, model_id, provider, scope, span
)
SELECT s.source, s.model_id, s.provider, s.listed_at, d.observed_at AS delisted_at
FROM spans s LEFT JOIN lists d
    ON d.source = s.source AND d.scope = s.scope AND d.n = s.last_n + 1;
