-- 016: what a swap changed, so that a mistaken one can be undone in one
-- command (`posfleet swap undo OLD NEW`, docs/support.md). A swap writes one
-- row: the two terminals' states before, OLD's binding time and provision,
-- NEW's tags and provision (the swap overwrites them), the repair it opened
-- (repair_opened = 1) or the tamper repair it joined (0), and the ids of the
-- two history lines it wrote, after which nothing may have happened for an
-- undo to be safe. The undo stamps undone_ms and its reason. Swaps made before
-- this migration have no row and cannot be undone.
CREATE TABLE swaps (
    id            INTEGER PRIMARY KEY,
    old_serial    TEXT NOT NULL,
    new_serial    TEXT NOT NULL,
    ts_ms         INTEGER NOT NULL,
    old_state     TEXT NOT NULL,
    old_bound_ms  INTEGER,
    old_provision TEXT,
    new_state     TEXT NOT NULL,
    new_tags      TEXT NOT NULL DEFAULT '[]',
    new_provision TEXT,
    repair_id     INTEGER NOT NULL,
    repair_opened INTEGER NOT NULL,
    old_event_id  INTEGER NOT NULL,
    new_event_id  INTEGER NOT NULL,
    undone_ms     INTEGER,
    undo_reason   TEXT
);
CREATE INDEX swaps_pair ON swaps (old_serial, new_serial, id);
