-- Experts edit or withdraw their recent answers, and flag items instead of answering them.

-- How long after submitting an expert may still edit or withdraw an unreviewed answer, and how
-- many open flags pause an item until its requester decides.
ALTER TABLE campaigns ADD COLUMN edit_minutes INTEGER NOT NULL DEFAULT 30;
ALTER TABLE campaigns ADD COLUMN flag_limit INTEGER NOT NULL DEFAULT 2;

-- NULL: handed out as usual; 'paused': enough open flags, held back until the requester decides;
-- 'removed': taken out of the campaign by the requester (its answers stay, it is never handed out).
ALTER TABLE items ADD COLUMN flag_state VARCHAR;

-- Earlier versions of an answer: one row each time an answer is edited (the version replaced)
-- or withdrawn (the last version, the answer row itself being deleted). An answer's current
-- version is one more than its rows here. (DuckDB cannot add columns to `responses`, which has
-- an index, so an edit's time and number live here.)
CREATE TABLE answer_versions (
    response_id BIGINT NOT NULL,
    version INTEGER NOT NULL,             -- 1 for the first answer given
    item_id BIGINT NOT NULL,
    campaign_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    spec_version INTEGER NOT NULL,
    answer JSON NOT NULL,
    submitted_at TIMESTAMP NOT NULL,      -- when this version was given
    replaced_at TIMESTAMP NOT NULL,       -- when it was edited or withdrawn
    change VARCHAR NOT NULL,              -- edit | withdraw
    PRIMARY KEY (response_id, version)
);

-- "Something is wrong with this item": one flag per expert and item, open until resolved.
CREATE TABLE item_flags (
    item_id BIGINT NOT NULL,
    user_id INTEGER NOT NULL,
    campaign_id INTEGER NOT NULL,
    reason VARCHAR NOT NULL,              -- one of core.flags.REASONS
    note VARCHAR NOT NULL DEFAULT '',
    flagged_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,                -- NULL while open
    resolution VARCHAR,                   -- restored | removed
    resolved_by INTEGER,
    PRIMARY KEY (item_id, user_id)
);
