-- Daily values maintained at ingest, observations stored on change.
--
-- `captures`: one row per (source, metric, time) a run reported values at. A series counts
-- as captured at each of its source's captures between the first and the last of its own
-- captures that day (`daily_values.first_at` .. `observed_at`): what a repeated capture,
-- which stores no observation, still tells (presence, freshness, an as-of time within a day).
CREATE TABLE IF NOT EXISTS captures (
    source      VARCHAR NOT NULL,
    metric      VARCHAR NOT NULL,
    observed_at TIMESTAMP NOT NULL,
    run_id      VARCHAR NOT NULL,
    PRIMARY KEY (source, metric, observed_at)
);

-- One row per series and day it was captured: the day's last value and its time, the day's
-- first capture, which day of the series it is (1 = its first) and the value of the series'
-- previous day (NULL on its first): what scoring reads, without reading observations.
CREATE TABLE IF NOT EXISTS daily_values (
    source      VARCHAR NOT NULL,
    model_id    VARCHAR NOT NULL,
    metric      VARCHAR NOT NULL,
    day         DATE NOT NULL,
    value       DOUBLE NOT NULL,
    observed_at TIMESTAMP NOT NULL,
    first_at    TIMESTAMP NOT NULL,
    day_number  INTEGER NOT NULL,
    prev_value  DOUBLE,
    PRIMARY KEY (source, model_id, metric, day)
);

INSERT OR IGNORE INTO captures
SELECT source, metric, observed_at, min(run_id) FROM observations GROUP BY ALL;

INSERT OR IGNORE INTO daily_values
SELECT source, model_id, metric, day, value, observed_at, first_at,
    row_number() OVER w, lag(value) OVER w
FROM (
    SELECT source, model_id, metric, observed_at::DATE AS day,
        arg_max(value, observed_at) AS value, max(observed_at) AS observed_at,
        min(observed_at) AS first_at
    FROM observations GROUP BY ALL
)
WINDOW w AS (PARTITION BY source, model_id, metric ORDER BY day);

-- (Re-run on a database that has them, it keeps what is there.)
-- Existing observations are compacted to change points: a row repeating its series'
-- previous value goes (its time stays in `captures` and `daily_values`).
DELETE FROM observations o USING (
    SELECT source, model_id, metric, observed_at FROM (
        SELECT source, model_id, metric, observed_at,
            value = lag(value) OVER (
                PARTITION BY source, model_id, metric ORDER BY observed_at
            ) AS repeated
        FROM observations
    ) WHERE repeated
) r
WHERE o.source = r.source AND o.model_id = r.model_id AND o.metric = r.metric
    AND o.observed_at = r.observed_at;
