-- 024: the dashboard's counts kept as terminals change, so GET /v1/summary reads a
-- few rows instead of scanning the fleet (1,000,000 terminals: seconds per scan).
--
-- Every terminal contributes rows (dim, key, at) to the counts of its owner:
--   conn   online | offline | never | revoked (registered terminals by connection)
--   model  its model (every status)
--   fw     its firmware version (registered, as last reported)
--   fee    its active fee table (registered, not empty)
--   feep   its pending fee table, at = effective time (registered)
--   alert  the kind of each open alert
-- fleet_contrib is that definition; the triggers below apply it, in the
-- transaction of the change, one terminal at a time (they spell out its parts
-- for that serial: SQLite does not push a trigger's NEW.serial into a view, and
-- would scan the fleet), to two tables: per organisation of the merchant the
-- terminal is bound to (org_id 0: bound to none, in stock at headquarters) and per
-- merchant (bound terminals only). A scoped summary adds the rows of the
-- organisations under its path, or reads its merchant's rows. Rows that fall to 0
-- stay (a version no longer held); readers skip them.

CREATE TABLE fleet_counts_org (
    org_id INTEGER NOT NULL,
    dim    TEXT NOT NULL,
    key    TEXT NOT NULL,
    at     INTEGER NOT NULL DEFAULT 0,
    n      INTEGER NOT NULL,
    PRIMARY KEY (org_id, dim, key, at)
) WITHOUT ROWID;

CREATE TABLE fleet_counts_merchant (
    merchant_id TEXT NOT NULL,
    dim         TEXT NOT NULL,
    key         TEXT NOT NULL,
    at          INTEGER NOT NULL DEFAULT 0,
    n           INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, dim, key, at)
) WITHOUT ROWID;

CREATE VIEW fleet_contrib (serial, dim, key, at) AS
    SELECT d.serial, 'conn', CASE WHEN d.status = 'revoked' THEN 'revoked'
                                  WHEN s.online = 1 THEN 'online'
                                  WHEN s.online = 0 THEN 'offline' ELSE 'never' END, 0
        FROM devices d LEFT JOIN device_state s ON s.serial = d.serial
    UNION ALL
    SELECT serial, 'model', model, 0 FROM devices
    UNION ALL
    SELECT s.serial, 'fw', s.fw_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
        WHERE d.status = 'registered' AND s.fw_version IS NOT NULL
    UNION ALL
    SELECT s.serial, 'fee', s.fee_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
        WHERE d.status = 'registered' AND s.fee_version IS NOT NULL AND s.fee_version != ''
    UNION ALL
    SELECT s.serial, 'feep', s.fee_pending, coalesce(s.fee_pending_at, 0)
        FROM device_state s JOIN devices d ON d.serial = s.serial
        WHERE d.status = 'registered' AND s.fee_pending IS NOT NULL
    UNION ALL
    SELECT serial, 'alert', kind, 0 FROM alerts WHERE closed_ms IS NULL;

-- The owner of a bound terminal.
CREATE VIEW fleet_owner (serial, org_id, merchant_id) AS
    SELECT t.serial, m.org_id, t.merchant_id FROM terminals t JOIN merchants m ON m.id = t.merchant_id;

INSERT INTO fleet_counts_org (org_id, dim, key, at, n)
    SELECT coalesce(o.org_id, 0), c.dim, c.key, c.at, count(*)
    FROM fleet_contrib c LEFT JOIN fleet_owner o ON o.serial = c.serial GROUP BY 1, 2, 3, 4;
INSERT INTO fleet_counts_merchant (merchant_id, dim, key, at, n)
    SELECT o.merchant_id, c.dim, c.key, c.at, count(*)
    FROM fleet_contrib c JOIN fleet_owner o ON o.serial = c.serial GROUP BY 1, 2, 3, 4;

