-- 015: people and organisations. Organisations form a tree (headquarters ->
-- agents/resellers); each row keeps its path from the root ("/1/4/"), so an
-- organisation's subtree is every row whose path starts with its own and one
-- comparison scopes a query (docs/security.md). Merchants belong to one
-- organisation (headquarters until moved); terminals belong to their bound
-- merchant's. Users belong to one organisation, merchant users also to one
-- merchant. Sessions and API tokens are stored as BLAKE2b-256 hashes only.
-- The audit log gains the actor's organisation and source address.

CREATE TABLE orgs (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('headquarters', 'agent')),
    parent      INTEGER REFERENCES orgs (id),
    path        TEXT NOT NULL UNIQUE,
    created_ms  INTEGER NOT NULL
);
INSERT INTO orgs (id, name, kind, parent, path, created_ms)
VALUES (1, 'headquarters', 'headquarters', NULL, '/1/', 0);

ALTER TABLE merchants ADD COLUMN org_id INTEGER NOT NULL DEFAULT 1; -- orgs (id)
CREATE INDEX merchants_org ON merchants (org_id, id);

CREATE TABLE users (
    name            TEXT PRIMARY KEY NOT NULL,
    pwhash          TEXT NOT NULL,        -- crypto_pwhash_str (Argon2id)
    role            TEXT NOT NULL CHECK (role IN ('viewer', 'support', 'ops', 'approver',
                                                  'admin', 'merchant')),
    org_id          INTEGER NOT NULL REFERENCES orgs (id),
    merchant_id     TEXT REFERENCES merchants (id),
    failed          INTEGER NOT NULL DEFAULT 0, -- failed logins since the last success
    locked_until_ms INTEGER NOT NULL DEFAULT 0,
    created_ms      INTEGER NOT NULL,
    CHECK ((role = 'merchant') = (merchant_id IS NOT NULL))
) WITHOUT ROWID;

CREATE TABLE sessions (
    hash        BLOB PRIMARY KEY NOT NULL, -- BLAKE2b-256 of the token
    user        TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    csrf        TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    user         TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    hash         BLOB NOT NULL UNIQUE,
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL,
    revoked_ms   INTEGER,
    last_used_ms INTEGER,
    UNIQUE (user, name)
);

CREATE TABLE support_requests (
    id          INTEGER PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    serial      TEXT,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    opened_by   TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_ms  INTEGER NOT NULL
);
CREATE INDEX support_requests_merchant ON support_requests (merchant_id, id);

ALTER TABLE audit ADD COLUMN org TEXT;      -- the actor's organisation (name)
ALTER TABLE audit ADD COLUMN org_path TEXT; -- and its path, for scoped reads
ALTER TABLE audit ADD COLUMN addr TEXT;     -- the client address of the request
-- Actor, action and target have migration 014's indexes (newest first by
-- time); the organisation filter of the audit search gets the same shape.
CREATE INDEX audit_org ON audit (org, ts_ms, id);

-- A rollout made by someone below headquarters keeps that organisation's
-- path: its cohort (and every later joiner) lies inside it. NULL: headquarters.
ALTER TABLE rollouts ADD COLUMN org_path TEXT;
