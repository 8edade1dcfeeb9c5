-- 009: the members of a rollout's stages that have not opened yet, kept as a
-- compact plan written at planning and turned into rollout_members rows by the
-- scheduler when their stage opens (docs/rollouts.md, "Planning"). Planning a
-- rollout over 1,000,000 terminals then writes the first stage's rows and a few
-- hundred plan chunks instead of a million rows and their index entries.
--
-- A chunk holds up to 4096 members of one stage in serial order: `members` is
-- one line per member, "SERIAL" or "SERIAL INDEX" where INDEX (1-based) picks
-- the member's previous bundle from `prevs` (bundle ids, one per line). Its
-- members count as pending in rollout_counts from planning on; turning them
-- into rows does not change the counters.

CREATE TABLE rollout_plan (
    rollout INTEGER NOT NULL,
    stage   INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    n       INTEGER NOT NULL,   -- members in the chunk
    first   TEXT NOT NULL,      -- its lowest and highest serial
    last    TEXT NOT NULL,
    prevs   TEXT NOT NULL,
    members TEXT NOT NULL,
    PRIMARY KEY (rollout, stage, seq)
) WITHOUT ROWID;
