-- Quality is computed by a background worker, not while a page waits. One row per campaign:
-- the fingerprint of the answers and reviews the stored results were computed from, and the
-- lease of the worker computing it now (so two processes never compute one campaign at once).
CREATE TABLE quality_jobs (
    campaign_id INTEGER PRIMARY KEY,
    fingerprint VARCHAR,              -- answers and reviews counted when the last run began
    computed_at TIMESTAMP,            -- when the last run finished
    seconds DOUBLE,                   -- how long it took
    leased_by VARCHAR,                -- the worker computing it now, if any
    lease_until TIMESTAMP
);
