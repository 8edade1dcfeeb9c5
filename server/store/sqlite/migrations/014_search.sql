-- 014: indexes for search (docs/server.md "Search"): merchants by name
-- fragment, credit code, phone, contact and region; terminals by merchant,
-- fee-table version, tag, lifecycle state, lock, region, model, firmware and
-- open alert; alerts by kind and age; the audit log by actor, action, target
-- and time. store_search.c reads them; tests/unit/test_store_search.c checks
-- with EXPLAIN QUERY PLAN that every query's first page uses them.
--
-- Merchant name fragments. SQLite 3.40 (Debian 12) has FTS5's trigram
-- tokenizer: a fragment of three characters or more is a phrase MATCH on
-- merchant_names, for any script (Chinese names included). A trigram index
-- cannot answer a fragment of one or two characters (SQLite 3.40 returns no
-- rows for them), and two-character fragments are what support types for a
-- Chinese name ("面馆"), so merchant_grams keeps every one- and two-character
-- substring of each name (lower-cased) beside it. Both are kept by the
-- triggers below and keyed by merchant_keys.rid, an integer for the text
-- merchant id, which is also the order a name search pages in.

CREATE TABLE merchant_keys (
    rid INTEGER PRIMARY KEY,
    id  TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE merchant_names USING fts5 (name, tokenize = 'trigram');
CREATE TABLE merchant_grams (
    gram TEXT NOT NULL,
    rid  INTEGER NOT NULL,
    PRIMARY KEY (gram, rid)
) WITHOUT ROWID;
-- 1..512: the positions of a name's characters (names hold at most 128).
CREATE TABLE search_seq (i INTEGER PRIMARY KEY);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 512)
INSERT INTO search_seq SELECT i FROM n;

CREATE TRIGGER merchants_search_insert AFTER INSERT ON merchants BEGIN
    INSERT INTO merchant_keys (id) VALUES (new.id);
    INSERT INTO merchant_names (rowid, name)
        SELECT rid, new.name FROM merchant_keys WHERE id = new.id;
    INSERT OR IGNORE INTO merchant_grams (gram, rid)
        SELECT lower(substr(new.name, q.i, 1)), k.rid FROM search_seq q, merchant_keys k
         WHERE k.id = new.id AND q.i <= length(new.name);
    INSERT OR IGNORE INTO merchant_grams (gram, rid)
        SELECT lower(substr(new.name, q.i, 2)), k.rid FROM search_seq q, merchant_keys k
         WHERE k.id = new.id AND q.i < length(new.name);
END;
CREATE TRIGGER merchants_search_rename AFTER UPDATE OF name ON merchants
    WHEN new.name IS NOT old.name BEGIN
    UPDATE merchant_names SET name = new.name
     WHERE rowid = (SELECT rid FROM merchant_keys WHERE id = new.id);
    DELETE FROM merchant_grams
     WHERE rid = (SELECT rid FROM merchant_keys WHERE id = old.id)
       AND gram IN (SELECT lower(substr(old.name, i, 1)) FROM search_seq
                     WHERE i <= length(old.name)
                    UNION ALL
                    SELECT lower(substr(old.name, i, 2)) FROM search_seq
                     WHERE i < length(old.name));
    INSERT OR IGNORE INTO merchant_grams (gram, rid)
        SELECT lower(substr(new.name, q.i, 1)), k.rid FROM search_seq q, merchant_keys k
         WHERE k.id = new.id AND q.i <= length(new.name);
    INSERT OR IGNORE INTO merchant_grams (gram, rid)
        SELECT lower(substr(new.name, q.i, 2)), k.rid FROM search_seq q, merchant_keys k
         WHERE k.id = new.id AND q.i < length(new.name);
