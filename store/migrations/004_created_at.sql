-- When a source says a model was created (Hugging Face `createdAt`): young models are
-- still filling Hugging Face's rolling 30-day download window (the traction formula's
-- age term).
ALTER TABLE catalog ADD COLUMN created_at TIMESTAMP;
