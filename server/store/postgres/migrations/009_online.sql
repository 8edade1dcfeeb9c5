-- 009: the dashboard's online samples (SQLite 017): one row per sample time,
-- and per sample one row per organisation with terminals online (merchant_id
-- '') plus one per merchant that has a merchant user.

CREATE TABLE online_samples (
    ts_ms bigint PRIMARY KEY
);

CREATE TABLE online_counts (
    ts_ms       bigint NOT NULL REFERENCES online_samples (ts_ms) ON DELETE CASCADE,
    org_path    text NOT NULL,
    merchant_id text NOT NULL,
    online      bigint NOT NULL,
    PRIMARY KEY (ts_ms, org_path, merchant_id)
);