END;
CREATE TRIGGER merchants_search_delete AFTER DELETE ON merchants BEGIN
    DELETE FROM merchant_names WHERE rowid = (SELECT rid FROM merchant_keys WHERE id = old.id);
    DELETE FROM merchant_grams
     WHERE rid = (SELECT rid FROM merchant_keys WHERE id = old.id)
       AND gram IN (SELECT lower(substr(old.name, i, 1)) FROM search_seq
                     WHERE i <= length(old.name)
                    UNION ALL
                    SELECT lower(substr(old.name, i, 2)) FROM search_seq
                     WHERE i < length(old.name));
    DELETE FROM merchant_keys WHERE id = old.id;
END;

INSERT INTO merchant_keys (id) SELECT id FROM merchants ORDER BY created_ms, id;
INSERT INTO merchant_names (rowid, name)
    SELECT k.rid, m.name FROM merchant_keys k JOIN merchants m ON m.id = k.id;
INSERT OR IGNORE INTO merchant_grams (gram, rid)
    SELECT lower(substr(m.name, q.i, 1)), k.rid FROM merchant_keys k
      JOIN merchants m ON m.id = k.id JOIN search_seq q ON q.i <= length(m.name);
INSERT OR IGNORE INTO merchant_grams (gram, rid)
    SELECT lower(substr(m.name, q.i, 2)), k.rid FROM merchant_keys k
      JOIN merchants m ON m.id = k.id JOIN search_seq q ON q.i < length(m.name);

-- The other merchant fields are searched whole (the credit code has its
-- UNIQUE index since 004).
CREATE INDEX merchants_phone ON merchants (contact_phone);
CREATE INDEX merchants_contact ON merchants (contact_name);
CREATE INDEX merchants_region ON merchants (region);

-- Terminal tags: terminals.tags is a JSON array; terminal_tags holds one row
-- per (tag, terminal), kept by triggers, in serial order within a tag.
CREATE TABLE terminal_tags (
    tag    TEXT NOT NULL,
    serial TEXT NOT NULL,
    PRIMARY KEY (tag, serial)
) WITHOUT ROWID;
CREATE INDEX terminal_tags_serial ON terminal_tags (serial);
CREATE TRIGGER terminals_tags_insert AFTER INSERT ON terminals BEGIN
    INSERT OR IGNORE INTO terminal_tags (tag, serial)
        SELECT value, new.serial FROM json_each(new.tags) WHERE type = 'text';
END;
CREATE TRIGGER terminals_tags_update AFTER UPDATE OF tags ON terminals
    WHEN new.tags IS NOT old.tags BEGIN
    DELETE FROM terminal_tags WHERE serial = old.serial;
    INSERT OR IGNORE INTO terminal_tags (tag, serial)
        SELECT value, new.serial FROM json_each(new.tags) WHERE type = 'text';
END;
CREATE TRIGGER terminals_tags_delete AFTER DELETE ON terminals BEGIN
    DELETE FROM terminal_tags WHERE serial = old.serial;
END;
INSERT OR IGNORE INTO terminal_tags (tag, serial)
    SELECT j.value, t.serial FROM terminals t, json_each(t.tags) j WHERE j.type = 'text';

-- Terminals by lifecycle state, lock and fee-table version, each in serial
-- order (the rows of a WITHOUT ROWID table's index end with its key).
CREATE INDEX terminals_state ON terminals (state);
CREATE INDEX terminals_locked ON terminals (lock_want) WHERE lock_want = 1;
CREATE INDEX device_state_fee ON device_state (fee_version);

-- Open alerts: by kind in serial order (terminals with an alert), by kind
-- newest first and all newest first (the alert search).
CREATE INDEX alerts_open_kind_serial ON alerts (kind, serial) WHERE closed_ms IS NULL;
CREATE INDEX alerts_open_kind ON alerts (kind, id) WHERE closed_ms IS NULL;
CREATE INDEX alerts_open_newest ON alerts (id) WHERE closed_ms IS NULL;

-- The audit log by actor, action and target, newest first within a time range.
CREATE INDEX audit_actor ON audit (actor, ts_ms, id);
CREATE INDEX audit_action ON audit (action, ts_ms, id);
CREATE INDEX audit_target_ts ON audit (target, ts_ms, id);
