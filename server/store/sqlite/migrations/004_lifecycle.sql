-- 004: merchants, the terminal lifecycle, repair records (RMA), the terminal
-- history, and references that make the audit log searchable by terminal and
-- merchant. docs/support.md explains the states; server/lifecycle.c and
-- server/repair.c hold the allowed transitions.

CREATE TABLE merchants (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    uscc          TEXT NOT NULL UNIQUE,  -- unified social credit code (GB 32100-2015)
    mcc           TEXT NOT NULL,
    address       TEXT NOT NULL,
    contact_name  TEXT NOT NULL,
    contact_phone TEXT NOT NULL,
    tz            TEXT NOT NULL,         -- IANA time zone of the maintenance window
    settlement    TEXT NOT NULL CHECK (settlement IN ('T0', 'T1')),
    fee_plan      TEXT NOT NULL,         -- JSON array of fee-table bundle ids or versions
    status        TEXT NOT NULL CHECK (status IN ('applied', 'approved', 'rejected', 'active',
                                                  'suspended', 'closed')),
    created_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX merchants_status ON merchants (status, id);

-- The lifecycle of a registered terminal. No row means in_stock (or retired
-- when the registry says revoked).
CREATE TABLE terminals (
    serial        TEXT PRIMARY KEY NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('in_stock', 'installed', 'active', 'locked',
                                                 'in_repair', 'retired')),
    merchant_id   TEXT REFERENCES merchants (id),
    fee_plan      TEXT,                  -- the merchant's plan at binding (kept in step)
    tz            TEXT,                  -- the merchant's time zone (maintenance window)
    tags          TEXT NOT NULL DEFAULT '[]',
    bound_ms      INTEGER,
    updated_ms    INTEGER NOT NULL,
    lock_want     INTEGER NOT NULL DEFAULT 0,  -- 1: the terminal must be locked
    lock_cmd      TEXT,                  -- id of the newest lock/unlock command
    lock_acked    INTEGER NOT NULL DEFAULT 1,  -- the terminal confirmed lock_cmd
    lock_reason   TEXT,
    provision     TEXT                   -- JSON intent for the first connection (after a swap)
) WITHOUT ROWID;
CREATE INDEX terminals_merchant ON terminals (merchant_id) WHERE merchant_id IS NOT NULL;
CREATE INDEX terminals_lock_pending ON terminals (lock_acked) WHERE lock_acked = 0;

CREATE TABLE repairs (
    id           INTEGER PRIMARY KEY,
    serial       TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('open', 'received', 'diagnosed', 'repaired',
                                                'returned_to_stock', 'scrapped')),
    source       TEXT NOT NULL CHECK (source IN ('swap', 'support', 'tamper')),
    reason       TEXT NOT NULL,
    merchant_id  TEXT,
    replaced_by  TEXT,
    fault_codes  TEXT NOT NULL DEFAULT '[]',
    parts        TEXT NOT NULL DEFAULT '[]',
    notes        TEXT NOT NULL DEFAULT '',
    snapshot     TEXT,                   -- last health, open alerts, recent diagnostics
    opened_ms    INTEGER NOT NULL,
    received_ms  INTEGER,
    diagnosed_ms INTEGER,
    repaired_ms  INTEGER,
    closed_ms    INTEGER,
    updated_ms   INTEGER NOT NULL
);
CREATE UNIQUE INDEX repairs_one_open ON repairs (serial) WHERE closed_ms IS NULL;
CREATE INDEX repairs_serial ON repairs (serial, id);
CREATE INDEX repairs_state ON repairs (state, id);

-- One line per lifecycle event of a terminal, for its history.
CREATE TABLE terminal_events (
    id          INTEGER PRIMARY KEY,
    serial      TEXT NOT NULL,
    ts_ms       INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT,
    merchant_id TEXT,
    other       TEXT,                    -- the other terminal of a swap
    repair_id   INTEGER,
    actor       TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX terminal_events_serial ON terminal_events (serial, id);

-- Which terminals and merchants an audit row concerns (a swap concerns two).
CREATE TABLE audit_ref (
    audit_id    INTEGER NOT NULL REFERENCES audit (id),
    serial      TEXT,
    merchant_id TEXT
);
CREATE INDEX audit_ref_serial ON audit_ref (serial, audit_id) WHERE serial IS NOT NULL;
CREATE INDEX audit_ref_merchant ON audit_ref (merchant_id, audit_id) WHERE merchant_id IS NOT NULL;
CREATE INDEX audit_ts ON audit (ts_ms, id);
CREATE TRIGGER audit_ref_no_update BEFORE UPDATE ON audit_ref
    BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_ref_no_delete BEFORE DELETE ON audit_ref
    BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
