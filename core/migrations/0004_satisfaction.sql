-- The in-app satisfaction survey, and when an expert waved it away.

CREATE SEQUENCE surveys_id_seq START 1;
CREATE TABLE surveys (
    id BIGINT PRIMARY KEY DEFAULT nextval('surveys_id_seq'),
    user_id INTEGER NOT NULL,
    score INTEGER NOT NULL,          -- 1 (very unhappy) to 5 (very happy)
    comment VARCHAR NOT NULL DEFAULT '',
    answered_at TIMESTAMP NOT NULL
);

CREATE TABLE survey_dismissals (
    user_id INTEGER NOT NULL,
    dismissed_at TIMESTAMP NOT NULL
);
