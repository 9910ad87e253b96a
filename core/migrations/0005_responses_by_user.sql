-- Point look-ups of one expert's answers (claim, submit, caps) at millions of answers.
-- DuckDB uses it when user_id = ? is the query's only filter; see assign.answered_in.
CREATE INDEX responses_user ON responses (user_id);
