-- Sign-in the server can end (issue 12): sessions named by a random token whose SHA-256 alone is
-- stored; one-time codes that hand a session to the browser as an HttpOnly cookie; failed
-- sign-ins per account and per client, so throttling survives a restart; accounts an admin
-- disabled, and when each person's sessions were last ended (an identity issued before that,
-- such as a replayed single sign-on, is refused).
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMP;
ALTER TABLE users ADD COLUMN signed_out_at TIMESTAMP;

CREATE TABLE sessions (
    token_hash VARCHAR PRIMARY KEY,   -- hex SHA-256 of the token; the token is never stored
    user_id INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP                -- log out, password change, account disabled
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE session_codes (
    code_hash VARCHAR PRIMARY KEY,    -- hex SHA-256 of a one-time code, good for a minute
    user_id INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);

CREATE TABLE sign_in_failures (
    scope VARCHAR NOT NULL,           -- account | client
    subject VARCHAR NOT NULL,         -- the username typed, or the client's address
    failures INTEGER NOT NULL,
    last_failed_at TIMESTAMP NOT NULL,
    blocked_until TIMESTAMP,
    PRIMARY KEY (scope, subject)
);
