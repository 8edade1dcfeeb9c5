-- 008: staged rollouts (docs/rollouts.md): the rollout with its definition and
-- progress, its stages, the planned membership (one row per terminal, its stage
-- fixed at planning) and exact counters per stage and member status, kept in the
-- transaction of every member change. Merchants get a region for cohorts.

ALTER TABLE merchants ADD COLUMN region TEXT NOT NULL DEFAULT '';

CREATE TABLE rollouts (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    bundle       TEXT NOT NULL REFERENCES bundles (id),
    kind         TEXT NOT NULL,
    version      TEXT NOT NULL,
    definition   TEXT NOT NULL,              -- JSON, defaults filled in
    state        TEXT NOT NULL CHECK (state IN ('scheduled', 'running', 'paused', 'gated',
                                                'completed', 'aborted', 'rolling_back',
                                                'rolled_back')),
    stage        INTEGER NOT NULL DEFAULT 0, -- the open stage
    start_ms     INTEGER NOT NULL,
    deadline_ms  INTEGER NOT NULL DEFAULT 0, -- 0: none
    pause_reason TEXT,
    pause_detail TEXT,
    pause_by     TEXT,
    pause_ms     INTEGER,
    base         TEXT NOT NULL DEFAULT '{}', -- outcome counts at the last resume (JSON)
    join_ms      INTEGER NOT NULL,           -- registrations after this are not scanned yet
    created_ms   INTEGER NOT NULL,
    updated_ms   INTEGER NOT NULL,
    actor        TEXT NOT NULL
);
CREATE INDEX rollouts_live ON rollouts (state)
    WHERE state IN ('scheduled', 'running', 'paused', 'gated', 'rolling_back');

CREATE TABLE rollout_stages (
    rollout    INTEGER NOT NULL REFERENCES rollouts (id),
    idx        INTEGER NOT NULL,
    size       TEXT NOT NULL,                -- as defined: "10%" or "20"
    target     INTEGER NOT NULL,             -- cumulative members at planning
    soak_s     INTEGER NOT NULL,
    gate       INTEGER NOT NULL,
    opened_ms  INTEGER NOT NULL DEFAULT 0,
    settled_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (rollout, idx)
) WITHOUT ROWID;

CREATE TABLE rollout_members (
    rollout     INTEGER NOT NULL,
    serial      TEXT NOT NULL,
    stage       INTEGER NOT NULL,
    status      TEXT NOT NULL,
    offer       TEXT,                        -- the current offer id
    offered_ms  INTEGER NOT NULL DEFAULT 0,
    since_ms    INTEGER NOT NULL DEFAULT 0,  -- entered the current status
    attempts    INTEGER NOT NULL DEFAULT 0,  -- offers made
    prev_bundle TEXT,                        -- what rollback offers (planning)
    boot        INTEGER,                     -- the terminal's boot counter at success
    code        TEXT,                        -- failure code or reason
    PRIMARY KEY (rollout, serial)
) WITHOUT ROWID;
CREATE INDEX rollout_members_status ON rollout_members (rollout, status, stage);
CREATE INDEX rollout_members_offer ON rollout_members (offer) WHERE offer IS NOT NULL;

-- Counters follow every status (or stage) change of a member; inserts add to
-- them explicitly (planning writes one row per stage rather than a trigger run
-- per member).
CREATE TRIGGER rollout_members_count AFTER UPDATE OF status, stage ON rollout_members
    WHEN OLD.status IS NOT NEW.status OR OLD.stage IS NOT NEW.stage BEGIN
    UPDATE rollout_counts SET n = n - 1
        WHERE rollout = OLD.rollout AND stage = OLD.stage AND status = OLD.status;
    INSERT INTO rollout_counts (rollout, stage, status, n)
        VALUES (NEW.rollout, NEW.stage, NEW.status, 1)
        ON CONFLICT (rollout, stage, status) DO UPDATE SET n = n + 1;
END;

CREATE TABLE rollout_counts (
    rollout INTEGER NOT NULL,
    stage   INTEGER NOT NULL,
    status  TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (rollout, stage, status)
) WITHOUT ROWID;

-- Planner statistics for rollout_members, as ANALYZE would write them for a
-- large fleet (sqlite_stat1: rows, then rows per value of each key prefix).
-- Without them SQLite assumes about ten rows per rollout and walks every member
-- of a rollout through the primary key for a condition like
-- "rollout = ? AND ((status = 'offered' AND ...) OR (status = 'deferred' AND ...))"
-- instead of two status ranges of rollout_members_status: a scan of 1,000,000
-- rows on every scheduler tick. noskipscan: a lookup by serial starts from the
-- live rollouts, not from every rollout id. ANALYZE replaces these with measured
-- ones whenever it runs; analyzing the (index-free) schema table first creates
-- sqlite_stat1, and again after the rows makes this connection load them.
ANALYZE sqlite_schema;
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('rollout_members', 'rollout_members', '1000000 100000 1 noskipscan'),
    ('rollout_members', 'rollout_members_status', '1000000 100000 20000 5000 noskipscan'),
    ('rollout_members', 'rollout_members_offer', '1000 1');
ANALYZE sqlite_schema;
