-- OpenRouter `~...-latest` aliases point at a concrete model that changes over time.
ALTER TABLE catalog ADD COLUMN alias_target VARCHAR;

-- Every detected change of a provider's price, for analysts and for explaining a rank.
CREATE TABLE price_changes (
    source                       VARCHAR NOT NULL,
    model_id                     VARCHAR NOT NULL,
    provider                     VARCHAR NOT NULL,
    changed_at                   TIMESTAMP NOT NULL,
    old_prompt_usd_per_mtok      DECIMAL(38, 18),
    new_prompt_usd_per_mtok      DECIMAL(38, 18),
    old_completion_usd_per_mtok  DECIMAL(38, 18),
    new_completion_usd_per_mtok  DECIMAL(38, 18),
    run_id                       VARCHAR NOT NULL
);

-- Why a publish was refused or forced.
ALTER TABLE runs ADD COLUMN note VARCHAR;
