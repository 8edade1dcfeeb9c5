-- 010: SQLite's 021 (an administrator disables a user: 0 = enabled) and 023
-- (the reason given with a merchant's review, '' when none).

ALTER TABLE users ADD COLUMN disabled_ms bigint NOT NULL DEFAULT 0;
ALTER TABLE merchants ADD COLUMN review_reason text NOT NULL DEFAULT '';
