-- 010: rollouts that end honestly (docs/rollouts.md): the state `expired` (the
-- deadline came before every member was reached), and per member the deferrals
-- the terminal reported and when the first came, for the deferral limit. The
-- reason of the last stop (pause, abort, expiry) stays in pause_reason,
-- pause_detail, pause_by and pause_ms.
--
-- SQLite cannot change a CHECK constraint in place: rollouts is copied into a
-- table with the wider one. rollout_stages, the only table whose foreign key
-- names rollouts, is copied first and dropped before it, so no foreign key is
-- ever broken while foreign keys are enforced.

CREATE TABLE rollouts_010 (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    bundle       TEXT NOT NULL REFERENCES bundles (id),
    kind         TEXT NOT NULL,
    version      TEXT NOT NULL,
    definition   TEXT NOT NULL,              -- JSON, defaults filled in
    state        TEXT NOT NULL CHECK (state IN ('scheduled', 'running', 'paused', 'gated',
                                                'completed', 'aborted', 'rolling_back',
                                                'rolled_back', 'expired')),
    stage        INTEGER NOT NULL DEFAULT 0, -- the open stage
    start_ms     INTEGER NOT NULL,
    deadline_ms  INTEGER NOT NULL DEFAULT 0, -- 0: none
    pause_reason TEXT,                       -- the last stop: pause, abort or expiry
    pause_detail TEXT,
    pause_by     TEXT,
    pause_ms     INTEGER,
    base         TEXT NOT NULL DEFAULT '{}', -- outcome counts at the last resume (JSON)
    join_ms      INTEGER NOT NULL,           -- registrations after this are not scanned yet
    created_ms   INTEGER NOT NULL,
    updated_ms   INTEGER NOT NULL,
    actor        TEXT NOT NULL
);
INSERT INTO rollouts_010 SELECT id, name, bundle, kind, version, definition, state, stage,
    start_ms, deadline_ms, pause_reason, pause_detail, pause_by, pause_ms, base, join_ms,
    created_ms, updated_ms, actor FROM rollouts;

CREATE TABLE rollout_stages_010 (
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
INSERT INTO rollout_stages_010 SELECT rollout, idx, size, target, soak_s, gate, opened_ms,
    settled_ms FROM rollout_stages;

DROP TABLE rollout_stages;
DROP TABLE rollouts;
ALTER TABLE rollouts_010 RENAME TO rollouts;
ALTER TABLE rollout_stages_010 RENAME TO rollout_stages;
CREATE INDEX rollouts_live ON rollouts (state)
    WHERE state IN ('scheduled', 'running', 'paused', 'gated', 'rolling_back');

ALTER TABLE rollout_members ADD COLUMN deferrals INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollout_members ADD COLUMN deferred_ms INTEGER NOT NULL DEFAULT 0;