-- The registry.
CREATE TRIGGER fleet_counts_dev_insert AFTER INSERT ON devices BEGIN
    INSERT INTO fleet_counts_org (org_id, dim, key, at, n)
        SELECT coalesce((SELECT m.org_id FROM terminals t JOIN merchants m ON m.id = t.merchant_id
                        WHERE t.serial = NEW.serial), 0),
               dim, key, at, count(*)
        FROM (
            SELECT 'conn' AS dim, CASE WHEN d.status = 'revoked' THEN 'revoked'
                   WHEN s.online = 1 THEN 'online' WHEN s.online = 0 THEN 'offline'
                   ELSE 'never' END AS key, 0 AS at
            FROM devices d LEFT JOIN device_state s ON s.serial = d.serial WHERE d.serial = NEW.serial
            UNION ALL SELECT 'model', model, 0 FROM devices WHERE serial = NEW.serial
            UNION ALL SELECT 'fw', s.fw_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', s.fee_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fee_version IS NOT NULL
            AND s.fee_version != ''
            UNION ALL SELECT 'feep', s.fee_pending, coalesce(s.fee_pending_at, 0)
            FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fee_pending IS NOT NULL)
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_merchant (merchant_id, dim, key, at, n)
        SELECT * FROM (SELECT (SELECT t.merchant_id FROM terminals t JOIN merchants m ON m.id = t.merchant_id
                WHERE t.serial = NEW.serial) AS o,
               dim, key, at, count(*)
        FROM (
            SELECT 'conn' AS dim, CASE WHEN d.status = 'revoked' THEN 'revoked'
                   WHEN s.online = 1 THEN 'online' WHEN s.online = 0 THEN 'offline'
                   ELSE 'never' END AS key, 0 AS at
            FROM devices d LEFT JOIN device_state s ON s.serial = d.serial WHERE d.serial = NEW.serial
            UNION ALL SELECT 'model', model, 0 FROM devices WHERE serial = NEW.serial
            UNION ALL SELECT 'fw', s.fw_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', s.fee_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fee_version IS NOT NULL
            AND s.fee_version != ''
            UNION ALL SELECT 'feep', s.fee_pending, coalesce(s.fee_pending_at, 0)
            FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fee_pending IS NOT NULL)
        GROUP BY 1, 2, 3, 4)
        WHERE o IS NOT NULL
        ON CONFLICT (merchant_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER fleet_counts_dev_update_old BEFORE UPDATE OF status, model ON devices
WHEN OLD.status IS NOT NEW.status OR OLD.model IS NOT NEW.model BEGIN
    INSERT INTO fleet_counts_org (org_id, dim, key, at, n)
        SELECT coalesce((SELECT m.org_id FROM terminals t JOIN merchants m ON m.id = t.merchant_id
                        WHERE t.serial = OLD.serial), 0),
               dim, key, at, -count(*)
        FROM (
            SELECT 'conn' AS dim, CASE WHEN d.status = 'revoked' THEN 'revoked'
                   WHEN s.online = 1 THEN 'online' WHEN s.online = 0 THEN 'offline'
                   ELSE 'never' END AS key, 0 AS at
            FROM devices d LEFT JOIN device_state s ON s.serial = d.serial WHERE d.serial = OLD.serial
            UNION ALL SELECT 'model', model, 0 FROM devices WHERE serial = OLD.serial
            UNION ALL SELECT 'fw', s.fw_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', s.fee_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fee_version IS NOT NULL
            AND s.fee_version != ''
            UNION ALL SELECT 'feep', s.fee_pending, coalesce(s.fee_pending_at, 0)
            FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fee_pending IS NOT NULL)
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_merchant (merchant_id, dim, key, at, n)
        SELECT * FROM (SELECT (SELECT t.merchant_id FROM terminals t JOIN merchants m ON m.id = t.merchant_id
                WHERE t.serial = OLD.serial) AS o,
               dim, key, at, -count(*)
        FROM (
            SELECT 'conn' AS dim, CASE WHEN d.status = 'revoked' THEN 'revoked'
                   WHEN s.online = 1 THEN 'online' WHEN s.online = 0 THEN 'offline'
                   ELSE 'never' END AS key, 0 AS at
            FROM devices d LEFT JOIN device_state s ON s.serial = d.serial WHERE d.serial = OLD.serial
            UNION ALL SELECT 'model', model, 0 FROM devices WHERE serial = OLD.serial
            UNION ALL SELECT 'fw', s.fw_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', s.fee_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fee_version IS NOT NULL
            AND s.fee_version != ''
            UNION ALL SELECT 'feep', s.fee_pending, coalesce(s.fee_pending_at, 0)
            FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fee_pending IS NOT NULL)
        GROUP BY 1, 2, 3, 4)
        WHERE o IS NOT NULL
        ON CONFLICT (merchant_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER fleet_counts_dev_update_new AFTER UPDATE OF status, model ON devices
WHEN OLD.status IS NOT NEW.status OR OLD.model IS NOT NEW.model BEGIN
    INSERT INTO fleet_counts_org (org_id, dim, key, at, n)
        SELECT coalesce((SELECT m.org_id FROM terminals t JOIN merchants m ON m.id = t.merchant_id
                        WHERE t.serial = NEW.serial), 0),
               dim, key, at, count(*)
        FROM (
            SELECT 'conn' AS dim, CASE WHEN d.status = 'revoked' THEN 'revoked'
                   WHEN s.online = 1 THEN 'online' WHEN s.online = 0 THEN 'offline'
                   ELSE 'never' END AS key, 0 AS at
            FROM devices d LEFT JOIN device_state s ON s.serial = d.serial WHERE d.serial = NEW.serial
            UNION ALL SELECT 'model', model, 0 FROM devices WHERE serial = NEW.serial
            UNION ALL SELECT 'fw', s.fw_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', s.fee_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fee_version IS NOT NULL
            AND s.fee_version != ''
            UNION ALL SELECT 'feep', s.fee_pending, coalesce(s.fee_pending_at, 0)
            FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fee_pending IS NOT NULL)
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_merchant (merchant_id, dim, key, at, n)
        SELECT * FROM (SELECT (SELECT t.merchant_id FROM terminals t JOIN merchants m ON m.id = t.merchant_id
                WHERE t.serial = NEW.serial) AS o,
               dim, key, at, count(*)
        FROM (
            SELECT 'conn' AS dim, CASE WHEN d.status = 'revoked' THEN 'revoked'
                   WHEN s.online = 1 THEN 'online' WHEN s.online = 0 THEN 'offline'
                   ELSE 'never' END AS key, 0 AS at
            FROM devices d LEFT JOIN device_state s ON s.serial = d.serial WHERE d.serial = NEW.serial
            UNION ALL SELECT 'model', model, 0 FROM devices WHERE serial = NEW.serial
            UNION ALL SELECT 'fw', s.fw_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', s.fee_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fee_version IS NOT NULL
            AND s.fee_version != ''
            UNION ALL SELECT 'feep', s.fee_pending, coalesce(s.fee_pending_at, 0)
            FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fee_pending IS NOT NULL)
        GROUP BY 1, 2, 3, 4)
        WHERE o IS NOT NULL
        ON CONFLICT (merchant_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER fleet_counts_dev_delete BEFORE DELETE ON devices BEGIN
    INSERT INTO fleet_counts_org (org_id, dim, key, at, n)
        SELECT coalesce((SELECT m.org_id FROM terminals t JOIN merchants m ON m.id = t.merchant_id
                        WHERE t.serial = OLD.serial), 0),
               dim, key, at, -count(*)
        FROM (
            SELECT 'conn' AS dim, CASE WHEN d.status = 'revoked' THEN 'revoked'
                   WHEN s.online = 1 THEN 'online' WHEN s.online = 0 THEN 'offline'
                   ELSE 'never' END AS key, 0 AS at
            FROM devices d LEFT JOIN device_state s ON s.serial = d.serial WHERE d.serial = OLD.serial
            UNION ALL SELECT 'model', model, 0 FROM devices WHERE serial = OLD.serial
            UNION ALL SELECT 'fw', s.fw_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', s.fee_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fee_version IS NOT NULL
            AND s.fee_version != ''
            UNION ALL SELECT 'feep', s.fee_pending, coalesce(s.fee_pending_at, 0)
            FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fee_pending IS NOT NULL)
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_merchant (merchant_id, dim, key, at, n)
        SELECT * FROM (SELECT (SELECT t.merchant_id FROM terminals t JOIN merchants m ON m.id = t.merchant_id
                WHERE t.serial = OLD.serial) AS o,
               dim, key, at, -count(*)
        FROM (
            SELECT 'conn' AS dim, CASE WHEN d.status = 'revoked' THEN 'revoked'
                   WHEN s.online = 1 THEN 'online' WHEN s.online = 0 THEN 'offline'
                   ELSE 'never' END AS key, 0 AS at
            FROM devices d LEFT JOIN device_state s ON s.serial = d.serial WHERE d.serial = OLD.serial
            UNION ALL SELECT 'model', model, 0 FROM devices WHERE serial = OLD.serial
            UNION ALL SELECT 'fw', s.fw_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', s.fee_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fee_version IS NOT NULL
            AND s.fee_version != ''
            UNION ALL SELECT 'feep', s.fee_pending, coalesce(s.fee_pending_at, 0)
            FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fee_pending IS NOT NULL)
        GROUP BY 1, 2, 3, 4)
        WHERE o IS NOT NULL
        ON CONFLICT (merchant_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
END;

-- The latest state, as a difference of the old row and the new one (only a registered
-- terminal's state counts). Its writes are upserts, whose BEFORE INSERT triggers would run
-- even when the row turns into an update, hence AFTER triggers only. Ingest's usual update
-- (a newer report, the same versions, still online) changes nothing counted and runs no
-- trigger body; an online/offline change moves one count.
CREATE TRIGGER fleet_counts_state_insert AFTER INSERT ON device_state BEGIN
    INSERT INTO fleet_counts_org (org_id, dim, key, at, n)
        SELECT o.id, x.dim, x.key, x.at, sum(x.n)
        FROM (SELECT coalesce((SELECT m.org_id FROM terminals t JOIN merchants m ON m.id = t.merchant_id
                        WHERE t.serial = NEW.serial), 0) AS id) o,
             (SELECT 'conn' AS dim, 'never' AS key, 0 AS at, -1 AS n
            UNION ALL SELECT 'conn' AS dim, CASE WHEN NEW.online = 1 THEN 'online' WHEN NEW.online = 0 THEN 'offline' ELSE 'never' END AS key, 0 AS at, 1 AS n
            UNION ALL SELECT 'fw', NEW.fw_version, 0, 1 WHERE NEW.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', NEW.fee_version, 0, 1 WHERE NEW.fee_version IS NOT NULL AND NEW.fee_version != ''
            UNION ALL SELECT 'feep', NEW.fee_pending, coalesce(NEW.fee_pending_at, 0), 1 WHERE NEW.fee_pending IS NOT NULL) x
        WHERE EXISTS (SELECT 1 FROM devices WHERE serial = NEW.serial AND status = 'registered')
        GROUP BY 2, 3, 4 HAVING sum(x.n) != 0
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_merchant (merchant_id, dim, key, at, n)
        SELECT t.merchant_id, x.dim, x.key, x.at, sum(x.n)
        FROM terminals t JOIN merchants m ON m.id = t.merchant_id,
             (SELECT 'conn' AS dim, 'never' AS key, 0 AS at, -1 AS n
            UNION ALL SELECT 'conn' AS dim, CASE WHEN NEW.online = 1 THEN 'online' WHEN NEW.online = 0 THEN 'offline' ELSE 'never' END AS key, 0 AS at, 1 AS n
            UNION ALL SELECT 'fw', NEW.fw_version, 0, 1 WHERE NEW.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', NEW.fee_version, 0, 1 WHERE NEW.fee_version IS NOT NULL AND NEW.fee_version != ''
            UNION ALL SELECT 'feep', NEW.fee_pending, coalesce(NEW.fee_pending_at, 0), 1 WHERE NEW.fee_pending IS NOT NULL) x
        WHERE t.serial = NEW.serial AND EXISTS (SELECT 1 FROM devices WHERE serial = NEW.serial AND status = 'registered')
        GROUP BY 1, 2, 3, 4 HAVING sum(x.n) != 0
        ON CONFLICT (merchant_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER fleet_counts_state_update AFTER UPDATE OF online, fw_version, fee_version, fee_pending, fee_pending_at ON device_state
WHEN OLD.online IS NOT NEW.online OR OLD.fw_version IS NOT NEW.fw_version
    OR OLD.fee_version IS NOT NEW.fee_version OR OLD.fee_pending IS NOT NEW.fee_pending
    OR OLD.fee_pending_at IS NOT NEW.fee_pending_at BEGIN
    INSERT INTO fleet_counts_org (org_id, dim, key, at, n)
        SELECT o.id, x.dim, x.key, x.at, sum(x.n)
        FROM (SELECT coalesce((SELECT m.org_id FROM terminals t JOIN merchants m ON m.id = t.merchant_id
                        WHERE t.serial = NEW.serial), 0) AS id) o,
             (SELECT 'conn' AS dim, CASE WHEN OLD.online = 1 THEN 'online' WHEN OLD.online = 0 THEN 'offline' ELSE 'never' END AS key, 0 AS at, -1 AS n
            UNION ALL SELECT 'fw', OLD.fw_version, 0, -1 WHERE OLD.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', OLD.fee_version, 0, -1 WHERE OLD.fee_version IS NOT NULL AND OLD.fee_version != ''
            UNION ALL SELECT 'feep', OLD.fee_pending, coalesce(OLD.fee_pending_at, 0), -1 WHERE OLD.fee_pending IS NOT NULL
            UNION ALL SELECT 'conn' AS dim, CASE WHEN NEW.online = 1 THEN 'online' WHEN NEW.online = 0 THEN 'offline' ELSE 'never' END AS key, 0 AS at, 1 AS n
            UNION ALL SELECT 'fw', NEW.fw_version, 0, 1 WHERE NEW.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', NEW.fee_version, 0, 1 WHERE NEW.fee_version IS NOT NULL AND NEW.fee_version != ''
            UNION ALL SELECT 'feep', NEW.fee_pending, coalesce(NEW.fee_pending_at, 0), 1 WHERE NEW.fee_pending IS NOT NULL) x
        WHERE EXISTS (SELECT 1 FROM devices WHERE serial = NEW.serial AND status = 'registered')
        GROUP BY 2, 3, 4 HAVING sum(x.n) != 0
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_merchant (merchant_id, dim, key, at, n)
        SELECT t.merchant_id, x.dim, x.key, x.at, sum(x.n)
        FROM terminals t JOIN merchants m ON m.id = t.merchant_id,
             (SELECT 'conn' AS dim, CASE WHEN OLD.online = 1 THEN 'online' WHEN OLD.online = 0 THEN 'offline' ELSE 'never' END AS key, 0 AS at, -1 AS n
            UNION ALL SELECT 'fw', OLD.fw_version, 0, -1 WHERE OLD.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', OLD.fee_version, 0, -1 WHERE OLD.fee_version IS NOT NULL AND OLD.fee_version != ''
            UNION ALL SELECT 'feep', OLD.fee_pending, coalesce(OLD.fee_pending_at, 0), -1 WHERE OLD.fee_pending IS NOT NULL
            UNION ALL SELECT 'conn' AS dim, CASE WHEN NEW.online = 1 THEN 'online' WHEN NEW.online = 0 THEN 'offline' ELSE 'never' END AS key, 0 AS at, 1 AS n
            UNION ALL SELECT 'fw', NEW.fw_version, 0, 1 WHERE NEW.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', NEW.fee_version, 0, 1 WHERE NEW.fee_version IS NOT NULL AND NEW.fee_version != ''
            UNION ALL SELECT 'feep', NEW.fee_pending, coalesce(NEW.fee_pending_at, 0), 1 WHERE NEW.fee_pending IS NOT NULL) x
        WHERE t.serial = NEW.serial AND EXISTS (SELECT 1 FROM devices WHERE serial = NEW.serial AND status = 'registered')
        GROUP BY 1, 2, 3, 4 HAVING sum(x.n) != 0
        ON CONFLICT (merchant_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER fleet_counts_state_delete AFTER DELETE ON device_state BEGIN
    INSERT INTO fleet_counts_org (org_id, dim, key, at, n)
        SELECT o.id, x.dim, x.key, x.at, sum(x.n)
        FROM (SELECT coalesce((SELECT m.org_id FROM terminals t JOIN merchants m ON m.id = t.merchant_id
                        WHERE t.serial = OLD.serial), 0) AS id) o,
             (SELECT 'conn' AS dim, CASE WHEN OLD.online = 1 THEN 'online' WHEN OLD.online = 0 THEN 'offline' ELSE 'never' END AS key, 0 AS at, -1 AS n
            UNION ALL SELECT 'fw', OLD.fw_version, 0, -1 WHERE OLD.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', OLD.fee_version, 0, -1 WHERE OLD.fee_version IS NOT NULL AND OLD.fee_version != ''
            UNION ALL SELECT 'feep', OLD.fee_pending, coalesce(OLD.fee_pending_at, 0), -1 WHERE OLD.fee_pending IS NOT NULL
            UNION ALL SELECT 'conn', 'never', 0, 1) x
        WHERE EXISTS (SELECT 1 FROM devices WHERE serial = OLD.serial AND status = 'registered')
        GROUP BY 2, 3, 4 HAVING sum(x.n) != 0
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_merchant (merchant_id, dim, key, at, n)
        SELECT t.merchant_id, x.dim, x.key, x.at, sum(x.n)
        FROM terminals t JOIN merchants m ON m.id = t.merchant_id,
             (SELECT 'conn' AS dim, CASE WHEN OLD.online = 1 THEN 'online' WHEN OLD.online = 0 THEN 'offline' ELSE 'never' END AS key, 0 AS at, -1 AS n
            UNION ALL SELECT 'fw', OLD.fw_version, 0, -1 WHERE OLD.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', OLD.fee_version, 0, -1 WHERE OLD.fee_version IS NOT NULL AND OLD.fee_version != ''
            UNION ALL SELECT 'feep', OLD.fee_pending, coalesce(OLD.fee_pending_at, 0), -1 WHERE OLD.fee_pending IS NOT NULL
            UNION ALL SELECT 'conn', 'never', 0, 1) x
        WHERE t.serial = OLD.serial AND EXISTS (SELECT 1 FROM devices WHERE serial = OLD.serial AND status = 'registered')
        GROUP BY 1, 2, 3, 4 HAVING sum(x.n) != 0
        ON CONFLICT (merchant_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
END;

-- Open alerts.
CREATE TRIGGER fleet_counts_alert_insert AFTER INSERT ON alerts BEGIN
    INSERT INTO fleet_counts_org (org_id, dim, key, at, n)
        SELECT coalesce((SELECT m.org_id FROM terminals t JOIN merchants m ON m.id = t.merchant_id
                        WHERE t.serial = NEW.serial), 0),
               'alert', NEW.kind, 0, 1
        WHERE NEW.closed_ms IS NULL
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_merchant (merchant_id, dim, key, at, n)
        SELECT t.merchant_id, 'alert', NEW.kind, 0, 1
        FROM terminals t JOIN merchants m ON m.id = t.merchant_id
        WHERE t.serial = NEW.serial AND NEW.closed_ms IS NULL
        ON CONFLICT (merchant_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER fleet_counts_alert_update AFTER UPDATE OF serial, kind, closed_ms ON alerts
WHEN OLD.serial IS NOT NEW.serial OR OLD.kind IS NOT NEW.kind
    OR (OLD.closed_ms IS NULL) IS NOT (NEW.closed_ms IS NULL) BEGIN
    INSERT INTO fleet_counts_org (org_id, dim, key, at, n)
        SELECT coalesce((SELECT m.org_id FROM terminals t JOIN merchants m ON m.id = t.merchant_id
                        WHERE t.serial = OLD.serial), 0),
               'alert', OLD.kind, 0, -1
        WHERE OLD.closed_ms IS NULL
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_merchant (merchant_id, dim, key, at, n)
        SELECT t.merchant_id, 'alert', OLD.kind, 0, -1
        FROM terminals t JOIN merchants m ON m.id = t.merchant_id
        WHERE t.serial = OLD.serial AND OLD.closed_ms IS NULL
        ON CONFLICT (merchant_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_org (org_id, dim, key, at, n)
        SELECT coalesce((SELECT m.org_id FROM terminals t JOIN merchants m ON m.id = t.merchant_id
                        WHERE t.serial = NEW.serial), 0),
               'alert', NEW.kind, 0, 1
        WHERE NEW.closed_ms IS NULL
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_merchant (merchant_id, dim, key, at, n)
        SELECT t.merchant_id, 'alert', NEW.kind, 0, 1
        FROM terminals t JOIN merchants m ON m.id = t.merchant_id
        WHERE t.serial = NEW.serial AND NEW.closed_ms IS NULL
        ON CONFLICT (merchant_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER fleet_counts_alert_delete AFTER DELETE ON alerts BEGIN
    INSERT INTO fleet_counts_org (org_id, dim, key, at, n)
        SELECT coalesce((SELECT m.org_id FROM terminals t JOIN merchants m ON m.id = t.merchant_id
                        WHERE t.serial = OLD.serial), 0),
               'alert', OLD.kind, 0, -1
        WHERE OLD.closed_ms IS NULL
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_merchant (merchant_id, dim, key, at, n)
        SELECT t.merchant_id, 'alert', OLD.kind, 0, -1
        FROM terminals t JOIN merchants m ON m.id = t.merchant_id
        WHERE t.serial = OLD.serial AND OLD.closed_ms IS NULL
        ON CONFLICT (merchant_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
END;

-- Binding: a terminal's counts move from one owner to the other.
CREATE TRIGGER fleet_counts_term_insert AFTER INSERT ON terminals
WHEN NEW.merchant_id IS NOT NULL BEGIN
    INSERT INTO fleet_counts_org (org_id, dim, key, at, n)
        SELECT coalesce((SELECT org_id FROM merchants WHERE id = NULL), 0), dim, key, at,
               -count(*)
        FROM (
            SELECT 'conn' AS dim, CASE WHEN d.status = 'revoked' THEN 'revoked'
                   WHEN s.online = 1 THEN 'online' WHEN s.online = 0 THEN 'offline'
                   ELSE 'never' END AS key, 0 AS at
            FROM devices d LEFT JOIN device_state s ON s.serial = d.serial WHERE d.serial = NEW.serial
            UNION ALL SELECT 'model', model, 0 FROM devices WHERE serial = NEW.serial
            UNION ALL SELECT 'fw', s.fw_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', s.fee_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fee_version IS NOT NULL
            AND s.fee_version != ''
            UNION ALL SELECT 'feep', s.fee_pending, coalesce(s.fee_pending_at, 0)
            FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fee_pending IS NOT NULL
            UNION ALL SELECT 'alert', kind, 0 FROM alerts WHERE serial = NEW.serial AND closed_ms IS NULL)
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_merchant (merchant_id, dim, key, at, n)
        SELECT NULL, dim, key, at, -count(*)
        FROM (
            SELECT 'conn' AS dim, CASE WHEN d.status = 'revoked' THEN 'revoked'
                   WHEN s.online = 1 THEN 'online' WHEN s.online = 0 THEN 'offline'
                   ELSE 'never' END AS key, 0 AS at
            FROM devices d LEFT JOIN device_state s ON s.serial = d.serial WHERE d.serial = NEW.serial
            UNION ALL SELECT 'model', model, 0 FROM devices WHERE serial = NEW.serial
            UNION ALL SELECT 'fw', s.fw_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', s.fee_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fee_version IS NOT NULL
            AND s.fee_version != ''
            UNION ALL SELECT 'feep', s.fee_pending, coalesce(s.fee_pending_at, 0)
            FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fee_pending IS NOT NULL
            UNION ALL SELECT 'alert', kind, 0 FROM alerts WHERE serial = NEW.serial AND closed_ms IS NULL)
        WHERE EXISTS (SELECT 1 FROM merchants WHERE id = NULL)
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (merchant_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_org (org_id, dim, key, at, n)
        SELECT coalesce((SELECT org_id FROM merchants WHERE id = NEW.merchant_id), 0), dim, key, at,
               count(*)
        FROM (
            SELECT 'conn' AS dim, CASE WHEN d.status = 'revoked' THEN 'revoked'
                   WHEN s.online = 1 THEN 'online' WHEN s.online = 0 THEN 'offline'
                   ELSE 'never' END AS key, 0 AS at
            FROM devices d LEFT JOIN device_state s ON s.serial = d.serial WHERE d.serial = NEW.serial
            UNION ALL SELECT 'model', model, 0 FROM devices WHERE serial = NEW.serial
            UNION ALL SELECT 'fw', s.fw_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', s.fee_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fee_version IS NOT NULL
            AND s.fee_version != ''
            UNION ALL SELECT 'feep', s.fee_pending, coalesce(s.fee_pending_at, 0)
            FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fee_pending IS NOT NULL
            UNION ALL SELECT 'alert', kind, 0 FROM alerts WHERE serial = NEW.serial AND closed_ms IS NULL)
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_merchant (merchant_id, dim, key, at, n)
        SELECT NEW.merchant_id, dim, key, at, count(*)
        FROM (
            SELECT 'conn' AS dim, CASE WHEN d.status = 'revoked' THEN 'revoked'
                   WHEN s.online = 1 THEN 'online' WHEN s.online = 0 THEN 'offline'
                   ELSE 'never' END AS key, 0 AS at
            FROM devices d LEFT JOIN device_state s ON s.serial = d.serial WHERE d.serial = NEW.serial
            UNION ALL SELECT 'model', model, 0 FROM devices WHERE serial = NEW.serial
            UNION ALL SELECT 'fw', s.fw_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', s.fee_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fee_version IS NOT NULL
            AND s.fee_version != ''
            UNION ALL SELECT 'feep', s.fee_pending, coalesce(s.fee_pending_at, 0)
            FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fee_pending IS NOT NULL
            UNION ALL SELECT 'alert', kind, 0 FROM alerts WHERE serial = NEW.serial AND closed_ms IS NULL)
        WHERE EXISTS (SELECT 1 FROM merchants WHERE id = NEW.merchant_id)
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (merchant_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER fleet_counts_term_update AFTER UPDATE OF merchant_id ON terminals
WHEN OLD.merchant_id IS NOT NEW.merchant_id BEGIN
    INSERT INTO fleet_counts_org (org_id, dim, key, at, n)
        SELECT coalesce((SELECT org_id FROM merchants WHERE id = OLD.merchant_id), 0), dim, key, at,
               -count(*)
        FROM (
            SELECT 'conn' AS dim, CASE WHEN d.status = 'revoked' THEN 'revoked'
                   WHEN s.online = 1 THEN 'online' WHEN s.online = 0 THEN 'offline'
                   ELSE 'never' END AS key, 0 AS at
            FROM devices d LEFT JOIN device_state s ON s.serial = d.serial WHERE d.serial = OLD.serial
            UNION ALL SELECT 'model', model, 0 FROM devices WHERE serial = OLD.serial
            UNION ALL SELECT 'fw', s.fw_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', s.fee_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fee_version IS NOT NULL
            AND s.fee_version != ''
            UNION ALL SELECT 'feep', s.fee_pending, coalesce(s.fee_pending_at, 0)
            FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fee_pending IS NOT NULL
            UNION ALL SELECT 'alert', kind, 0 FROM alerts WHERE serial = OLD.serial AND closed_ms IS NULL)
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_merchant (merchant_id, dim, key, at, n)
        SELECT OLD.merchant_id, dim, key, at, -count(*)
        FROM (
            SELECT 'conn' AS dim, CASE WHEN d.status = 'revoked' THEN 'revoked'
                   WHEN s.online = 1 THEN 'online' WHEN s.online = 0 THEN 'offline'
                   ELSE 'never' END AS key, 0 AS at
            FROM devices d LEFT JOIN device_state s ON s.serial = d.serial WHERE d.serial = OLD.serial
            UNION ALL SELECT 'model', model, 0 FROM devices WHERE serial = OLD.serial
            UNION ALL SELECT 'fw', s.fw_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', s.fee_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fee_version IS NOT NULL
            AND s.fee_version != ''
            UNION ALL SELECT 'feep', s.fee_pending, coalesce(s.fee_pending_at, 0)
            FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fee_pending IS NOT NULL
            UNION ALL SELECT 'alert', kind, 0 FROM alerts WHERE serial = OLD.serial AND closed_ms IS NULL)
        WHERE EXISTS (SELECT 1 FROM merchants WHERE id = OLD.merchant_id)
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (merchant_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_org (org_id, dim, key, at, n)
        SELECT coalesce((SELECT org_id FROM merchants WHERE id = NEW.merchant_id), 0), dim, key, at,
               count(*)
        FROM (
            SELECT 'conn' AS dim, CASE WHEN d.status = 'revoked' THEN 'revoked'
                   WHEN s.online = 1 THEN 'online' WHEN s.online = 0 THEN 'offline'
                   ELSE 'never' END AS key, 0 AS at
            FROM devices d LEFT JOIN device_state s ON s.serial = d.serial WHERE d.serial = NEW.serial
            UNION ALL SELECT 'model', model, 0 FROM devices WHERE serial = NEW.serial
            UNION ALL SELECT 'fw', s.fw_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', s.fee_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fee_version IS NOT NULL
            AND s.fee_version != ''
            UNION ALL SELECT 'feep', s.fee_pending, coalesce(s.fee_pending_at, 0)
            FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fee_pending IS NOT NULL
            UNION ALL SELECT 'alert', kind, 0 FROM alerts WHERE serial = NEW.serial AND closed_ms IS NULL)
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_merchant (merchant_id, dim, key, at, n)
        SELECT NEW.merchant_id, dim, key, at, count(*)
        FROM (
            SELECT 'conn' AS dim, CASE WHEN d.status = 'revoked' THEN 'revoked'
                   WHEN s.online = 1 THEN 'online' WHEN s.online = 0 THEN 'offline'
                   ELSE 'never' END AS key, 0 AS at
            FROM devices d LEFT JOIN device_state s ON s.serial = d.serial WHERE d.serial = NEW.serial
            UNION ALL SELECT 'model', model, 0 FROM devices WHERE serial = NEW.serial
            UNION ALL SELECT 'fw', s.fw_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', s.fee_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fee_version IS NOT NULL
            AND s.fee_version != ''
            UNION ALL SELECT 'feep', s.fee_pending, coalesce(s.fee_pending_at, 0)
            FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = NEW.serial AND d.status = 'registered' AND s.fee_pending IS NOT NULL
            UNION ALL SELECT 'alert', kind, 0 FROM alerts WHERE serial = NEW.serial AND closed_ms IS NULL)
        WHERE EXISTS (SELECT 1 FROM merchants WHERE id = NEW.merchant_id)
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (merchant_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER fleet_counts_term_delete AFTER DELETE ON terminals
WHEN OLD.merchant_id IS NOT NULL BEGIN
    INSERT INTO fleet_counts_org (org_id, dim, key, at, n)
        SELECT coalesce((SELECT org_id FROM merchants WHERE id = OLD.merchant_id), 0), dim, key, at,
               -count(*)
        FROM (
            SELECT 'conn' AS dim, CASE WHEN d.status = 'revoked' THEN 'revoked'
                   WHEN s.online = 1 THEN 'online' WHEN s.online = 0 THEN 'offline'
                   ELSE 'never' END AS key, 0 AS at
            FROM devices d LEFT JOIN device_state s ON s.serial = d.serial WHERE d.serial = OLD.serial
            UNION ALL SELECT 'model', model, 0 FROM devices WHERE serial = OLD.serial
            UNION ALL SELECT 'fw', s.fw_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', s.fee_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fee_version IS NOT NULL
            AND s.fee_version != ''
            UNION ALL SELECT 'feep', s.fee_pending, coalesce(s.fee_pending_at, 0)
            FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fee_pending IS NOT NULL
            UNION ALL SELECT 'alert', kind, 0 FROM alerts WHERE serial = OLD.serial AND closed_ms IS NULL)
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_merchant (merchant_id, dim, key, at, n)
        SELECT OLD.merchant_id, dim, key, at, -count(*)
        FROM (
            SELECT 'conn' AS dim, CASE WHEN d.status = 'revoked' THEN 'revoked'
                   WHEN s.online = 1 THEN 'online' WHEN s.online = 0 THEN 'offline'
                   ELSE 'never' END AS key, 0 AS at
            FROM devices d LEFT JOIN device_state s ON s.serial = d.serial WHERE d.serial = OLD.serial
            UNION ALL SELECT 'model', model, 0 FROM devices WHERE serial = OLD.serial
            UNION ALL SELECT 'fw', s.fw_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', s.fee_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fee_version IS NOT NULL
            AND s.fee_version != ''
            UNION ALL SELECT 'feep', s.fee_pending, coalesce(s.fee_pending_at, 0)
            FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fee_pending IS NOT NULL
            UNION ALL SELECT 'alert', kind, 0 FROM alerts WHERE serial = OLD.serial AND closed_ms IS NULL)
        WHERE EXISTS (SELECT 1 FROM merchants WHERE id = OLD.merchant_id)
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (merchant_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_org (org_id, dim, key, at, n)
        SELECT coalesce((SELECT org_id FROM merchants WHERE id = NULL), 0), dim, key, at,
               count(*)
        FROM (
            SELECT 'conn' AS dim, CASE WHEN d.status = 'revoked' THEN 'revoked'
                   WHEN s.online = 1 THEN 'online' WHEN s.online = 0 THEN 'offline'
                   ELSE 'never' END AS key, 0 AS at
            FROM devices d LEFT JOIN device_state s ON s.serial = d.serial WHERE d.serial = OLD.serial
            UNION ALL SELECT 'model', model, 0 FROM devices WHERE serial = OLD.serial
            UNION ALL SELECT 'fw', s.fw_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', s.fee_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fee_version IS NOT NULL
            AND s.fee_version != ''
            UNION ALL SELECT 'feep', s.fee_pending, coalesce(s.fee_pending_at, 0)
            FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fee_pending IS NOT NULL
            UNION ALL SELECT 'alert', kind, 0 FROM alerts WHERE serial = OLD.serial AND closed_ms IS NULL)
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_merchant (merchant_id, dim, key, at, n)
        SELECT NULL, dim, key, at, count(*)
        FROM (
            SELECT 'conn' AS dim, CASE WHEN d.status = 'revoked' THEN 'revoked'
                   WHEN s.online = 1 THEN 'online' WHEN s.online = 0 THEN 'offline'
                   ELSE 'never' END AS key, 0 AS at
            FROM devices d LEFT JOIN device_state s ON s.serial = d.serial WHERE d.serial = OLD.serial
            UNION ALL SELECT 'model', model, 0 FROM devices WHERE serial = OLD.serial
            UNION ALL SELECT 'fw', s.fw_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fw_version IS NOT NULL
            UNION ALL SELECT 'fee', s.fee_version, 0 FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fee_version IS NOT NULL
            AND s.fee_version != ''
            UNION ALL SELECT 'feep', s.fee_pending, coalesce(s.fee_pending_at, 0)
            FROM device_state s JOIN devices d ON d.serial = s.serial
            WHERE s.serial = OLD.serial AND d.status = 'registered' AND s.fee_pending IS NOT NULL
            UNION ALL SELECT 'alert', kind, 0 FROM alerts WHERE serial = OLD.serial AND closed_ms IS NULL)
        WHERE EXISTS (SELECT 1 FROM merchants WHERE id = NULL)
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (merchant_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
END;

-- A merchant moved to another organisation takes its counts along.
CREATE TRIGGER fleet_counts_merchant_org AFTER UPDATE OF org_id ON merchants
WHEN OLD.org_id IS NOT NEW.org_id BEGIN
    INSERT INTO fleet_counts_org (org_id, dim, key, at, n)
        SELECT OLD.org_id, dim, key, at, -n FROM fleet_counts_merchant
        WHERE merchant_id = OLD.id AND n != 0
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
    INSERT INTO fleet_counts_org (org_id, dim, key, at, n)
        SELECT NEW.org_id, dim, key, at, n FROM fleet_counts_merchant
        WHERE merchant_id = NEW.id AND n != 0
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = n + excluded.n;
END;
