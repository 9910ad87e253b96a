-- Work per day, campaign and expert, kept by submit, review and every pay row's writer in their
-- own transactions (core/rollups.py), so that the leaderboard and the impact dashboard sum tens
-- of thousands of rows instead of millions of answers (BENCHMARKS.md, issue 11). Filled here
-- from the answers and the ledger already stored. (Same as the DuckDB file, plus an index.)
CREATE TABLE work_rollup (
    day DATE NOT NULL,
    campaign_id INTEGER NOT NULL,         -- 0 for pay rows without a campaign
    user_id INTEGER NOT NULL,
    answers INTEGER NOT NULL,             -- submitted that day, whatever their status now
    kept INTEGER NOT NULL,                -- not rejected
    counted INTEGER NOT NULL,             -- the leaderboard's: accepted, or submitted in time
    accepted INTEGER NOT NULL,
    seconds DOUBLE NOT NULL,              -- time spent on the day's answers
    pay DECIMAL(14, 2) NOT NULL,          -- pay rows written that day (reversals negative)
    -- (day, campaign, expert) as one number, which DuckDB finds by its index (it scans for a
    -- key of three columns): days since 1970 × 10^12 + campaign × 10^7 + expert
    k BIGINT PRIMARY KEY
);

INSERT INTO work_rollup (day, campaign_id, user_id, answers, kept, counted, accepted, seconds, pay,
                         k)
SELECT day, campaign_id, user_id, sum(answers)::INTEGER, sum(kept)::INTEGER,
       sum(counted)::INTEGER, sum(accepted)::INTEGER, sum(seconds)::DOUBLE,
       sum(pay)::DECIMAL(14, 2),
       (day - DATE '1970-01-01')::BIGINT * 1000000000000 + campaign_id::BIGINT * 10000000 + user_id
FROM (
    SELECT submitted_at::DATE AS day, campaign_id, user_id, count(*) AS answers,
           count(*) FILTER (WHERE status <> 'rejected') AS kept,
           count(*) FILTER (WHERE status = 'accepted'
                               OR (status = 'submitted' AND NOT too_fast)) AS counted,
           count(*) FILTER (WHERE status = 'accepted') AS accepted,
           sum(duration_s) AS seconds, 0 AS pay
    FROM responses GROUP BY 1, 2, 3
    UNION ALL
    SELECT created_at::DATE, coalesce(campaign_id, 0), user_id, 0, 0, 0, 0, 0, sum(amount)
    FROM pay_ledger GROUP BY 1, 2, 3
) AS parts
GROUP BY 1, 2, 3;

-- The leaderboard's week and month start mid-day: the rollup gives the whole days, and this
-- index the answers of the first, partial day (an index-only scan of about a day of answers).
-- DuckDB scans those columns fast without it.
CREATE INDEX responses_submitted ON responses (submitted_at)
    INCLUDE (user_id, campaign_id, status, too_fast);
