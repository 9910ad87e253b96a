-- Model-in-the-loop: the registry of OpenAI-compatible models, each request an expert makes of
-- them (a generation) and every call made, kept with the answer it led to.

CREATE SEQUENCE models_id_seq START 1;
CREATE TABLE models (
    id INTEGER PRIMARY KEY DEFAULT nextval('models_id_seq'),
    name VARCHAR NOT NULL UNIQUE,        -- what workflow specs call it
    base_url VARCHAR NOT NULL,           -- e.g. http://localhost:8000/v1
    model VARCHAR NOT NULL,              -- the model id sent to the server
    api_key_env VARCHAR NOT NULL,        -- name of the environment variable with the key; '' = none
    timeout_s DOUBLE NOT NULL,
    max_tokens INTEGER NOT NULL,
    temperature DOUBLE NOT NULL,
    created_by INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- One press of "ask the models" (or the automatic first ask) by an expert on an item.
CREATE SEQUENCE model_generations_id_seq START 1;
CREATE TABLE model_generations (
    id BIGINT PRIMARY KEY DEFAULT nextval('model_generations_id_seq'),
    item_id BIGINT NOT NULL,
    campaign_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    attempt INTEGER NOT NULL,            -- 1, 2, … per item and expert
    prompt VARCHAR NOT NULL,
    models VARCHAR[] NOT NULL,           -- registry names, in slot order (A, B, …)
    created_at TIMESTAMP NOT NULL,
    outcome VARCHAR NOT NULL DEFAULT 'open',  -- open | submitted | superseded | skipped
    response_id BIGINT                   -- the answer it was kept with
);
CREATE INDEX model_generations_user ON model_generations (user_id);

-- Every call to a model: the first one of each slot and every retry.
CREATE SEQUENCE model_calls_id_seq START 1;
CREATE TABLE model_calls (
    id BIGINT PRIMARY KEY DEFAULT nextval('model_calls_id_seq'),
    generation_id BIGINT NOT NULL,
    campaign_id INTEGER NOT NULL,
    item_id BIGINT NOT NULL,
    user_id INTEGER NOT NULL,
    slot VARCHAR NOT NULL,               -- A, B, … as the expert sees them
    model_id INTEGER,                    -- NULL once the registry entry is deleted
    model_name VARCHAR NOT NULL,
    attempt INTEGER NOT NULL,            -- 1 for the first call of the slot, 2+ for retries
    started_at TIMESTAMP NOT NULL,
    latency_ms DOUBLE NOT NULL,
    status VARCHAR NOT NULL,             -- ok | failed
    error_type VARCHAR,                  -- timeout | connection | rate_limited | auth | client_error | server_error | malformed | empty
    http_status INTEGER,
    error_detail VARCHAR,                -- what the server or the network said, cut short
    content VARCHAR,
    prompt_tokens INTEGER,               -- NULL when the server reports no usage
    completion_tokens INTEGER
);
CREATE INDEX model_calls_generation ON model_calls (generation_id);
