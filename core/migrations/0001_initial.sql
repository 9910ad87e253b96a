-- Quorum's first schema: people, what they know, campaigns, items, leases, answers, pay.
-- Times are naive UTC TIMESTAMPs; money is DECIMAL(12, 2).

CREATE TABLE settings (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

CREATE TABLE skills (
    code VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    description VARCHAR NOT NULL
);

CREATE TABLE languages (
    tag VARCHAR PRIMARY KEY,   -- BCP 47, e.g. en-US
    name VARCHAR NOT NULL
);

CREATE SEQUENCE users_id_seq START 1;
CREATE TABLE users (
    id INTEGER PRIMARY KEY DEFAULT nextval('users_id_seq'),
    username VARCHAR NOT NULL UNIQUE,
    name VARCHAR NOT NULL,
    email VARCHAR NOT NULL UNIQUE,
    password_hash VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    is_demo BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL,
    role VARCHAR NOT NULL,     -- expert | requester | admin
    granted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, role)
);

CREATE TABLE expertise (
    user_id INTEGER NOT NULL,
    skill VARCHAR NOT NULL,
    language VARCHAR NOT NULL,
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, skill, language)
);

CREATE SEQUENCE campaigns_id_seq START 1;
CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY DEFAULT nextval('campaigns_id_seq'),
    title VARCHAR NOT NULL,
    description VARCHAR NOT NULL,
    guidelines VARCHAR NOT NULL,          -- markdown
    skill VARCHAR NOT NULL,
    language VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,                -- standard | revolt
    expertise_level VARCHAR NOT NULL,     -- e.g. "Professional"
    expertise_type VARCHAR NOT NULL,      -- e.g. "Python developers"
    minutes_per_item DOUBLE NOT NULL,
    pay_per_item DECIMAL(12, 2) NOT NULL,
    overlap INTEGER NOT NULL,             -- answers wanted per item
    per_expert_cap INTEGER,               -- NULL: no cap
    lease_minutes INTEGER NOT NULL,
    status VARCHAR NOT NULL,              -- draft | live | paused | closed
    opens_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    spec_version INTEGER NOT NULL,        -- the version new answers are given against
    created_by INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE campaign_specs (
    campaign_id INTEGER NOT NULL,
    version INTEGER NOT NULL,
    spec JSON NOT NULL,
    created_by INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, version)
);

CREATE SEQUENCE items_id_seq START 1;
CREATE TABLE items (
    id BIGINT PRIMARY KEY DEFAULT nextval('items_id_seq'),
    campaign_id INTEGER NOT NULL,
    external_id VARCHAR,
    payload JSON NOT NULL,
    gold JSON,
    response_count INTEGER NOT NULL DEFAULT 0,   -- kept by the submitting transaction
    version INTEGER NOT NULL DEFAULT 0,          -- bumped by every claim and submit (see assign.py)
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE leases (
    item_id BIGINT NOT NULL,
    user_id INTEGER NOT NULL,
    campaign_id INTEGER NOT NULL,
    leased_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (item_id, user_id)
);

CREATE TABLE skips (
    item_id BIGINT NOT NULL,
    user_id INTEGER NOT NULL,
    campaign_id INTEGER NOT NULL,
    skipped_at TIMESTAMP NOT NULL,
    PRIMARY KEY (item_id, user_id)
);

CREATE SEQUENCE responses_id_seq START 1;
CREATE TABLE responses (
    id BIGINT PRIMARY KEY DEFAULT nextval('responses_id_seq'),
    item_id BIGINT NOT NULL,
    campaign_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    spec_version INTEGER NOT NULL,
    answer JSON NOT NULL,
    started_at TIMESTAMP NOT NULL,
    submitted_at TIMESTAMP NOT NULL,
    duration_s DOUBLE NOT NULL,
    status VARCHAR NOT NULL DEFAULT 'submitted'   -- submitted | accepted | rejected
);

CREATE SEQUENCE pay_ledger_id_seq START 1;
CREATE TABLE pay_ledger (
    id BIGINT PRIMARY KEY DEFAULT nextval('pay_ledger_id_seq'),
    user_id INTEGER NOT NULL,
    campaign_id INTEGER,
    response_id BIGINT,
    kind VARCHAR NOT NULL,        -- item | bonus | reversal | reward | stage
    amount DECIMAL(12, 2) NOT NULL,
    note VARCHAR NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
