-- Indexes PostgreSQL needs at a million items and millions of answers; DuckDB does without them
-- (its zone maps prune row groups of these tables, which are stored in id order). Chosen with
-- EXPLAIN ANALYZE on bench.generate's workspace (see BENCHMARKS.md, issue 11).

-- Claims: a campaign's items below the overlap, most answered first (assign._NEXT_ITEM_SQL reads
-- it in order and stops at the first free item: 150 ms → 1.5 ms); the landing page's counts of
-- items left per campaign read it alone (campaigns.for_expert).
CREATE INDEX items_claim_order ON items (campaign_id, response_count DESC, id);

-- An expert's earnings (profile.totals, pay.history): 125 ms → under 1 ms.
CREATE INDEX pay_ledger_user ON pay_ledger (user_id);

-- The lease an expert already holds in a campaign (assign._claim), once many experts hold one.
CREATE INDEX leases_user ON leases (user_id, campaign_id);
