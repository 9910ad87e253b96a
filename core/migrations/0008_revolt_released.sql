-- Items a team gave back when it ended without deciding them (every member went, or the
-- campaign stopped taking work): nobody voted on them, or they conflicted and nobody gave
-- them a concept. Their revolt_batch row moves here, so the item is back in the pool for the
-- next team (revolt_batch keeps one team per item) while the ended team's votes and
-- explanations stay where they are, as history.
CREATE TABLE revolt_released (
    item_id BIGINT NOT NULL,
    team_id INTEGER NOT NULL,          -- the team that gave the item back
    campaign_id INTEGER NOT NULL,
    position INTEGER NOT NULL,         -- as it was in that team's batch
    conflict BOOLEAN,                  -- as that team's Vote decided it (NULL: still voting)
    stage VARCHAR NOT NULL,            -- the stage the team was in when it ended
    cause VARCHAR NOT NULL,            -- nobody left | campaign closed
    released_at TIMESTAMP NOT NULL,
    PRIMARY KEY (team_id, item_id)
);

-- Teams that ended before this migration: give back what they left undecided, as core does.
INSERT INTO revolt_released
SELECT b.item_id, b.team_id, b.campaign_id, b.position, b.conflict, e.from_stage,
       CASE WHEN e.reason LIKE 'The campaign stopped taking work%' THEN 'campaign closed'
            ELSE 'nobody left' END,
       e.happened_at
FROM revolt_batch b
JOIN revolt_teams t ON t.id = b.team_id AND t.stage = 'done'
JOIN revolt_events e ON e.team_id = t.id AND e.to_stage = 'done'
WHERE NOT EXISTS (SELECT 1 FROM revolt_votes v WHERE v.item_id = b.item_id
                  AND v.team_id = b.team_id)
   OR (b.conflict AND NOT EXISTS (SELECT 1 FROM revolt_categories c
                                  WHERE c.item_id = b.item_id AND c.team_id = b.team_id));

DELETE FROM revolt_batch
WHERE EXISTS (SELECT 1 FROM revolt_released r WHERE r.item_id = revolt_batch.item_id
              AND r.team_id = revolt_batch.team_id);
