-- The requester workspace: who moved a campaign through its lifecycle, and review history.

CREATE TABLE campaign_events (
    campaign_id INTEGER NOT NULL,
    from_status VARCHAR NOT NULL,
    to_status VARCHAR NOT NULL,
    actor_id INTEGER NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    note VARCHAR NOT NULL DEFAULT ''
);

CREATE TABLE review_actions (
    response_id BIGINT NOT NULL,
    reviewer_id INTEGER NOT NULL,
    action VARCHAR NOT NULL,      -- accept | reject
    reason VARCHAR NOT NULL DEFAULT '',
    acted_at TIMESTAMP NOT NULL
);
