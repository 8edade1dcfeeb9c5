-- 005: remote diagnostics (SQLite 006). SQLite's diag_chunks.offset is a
-- reserved word here: byte_offset.

CREATE TABLE diag_requests (
    id               text PRIMARY KEY,
    serial           text NOT NULL,
    command          text NOT NULL,
    args             jsonb,              -- object as sent
    actor            text NOT NULL,
    role             text NOT NULL,
    created_ms       bigint NOT NULL,
    deadline_ms      bigint NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'ok', 'refused', 'failed', 'expired')),
    code             text,
    message          text,
    result           jsonb,              -- object from the terminal
    answered_ms      bigint,
    late             boolean NOT NULL DEFAULT false,
    repair_id        bigint,             -- the terminal's open repair record, if any
    archive_size     bigint,
    archive_digest   text,
    archive_received bigint NOT NULL DEFAULT 0,
    archive_done     boolean NOT NULL DEFAULT false
);
CREATE INDEX diag_requests_serial ON diag_requests (serial, created_ms);
CREATE INDEX diag_requests_pending ON diag_requests (deadline_ms) WHERE status = 'pending';

CREATE TABLE diag_chunks (
    id          text NOT NULL,
    byte_offset bigint NOT NULL CHECK (byte_offset >= 0),
    data        bytea NOT NULL,
    PRIMARY KEY (id, byte_offset)
);
