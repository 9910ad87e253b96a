-- Revolt team sessions (Chang, Amershi, Kamar, CHI 2017): lobby, teams moving through stages
-- together, votes, explanations, concepts, and the requester's mapping of concepts to labels.
-- All coordination lives here, so any page (or process) can re-render from the database alone.

-- A requester's settings for a team campaign; without a row, core derives defaults.
CREATE TABLE revolt_config (
    campaign_id INTEGER PRIMARY KEY,
    pay_vote DECIMAL(12, 2) NOT NULL,
    pay_explain DECIMAL(12, 2) NOT NULL,
    pay_categorize DECIMAL(12, 2) NOT NULL,
    team_cap INTEGER,                              -- most teams one expert may join; NULL: no cap
    excluded_campaigns INTEGER[] NOT NULL DEFAULT [],  -- their participants may not join
    updated_by INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Who is waiting for a team, when their page last polled, and until when they are ready.
CREATE TABLE revolt_lobby (
    campaign_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    joined_at TIMESTAMP NOT NULL,
    last_seen TIMESTAMP NOT NULL,
    ready_at TIMESTAMP,                -- first come, first teamed
    ready_until TIMESTAMP,             -- NULL: not ready; readiness must be renewed before this
    PRIMARY KEY (campaign_id, user_id)
);

CREATE SEQUENCE revolt_teams_id_seq START 1;
CREATE TABLE revolt_teams (
    id INTEGER PRIMARY KEY DEFAULT nextval('revolt_teams_id_seq'),
    campaign_id INTEGER NOT NULL,
    spec_version INTEGER NOT NULL,     -- the form the team votes with
    question_id VARCHAR NOT NULL,      -- its single-choice question: the label
    stage VARCHAR NOT NULL,            -- vote | explain | categorize | done
    version INTEGER NOT NULL,          -- bumped by every stage change: compare-and-swap on it
    size INTEGER NOT NULL,
    formed_at TIMESTAMP NOT NULL,
    stage_started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);

CREATE TABLE revolt_members (
    team_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    campaign_id INTEGER NOT NULL,
    seat INTEGER NOT NULL,             -- 1..size: shown to teammates as Teammate A, B, C
    status VARCHAR NOT NULL,           -- active | dropped (stopped polling) | left (pressed Leave)
    last_seen TIMESTAMP NOT NULL,
    dropped_at TIMESTAMP,
    dropped_stage VARCHAR,
    closed_at TIMESTAMP,               -- the member's session is over for them (survey or notice)
    PRIMARY KEY (team_id, user_id)
);

-- Each item goes to one team at most: batches are disjoint by the primary key.
CREATE TABLE revolt_batch (
    item_id BIGINT PRIMARY KEY,
    team_id INTEGER NOT NULL,
    campaign_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    conflict BOOLEAN                   -- decided once, when Vote ends
);

CREATE TABLE revolt_votes (
    item_id BIGINT NOT NULL,
    user_id INTEGER NOT NULL,
    team_id INTEGER NOT NULL,
    label VARCHAR NOT NULL,
    voted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (item_id, user_id)
);

CREATE TABLE revolt_explanations (
    item_id BIGINT NOT NULL,
    user_id INTEGER NOT NULL,
    team_id INTEGER NOT NULL,
    explanation VARCHAR NOT NULL,
    written_at TIMESTAMP NOT NULL,
    PRIMARY KEY (item_id, user_id)
);

CREATE TABLE revolt_categories (
    item_id BIGINT NOT NULL,
    user_id INTEGER NOT NULL,
    team_id INTEGER NOT NULL,
    concept VARCHAR NOT NULL,          -- as the member wrote or picked it
    concept_key VARCHAR NOT NULL,      -- normalized: what concepts are grouped by
    chosen_at TIMESTAMP NOT NULL,
    PRIMARY KEY (item_id, user_id)
);

-- A member finished a stage, and the pay ledger row that paid for it (exactly once).
CREATE TABLE revolt_stage_done (
    team_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    stage VARCHAR NOT NULL,
    done_at TIMESTAMP NOT NULL,
    amount DECIMAL(12, 2) NOT NULL,
    ledger_id BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id, stage)
);

-- Every stage change with its reason; the key makes a repeated transition impossible.
CREATE TABLE revolt_events (
    team_id INTEGER NOT NULL,
    version INTEGER NOT NULL,          -- the team's version after the change
    campaign_id INTEGER NOT NULL,
    from_stage VARCHAR NOT NULL,       -- lobby for the team's formation
    to_stage VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    happened_at TIMESTAMP NOT NULL,
    PRIMARY KEY (team_id, version)
);

CREATE TABLE revolt_surveys (
    team_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    clarity INTEGER NOT NULL,          -- 1..5: how clear the task was
    teamwork INTEGER NOT NULL,         -- 1..5: how much teammates' explanations helped
    comment VARCHAR NOT NULL DEFAULT '',
    answered_at TIMESTAMP NOT NULL,
    PRIMARY KEY (team_id, user_id)
);

-- The requester's decision for a discovered concept: a label, or the concept as a new label.
CREATE TABLE revolt_concept_labels (
    campaign_id INTEGER NOT NULL,
    concept_key VARCHAR NOT NULL,
    label VARCHAR NOT NULL,
    is_new BOOLEAN NOT NULL,
    mapped_by INTEGER NOT NULL,
    mapped_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, concept_key)
);
