-- Scores are stored when they change: a model's row only when its rank, score, confidence
-- or trend differs from its previous stored row (the snapshot holds every model at every
-- publish; a model's score in snapshot V is its row with the greatest version <= V). The
-- terms that are scalars get typed columns; `components` keeps the model as published.
ALTER TABLE scores ADD COLUMN IF NOT EXISTS version INTEGER;
ALTER TABLE scores ADD COLUMN IF NOT EXISTS momentum_score DOUBLE;
ALTER TABLE scores ADD COLUMN IF NOT EXISTS cost_points DOUBLE;
ALTER TABLE scores ADD COLUMN IF NOT EXISTS blended_usd_per_mtok DOUBLE;
ALTER TABLE scores ADD COLUMN IF NOT EXISTS agreement DOUBLE;
ALTER TABLE scores ADD COLUMN IF NOT EXISTS confidence_weight DOUBLE;
UPDATE scores SET
    version = (SELECT p.version FROM snapshots p WHERE p.run_id = scores.run_id),
    momentum_score = TRY_CAST(components ->> '$.momentum_score' AS DOUBLE),
    cost_points = TRY_CAST(components ->> '$.cost_points' AS DOUBLE),
    blended_usd_per_mtok = TRY_CAST(components ->> '$.blended_usd_per_mtok' AS DOUBLE),
    agreement = TRY_CAST(components ->> '$.agreement' AS DOUBLE),
    confidence_weight = TRY_CAST(components ->> '$.confidence_weight' AS DOUBLE);
