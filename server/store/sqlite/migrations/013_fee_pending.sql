-- 013: the fee table a terminal holds for a later date, as its birth and health
-- report it (fee_pending: version and effective time, Unix seconds; NULL when
-- none waits or the agent predates the field). `posfleet device` shows it beside
-- the active table and `posfleet summary` groups tables by effective date.
ALTER TABLE device_state ADD COLUMN fee_pending TEXT;
ALTER TABLE device_state ADD COLUMN fee_pending_at INTEGER;
