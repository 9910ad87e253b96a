-- Where a campaign's claims start looking (core/assign.py): every item of the campaign whose id
-- is below low_id has all the answers its campaign's overlap asks for. Claims move it up (a
-- compare-and-swap on version); a rejection or a withdrawal, which gives an item room again,
-- moves it down to that item. A campaign without a row is looked at from its first item.
-- (DuckDB needs no index for it: its zone maps prune an id range.)
CREATE TABLE claim_hints (
    campaign_id INTEGER PRIMARY KEY,
    low_id BIGINT NOT NULL,
    version INTEGER NOT NULL
);
