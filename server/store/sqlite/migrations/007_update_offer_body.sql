-- 007: the encoded offer is kept with its record, so posfleetd can send the same
-- offer again (same id) when the terminal's birth arrives before a final outcome.

ALTER TABLE update_offers ADD COLUMN body TEXT;
