-- 006_diag: remote diagnostics. One row per request support makes; the
-- terminal's answer is stored on it (late answers too, flagged late), and an
-- archive's bytes arrive in chunks keyed by offset so a transfer resumes.
-- Times are ms since the Unix epoch.

CREATE TABLE diag_requests (
    id               TEXT PRIMARY KEY NOT NULL,
    serial           TEXT NOT NULL,
    command          TEXT NOT NULL,
    args             TEXT,               -- JSON object as sent
    actor            TEXT NOT NULL,
    role             TEXT NOT NULL,
    created_ms       INTEGER NOT NULL,
    deadline_ms      INTEGER NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'ok', 'refused', 'failed', 'expired')),
    code             TEXT,
    message          TEXT,
    result           TEXT,               -- JSON object from the terminal
    answered_ms      INTEGER,
    late             INTEGER NOT NULL DEFAULT 0,
    repair_id        INTEGER,            -- the terminal's open repair record, if any
    archive_size     INTEGER,
    archive_digest   TEXT,
    archive_received INTEGER NOT NULL DEFAULT 0,
    archive_done     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX diag_requests_serial ON diag_requests (serial, created_ms);
CREATE INDEX diag_requests_pending ON diag_requests (deadline_ms) WHERE status = 'pending';

CREATE TABLE diag_chunks (
    id     TEXT NOT NULL,
    offset INTEGER NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (id, offset)
) WITHOUT ROWID;
