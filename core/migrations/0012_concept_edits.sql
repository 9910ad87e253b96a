-- Concept review edits on a team campaign: merging synonyms into one concept and splitting a
-- generic one by moving some of its items to another. The edit rewrites the concept key of the
-- categorizations it touches (so final labels follow at once); this table keeps each edit, in
-- order, with the keys before and after and the items moved, so every concept can be traced.
CREATE TABLE revolt_concept_edits (
    campaign_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,               -- 1, 2, … per campaign, in the order of the edits
    action VARCHAR NOT NULL,            -- 'merge' or 'split'
    from_key VARCHAR NOT NULL,
    to_key VARCHAR NOT NULL,
    to_name VARCHAR NOT NULL,           -- the concept's name after the edit
    items INTEGER NOT NULL,             -- categorized items the edit moved
    item_ids VARCHAR NOT NULL,          -- their ids, comma-separated
    label_moved VARCHAR,                -- a label mapping carried over by a merge, if any
    edited_by INTEGER NOT NULL,
    edited_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, seq)
);
