-- Quality, pay rules, leaderboard and challenges.

ALTER TABLE campaigns ADD COLUMN gold_rate DOUBLE NOT NULL DEFAULT 0;  -- share of tasks drawn from gold items
ALTER TABLE campaigns ADD COLUMN bonus_min_quality DOUBLE;              -- NULL: no quality bonus
ALTER TABLE campaigns ADD COLUMN bonus_per_item DECIMAL(12, 2) NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN challenge_rewards DECIMAL(12, 2)[] NOT NULL DEFAULT [];  -- rank 1..N

ALTER TABLE users ADD COLUMN leaderboard_opt_out BOOLEAN NOT NULL DEFAULT false;

-- Answers given well under the expected time earn no leaderboard points until reviewed.
ALTER TABLE responses ADD COLUMN too_fast BOOLEAN NOT NULL DEFAULT false;

-- Per expert per campaign, recomputed from the answers (see quality.refresh).
CREATE TABLE expert_quality (
    campaign_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    gold_answers INTEGER NOT NULL,
    gold_correct INTEGER NOT NULL,
    consensus_answers INTEGER NOT NULL,
    consensus_agreed INTEGER NOT NULL,
    score DOUBLE,                          -- NULL until there is something to check against
    computed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, user_id)
);

-- The aggregated label of each item for the campaign's first choice or rating question.
CREATE TABLE item_labels (
    item_id BIGINT PRIMARY KEY,
    campaign_id INTEGER NOT NULL,
    question_id VARCHAR NOT NULL,
    majority_label VARCHAR,                -- NULL on a tie
    majority_share DOUBLE NOT NULL,
    ds_label VARCHAR,                      -- Dawid-Skene; NULL on a tie
    ds_confidence DOUBLE NOT NULL,
    answers INTEGER NOT NULL,
    computed_at TIMESTAMP NOT NULL
);

CREATE TABLE campaign_agreement (
    campaign_id INTEGER NOT NULL,
    question_id VARCHAR NOT NULL,
    level VARCHAR NOT NULL,
    alpha DOUBLE,
    units INTEGER NOT NULL,
    computed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, question_id)
);

-- One row per kind of close-time payout, so closing can never pay twice.
CREATE TABLE campaign_payouts (
    campaign_id INTEGER NOT NULL,
    kind VARCHAR NOT NULL,                 -- bonus | challenge
    paid_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, kind)
);
