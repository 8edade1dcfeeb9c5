-- 017: the dashboard's "online terminals over the last 24 h". posfleetd counts
-- the online terminals every store.online_sample_s seconds (docs/server.md)
-- and keeps 25 hours of samples. One row per sample time in online_samples
-- (so a scope with nothing online still reads 0, not a gap), and the counts in
-- online_counts: one row per organisation with terminals online (merchant_id
-- '': every terminal of that organisation's merchants; terminals in stock count
-- under headquarters, '/1/'), plus one row per merchant that has a merchant
-- user (merchant users see their own merchant's line). A scope's count at a
-- sample is the sum of the organisation rows under its path, or its merchant's
-- row: the same rule as every scoped read (docs/security.md).
CREATE TABLE online_samples (
    ts_ms INTEGER PRIMARY KEY
);
CREATE TABLE online_counts (
    ts_ms       INTEGER NOT NULL REFERENCES online_samples (ts_ms) ON DELETE CASCADE,
    org_path    TEXT NOT NULL,
    merchant_id TEXT NOT NULL,  -- '' for the organisation's own row
    online      INTEGER NOT NULL,
    PRIMARY KEY (ts_ms, org_path, merchant_id)
) WITHOUT ROWID;
