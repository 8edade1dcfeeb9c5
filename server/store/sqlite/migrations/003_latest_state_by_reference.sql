-- 003: the latest state refers to its health row instead of copying it, and
-- the last birth moves to its own table. A report then rewrites a narrow
-- device_state row (serial, online, times, versions, health_id), which keeps
-- the pages each ingest batch dirties, and so its commit, small.

CREATE TABLE device_birth (
    serial        TEXT PRIMARY KEY NOT NULL,
    ts_ms         INTEGER NOT NULL,
    model         TEXT,
    hw_rev        TEXT,
    fw_version    TEXT,
    fw_slot       INTEGER,
    fee_version   TEXT,
    boot          INTEGER,
    agent_version TEXT,
    selftest      TEXT
) WITHOUT ROWID;

INSERT INTO device_birth
    SELECT serial, birth_ts_ms, birth_model, birth_hw_rev, fw_version, fw_slot, fee_version,
           boot, agent_version, birth_selftest
    FROM device_state WHERE birth_ts_ms IS NOT NULL;

CREATE TABLE device_state_new (
    serial       TEXT PRIMARY KEY NOT NULL,
    online       INTEGER NOT NULL DEFAULT 0,
    last_seen_ms INTEGER NOT NULL,
    state_ts_ms  INTEGER,
    fw_version   TEXT,
    fw_slot      INTEGER,
    fee_version  TEXT,
    health_id    INTEGER, -- health.id of the newest report (by seq, or ts after a reset)
    health_seq   INTEGER,
    health_ts_ms INTEGER
) WITHOUT ROWID;

INSERT INTO device_state_new
    SELECT s.serial, s.online, s.last_seen_ms, s.state_ts_ms, s.fw_version, s.fw_slot,
           s.fee_version,
           (SELECT max(h.id) FROM health h WHERE h.serial = s.serial AND h.seq = s.health_seq
                                             AND h.ts_ms = s.health_ts_ms),
           s.health_seq, s.health_ts_ms
    FROM device_state s;

DROP TABLE device_state;
ALTER TABLE device_state_new RENAME TO device_state;
CREATE INDEX device_state_fw ON device_state (fw_version);
