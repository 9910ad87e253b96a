-- The HTTP API: personal access tokens, webhook registrations and their outbox.

-- A token is shown once; only its SHA-256 is kept (tokens are 32 random bytes, so a fast hash
-- is enough). `prefix` is the first characters, shown to tell tokens apart.
CREATE SEQUENCE api_tokens_id_seq START 1;
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY DEFAULT nextval('api_tokens_id_seq'),
    user_id INTEGER NOT NULL,
    name VARCHAR NOT NULL,
    token_hash VARCHAR NOT NULL UNIQUE,
    prefix VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- A receiver a requester registered on a campaign, for some events. The signing secret is kept
-- (the worker signs with it) and shown to the requester once, when made or rotated.
CREATE SEQUENCE webhooks_id_seq START 1;
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY DEFAULT nextval('webhooks_id_seq'),
    campaign_id INTEGER NOT NULL,
    url VARCHAR NOT NULL,
    events VARCHAR[] NOT NULL,
    secret VARCHAR NOT NULL,
    created_by INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    rotated_at TIMESTAMP,
    deleted_at TIMESTAMP
);
CREATE INDEX webhooks_campaign ON webhooks (campaign_id);

-- One row per event and receiver (its webhook-id header, on which receivers deduplicate, is
-- msg_<id>), written in the transaction of the event itself; the worker
-- delivers it, retrying with backoff, and leases it while it does (so replicas never send one
-- row twice at once, and a dead worker's lease runs out).
CREATE SEQUENCE webhook_outbox_id_seq START 1;
CREATE TABLE webhook_outbox (
    id BIGINT PRIMARY KEY DEFAULT nextval('webhook_outbox_id_seq'),
    webhook_id INTEGER NOT NULL,
    campaign_id INTEGER NOT NULL,
    event VARCHAR NOT NULL,
    payload VARCHAR NOT NULL,            -- the JSON body, exactly as signed
    created_at TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL DEFAULT 'pending',  -- pending | delivered | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    leased_by VARCHAR,
    lease_until TIMESTAMP,
    last_status INTEGER,                 -- the receiver's last HTTP status, if it answered
    last_error VARCHAR,                  -- Quorum's own words (timeout, connection), never the body
    last_attempt_at TIMESTAMP,
    delivered_at TIMESTAMP
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (status, next_attempt_at);
CREATE INDEX webhook_outbox_campaign ON webhook_outbox (campaign_id);
