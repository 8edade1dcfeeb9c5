-- 018: an admin disables a user (`posfleet user disable`) instead of deleting
-- it, so its audit rows keep naming someone: disabled_ms is when (0: enabled).
-- A disabled user cannot log in, and its sessions and API tokens stop working
-- at once (the queries that find them read this column).
ALTER TABLE users ADD COLUMN disabled_ms INTEGER NOT NULL DEFAULT 0;
