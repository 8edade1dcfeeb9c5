-- 005: signed update bundles posfleetd serves, the offers it made, the
-- outcome events terminals reported (each recorded once: the event id is
-- the idempotency key per terminal) and each terminal's current update.
-- Times are ms since the Unix epoch unless named _s (manifest seconds).

CREATE TABLE bundles (
    id          TEXT PRIMARY KEY NOT NULL,   -- hex BLAKE2b-256 of the bundle file
    kind        TEXT NOT NULL,               -- firmware | fee-table
    version     TEXT NOT NULL,
    models      TEXT NOT NULL DEFAULT '',    -- comma separated; '' = any
    hw_revs     TEXT NOT NULL DEFAULT '',
    size        INTEGER NOT NULL,
    manifest    TEXT NOT NULL,               -- hex BLAKE2b-256 of manifest.json
    created_s   INTEGER NOT NULL,
    expires_s   INTEGER NOT NULL,
    uploaded_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX bundles_uploaded ON bundles (uploaded_ms);

CREATE TABLE update_offers (
    id          TEXT PRIMARY KEY NOT NULL,
    serial      TEXT NOT NULL,
    bundle      TEXT NOT NULL REFERENCES bundles (id),
    created_ms  INTEGER NOT NULL,
    deadline_ms INTEGER NOT NULL,
    actor       TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX update_offers_serial ON update_offers (serial, created_ms);

CREATE TABLE update_events (
    seq       INTEGER PRIMARY KEY,           -- arrival order
    serial    TEXT NOT NULL,
    id        TEXT NOT NULL,                 -- the terminal's event id
    offer     TEXT NOT NULL,
    bundle    TEXT NOT NULL,
    kind      TEXT NOT NULL,
    version   TEXT NOT NULL,
    status    TEXT NOT NULL,
    ts_ms     INTEGER NOT NULL,              -- terminal clock
    recv_ms   INTEGER NOT NULL,
    reason    TEXT,
    percent   INTEGER,
    code      TEXT,
    message   TEXT
);
CREATE UNIQUE INDEX update_events_id ON update_events (serial, id);

-- One row per terminal that was ever offered an update.
CREATE TABLE update_state (
    serial     TEXT PRIMARY KEY NOT NULL,
    offer      TEXT NOT NULL,
    bundle     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    version    TEXT NOT NULL,
    status     TEXT NOT NULL,                -- offered, or the last event's status
    percent    INTEGER,
    reason     TEXT,
    code       TEXT,
    updated_ms INTEGER NOT NULL
) WITHOUT ROWID;
