-- 011: a terminal's provision (and the copies a swap keeps for its undo)
-- comes back in the audit's before/after through the terminal's view, so it
-- must come back byte for byte, key order included: json (text kept as
-- written), like the audit and a repair's snapshot. No query looks inside it.

ALTER TABLE terminals ALTER COLUMN provision TYPE json USING provision::text::json;
ALTER TABLE swaps ALTER COLUMN old_provision TYPE json USING old_provision::text::json;
ALTER TABLE swaps ALTER COLUMN new_provision TYPE json USING new_provision::text::json;
