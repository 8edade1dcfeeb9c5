-- 023: the reason given with a merchant's review (approve or reject), shown
-- on the merchant and kept in its audit row; "" when none was given.
ALTER TABLE merchants ADD COLUMN review_reason TEXT NOT NULL DEFAULT '';
