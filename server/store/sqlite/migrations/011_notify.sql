-- 011_notify: webhook notifications. An event is stored once with the id its
-- receivers dedupe on; each hook subscribed to its kind gets one delivery row,
-- retried with backoff until delivered or given up, and every attempt is kept
-- in the delivery log. Written in the same transaction, so an event survives
-- a restart with all its deliveries, and a retry carries the same event id.
-- Times are ms since the Unix epoch.

CREATE TABLE notify_events (
    id          TEXT PRIMARY KEY NOT NULL,  -- random, 32 hex digits
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,              -- serial, rollout id or repair id
    body        TEXT NOT NULL,              -- the exact JSON body every attempt sends
    created_ms  INTEGER NOT NULL
);

CREATE TABLE notify_deliveries (
    id           INTEGER PRIMARY KEY,
    hook         TEXT NOT NULL,
    event        TEXT NOT NULL REFERENCES notify_events (id),
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_ms      INTEGER NOT NULL,           -- when pending: the next attempt is due
    last_status  INTEGER NOT NULL DEFAULT 0, -- HTTP status of the last attempt, 0: none
    last_error   TEXT NOT NULL DEFAULT '',
    created_ms   INTEGER NOT NULL,
    done_ms      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (hook, event)
);
CREATE INDEX notify_deliveries_due ON notify_deliveries (next_ms) WHERE state = 'pending';
CREATE INDEX notify_deliveries_hook ON notify_deliveries (hook, id);

CREATE TABLE notify_attempts (
    delivery    INTEGER NOT NULL REFERENCES notify_deliveries (id),
    attempt     INTEGER NOT NULL,
    ts_ms       INTEGER NOT NULL,
    status      INTEGER NOT NULL,            -- HTTP status, 0 when no answer
    error       TEXT NOT NULL DEFAULT '',
    ms          INTEGER NOT NULL,            -- how long the attempt took
    PRIMARY KEY (delivery, attempt)
) WITHOUT ROWID;
