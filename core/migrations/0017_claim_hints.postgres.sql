-- Where a campaign's claims start looking (core/assign.py): every item of the campaign whose id
-- is below low_id has all the answers its campaign's overlap asks for. Claims move it up (a
-- compare-and-swap on version); a rejection or a withdrawal, which gives an item room again,
-- moves it down to that item. A campaign without a row is looked at from its first item.
CREATE TABLE claim_hints (
    campaign_id INTEGER PRIMARY KEY,
    low_id BIGINT NOT NULL,
    version INTEGER NOT NULL
);

-- A campaign's items in id order: a claim's window (an id range of one campaign), the lowest
-- item with room in it, and whether the campaign has items past it, each a short range scan
-- whatever the campaign's size. (Same table as the DuckDB file, plus this index.)
CREATE INDEX items_campaign_order ON items (campaign_id, id);
