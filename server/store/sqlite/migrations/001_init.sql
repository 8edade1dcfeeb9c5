-- 001: the walking skeleton's schema: registry, latest state, health
-- history, alerts and the audit log. Times are ms since the Unix epoch.

CREATE TABLE devices (
    serial      TEXT PRIMARY KEY NOT NULL,
    model       TEXT NOT NULL,
    hw_rev      TEXT,
    merchant_id TEXT,
    status      TEXT NOT NULL DEFAULT 'registered'
                CHECK (status IN ('registered', 'revoked')),
    created_ms  INTEGER NOT NULL,
    revoked_ms  INTEGER
) WITHOUT ROWID;
CREATE INDEX devices_model ON devices (model);
CREATE INDEX devices_status ON devices (status);

-- One row per terminal that has ever sent an accepted message.
-- selftest: one digit per component (pf_component order), the pf_check value.
CREATE TABLE device_state (
    serial          TEXT PRIMARY KEY NOT NULL,
    online          INTEGER NOT NULL DEFAULT 0,
    last_seen_ms    INTEGER NOT NULL,
    state_ts_ms     INTEGER,
    fw_version      TEXT,
    fw_slot         INTEGER,
    fee_version     TEXT,
    birth_ts_ms     INTEGER,
    birth_model     TEXT,
    birth_hw_rev    TEXT,
    boot            INTEGER,
    agent_version   TEXT,
    birth_selftest  TEXT,
    health_seq      INTEGER,
    health_ts_ms    INTEGER,
    battery_pct     INTEGER,
    charging        INTEGER,
    net_type        INTEGER,
    signal_dbm      INTEGER,
    temp_c          INTEGER,
    storage_free_kb INTEGER,
    mem_free_kb     INTEGER,
    uptime_s        INTEGER,
    paper           INTEGER,
    tamper          INTEGER,
    selftest        TEXT,
    err_reconnects  INTEGER,
    err_queue_dropped INTEGER,
    err_reader      INTEGER,
    err_printer     INTEGER,
    txn_count       INTEGER,
    txn_amount_minor INTEGER,
    currency        TEXT
) WITHOUT ROWID;
CREATE INDEX device_state_fw ON device_state (fw_version);

CREATE TABLE health (
    id              INTEGER PRIMARY KEY,
    serial          TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    ts_ms           INTEGER NOT NULL,
    recv_ms         INTEGER NOT NULL,
    stored_ms       INTEGER,
    queued          INTEGER NOT NULL,
    battery_pct     INTEGER NOT NULL,
    charging        INTEGER NOT NULL,
    net_type        INTEGER NOT NULL,
    signal_dbm      INTEGER NOT NULL,
    temp_c          INTEGER NOT NULL,
    storage_free_kb INTEGER NOT NULL,
    mem_free_kb     INTEGER NOT NULL,
    uptime_s        INTEGER NOT NULL,
    fw_version      TEXT NOT NULL,
    fw_slot         INTEGER NOT NULL,
    fee_version     TEXT NOT NULL,
    paper           INTEGER NOT NULL,
    tamper          INTEGER NOT NULL,
    selftest        TEXT NOT NULL,
    err_reconnects  INTEGER NOT NULL,
    err_queue_dropped INTEGER NOT NULL,
    err_reader      INTEGER NOT NULL,
    err_printer     INTEGER NOT NULL,
    txn_count       INTEGER NOT NULL,
    txn_amount_minor INTEGER NOT NULL,
    currency        TEXT NOT NULL
);
CREATE INDEX health_serial ON health (serial, id);

CREATE TABLE alerts (
    id        INTEGER PRIMARY KEY,
    serial    TEXT NOT NULL,
    kind      TEXT NOT NULL,
    opened_ms INTEGER NOT NULL,
    closed_ms INTEGER,
    detail    TEXT NOT NULL DEFAULT ''
);
-- At most one open alert per (serial, kind).
CREATE UNIQUE INDEX alerts_open ON alerts (serial, kind) WHERE closed_ms IS NULL;
CREATE INDEX alerts_serial ON alerts (serial, id);

-- Append-only record of every state change made through the API.
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    ts_ms   INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    role    TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    before  TEXT,
    after   TEXT
);
CREATE INDEX audit_target ON audit (target, id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
