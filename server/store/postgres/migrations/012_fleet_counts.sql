-- 011: the dashboard's counts kept as terminals change (SQLite 024): per
-- organisation of the merchant a terminal is bound to (org_id 0: bound to none)
-- and per merchant, rows (dim, key, at) of conn (online | offline | never |
-- revoked), model, fw, fee, feep (pending fee table, at = effective time) and
-- alert (open alerts by kind). fleet_contrib is the definition; the triggers
-- apply it in the transaction of each change. Rows that fall to 0 stay; readers
-- skip them.

CREATE TABLE fleet_counts_org (
    org_id bigint NOT NULL,
    dim    text NOT NULL,
    key    text NOT NULL,
    at     bigint NOT NULL DEFAULT 0,
    n      bigint NOT NULL,
    PRIMARY KEY (org_id, dim, key, at)
);

CREATE TABLE fleet_counts_merchant (
    merchant_id text NOT NULL,
    dim         text NOT NULL,
    key         text NOT NULL,
    at          bigint NOT NULL DEFAULT 0,
    n           bigint NOT NULL,
    PRIMARY KEY (merchant_id, dim, key, at)
);

CREATE VIEW fleet_contrib (serial, dim, key, at) AS
    SELECT d.serial, 'conn', CASE WHEN d.status = 'revoked' THEN 'revoked'
                                  WHEN s.online THEN 'online'
                                  WHEN NOT s.online THEN 'offline' ELSE 'never' END, 0::bigint
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

CREATE VIEW fleet_owner (serial, org_id, merchant_id) AS
    SELECT t.serial, m.org_id, t.merchant_id FROM terminals t JOIN merchants m ON m.id = t.merchant_id;

INSERT INTO fleet_counts_org (org_id, dim, key, at, n)
    SELECT coalesce(o.org_id, 0), c.dim, c.key, c.at, count(*)
    FROM fleet_contrib c LEFT JOIN fleet_owner o ON o.serial = c.serial GROUP BY 1, 2, 3, 4;
INSERT INTO fleet_counts_merchant (merchant_id, dim, key, at, n)
    SELECT o.merchant_id, c.dim, c.key, c.at, count(*)
    FROM fleet_contrib c JOIN fleet_owner o ON o.serial = c.serial GROUP BY 1, 2, 3, 4;

-- Adds (sign 1) or takes away (-1) the terminal's rows of the dimensions dims,
-- for its present owner.
CREATE FUNCTION fleet_counts_apply(p_serial text, p_dims text[], p_sign bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fleet_counts_org AS f (org_id, dim, key, at, n)
        SELECT coalesce(o.org_id, 0), c.dim, c.key, c.at, p_sign * count(*)
        FROM fleet_contrib c LEFT JOIN fleet_owner o ON o.serial = c.serial
        WHERE c.serial = p_serial AND c.dim = ANY (p_dims) GROUP BY 1, 2, 3, 4
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = f.n + excluded.n;
    INSERT INTO fleet_counts_merchant AS f (merchant_id, dim, key, at, n)
        SELECT o.merchant_id, c.dim, c.key, c.at, p_sign * count(*)
        FROM fleet_contrib c JOIN fleet_owner o ON o.serial = c.serial
        WHERE c.serial = p_serial AND c.dim = ANY (p_dims) GROUP BY 1, 2, 3, 4
        ON CONFLICT (merchant_id, dim, key, at) DO UPDATE SET n = f.n + excluded.n;
END $$;

-- The same for every row of the terminal, for the owner merchant (NULL: none).
CREATE FUNCTION fleet_counts_move(p_serial text, p_merchant text, p_sign bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_org bigint := coalesce((SELECT org_id FROM merchants WHERE id = p_merchant), 0);
BEGIN
    INSERT INTO fleet_counts_org AS f (org_id, dim, key, at, n)
        SELECT v_org, dim, key, at, p_sign * count(*) FROM fleet_contrib
        WHERE serial = p_serial GROUP BY 1, 2, 3, 4
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = f.n + excluded.n;
    IF EXISTS (SELECT 1 FROM merchants WHERE id = p_merchant) THEN
        INSERT INTO fleet_counts_merchant AS f (merchant_id, dim, key, at, n)
            SELECT p_merchant, dim, key, at, p_sign * count(*) FROM fleet_contrib
            WHERE serial = p_serial GROUP BY 1, 2, 3, 4
            ON CONFLICT (merchant_id, dim, key, at) DO UPDATE SET n = f.n + excluded.n;
    END IF;
END $$;

-- One row of one terminal, for its present owner.
CREATE FUNCTION fleet_counts_one(p_serial text, p_dim text, p_key text, p_sign bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_org bigint;
    v_merchant text;
BEGIN
    SELECT org_id, merchant_id INTO v_org, v_merchant FROM fleet_owner WHERE serial = p_serial;
    INSERT INTO fleet_counts_org AS f (org_id, dim, key, at, n)
        VALUES (coalesce(v_org, 0), p_dim, p_key, 0, p_sign)
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = f.n + excluded.n;
    IF v_merchant IS NOT NULL THEN
        INSERT INTO fleet_counts_merchant AS f (merchant_id, dim, key, at, n)
            VALUES (v_merchant, p_dim, p_key, 0, p_sign)
            ON CONFLICT (merchant_id, dim, key, at) DO UPDATE SET n = f.n + excluded.n;
    END IF;
END $$;

-- The registry: before a change its rows go, after it they come back.
CREATE FUNCTION fleet_counts_dev() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_WHEN = 'BEFORE' THEN
        PERFORM fleet_counts_apply(OLD.serial, ARRAY['conn', 'model', 'fw', 'fee', 'feep'], -1);
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    PERFORM fleet_counts_apply(NEW.serial, ARRAY['conn', 'model', 'fw', 'fee', 'feep'], 1);
    RETURN NULL;
END $$;
CREATE TRIGGER fleet_counts_dev_insert AFTER INSERT ON devices
    FOR EACH ROW EXECUTE FUNCTION fleet_counts_dev();
CREATE TRIGGER fleet_counts_dev_update_old BEFORE UPDATE OF status, model ON devices
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.model IS DISTINCT FROM NEW.model)
    EXECUTE FUNCTION fleet_counts_dev();
CREATE TRIGGER fleet_counts_dev_update_new AFTER UPDATE OF status, model ON devices
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.model IS DISTINCT FROM NEW.model)
    EXECUTE FUNCTION fleet_counts_dev();
CREATE TRIGGER fleet_counts_dev_delete BEFORE DELETE ON devices
    FOR EACH ROW EXECUTE FUNCTION fleet_counts_dev();

-- The latest state. Its writes are upserts (BEFORE INSERT runs even when the row
-- turns into an update): the first state takes away "never" or "revoked" after
-- the insert. The usual ingest update changes nothing counted and runs nothing.
CREATE FUNCTION fleet_counts_state() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_status text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT status INTO v_status FROM devices WHERE serial = NEW.serial;
        IF v_status IS NOT NULL THEN
            PERFORM fleet_counts_one(NEW.serial, 'conn',
                                     CASE v_status WHEN 'revoked' THEN 'revoked' ELSE 'never' END, -1);
        END IF;
        PERFORM fleet_counts_apply(NEW.serial, ARRAY['conn', 'fw', 'fee', 'feep'], 1);
        RETURN NULL;
    END IF;
    IF TG_WHEN = 'BEFORE' THEN
        PERFORM fleet_counts_apply(OLD.serial, ARRAY['conn', 'fw', 'fee', 'feep'], -1);
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        PERFORM fleet_counts_apply(OLD.serial, ARRAY['conn'], 1);
    ELSE
        PERFORM fleet_counts_apply(NEW.serial, ARRAY['conn', 'fw', 'fee', 'feep'], 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER fleet_counts_state_insert AFTER INSERT ON device_state
    FOR EACH ROW EXECUTE FUNCTION fleet_counts_state();
CREATE TRIGGER fleet_counts_state_update_old
    BEFORE UPDATE OF online, fw_version, fee_version, fee_pending, fee_pending_at ON device_state
    FOR EACH ROW WHEN (OLD.online IS DISTINCT FROM NEW.online
                       OR OLD.fw_version IS DISTINCT FROM NEW.fw_version
                       OR OLD.fee_version IS DISTINCT FROM NEW.fee_version
                       OR OLD.fee_pending IS DISTINCT FROM NEW.fee_pending
                       OR OLD.fee_pending_at IS DISTINCT FROM NEW.fee_pending_at)
    EXECUTE FUNCTION fleet_counts_state();
CREATE TRIGGER fleet_counts_state_update_new
    AFTER UPDATE OF online, fw_version, fee_version, fee_pending, fee_pending_at ON device_state
    FOR EACH ROW WHEN (OLD.online IS DISTINCT FROM NEW.online
                       OR OLD.fw_version IS DISTINCT FROM NEW.fw_version
                       OR OLD.fee_version IS DISTINCT FROM NEW.fee_version
                       OR OLD.fee_pending IS DISTINCT FROM NEW.fee_pending
                       OR OLD.fee_pending_at IS DISTINCT FROM NEW.fee_pending_at)
    EXECUTE FUNCTION fleet_counts_state();
CREATE TRIGGER fleet_counts_state_delete_old BEFORE DELETE ON device_state
    FOR EACH ROW EXECUTE FUNCTION fleet_counts_state();
CREATE TRIGGER fleet_counts_state_delete_new AFTER DELETE ON device_state
    FOR EACH ROW EXECUTE FUNCTION fleet_counts_state();

-- Open alerts.
CREATE FUNCTION fleet_counts_alert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.closed_ms IS NULL THEN
        PERFORM fleet_counts_one(OLD.serial, 'alert', OLD.kind, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.closed_ms IS NULL THEN
        PERFORM fleet_counts_one(NEW.serial, 'alert', NEW.kind, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER fleet_counts_alert_insert AFTER INSERT ON alerts
    FOR EACH ROW EXECUTE FUNCTION fleet_counts_alert();
CREATE TRIGGER fleet_counts_alert_update AFTER UPDATE OF serial, kind, closed_ms ON alerts
    FOR EACH ROW WHEN (OLD.serial IS DISTINCT FROM NEW.serial OR OLD.kind IS DISTINCT FROM NEW.kind
                       OR (OLD.closed_ms IS NULL) IS DISTINCT FROM (NEW.closed_ms IS NULL))
    EXECUTE FUNCTION fleet_counts_alert();
CREATE TRIGGER fleet_counts_alert_delete AFTER DELETE ON alerts
    FOR EACH ROW EXECUTE FUNCTION fleet_counts_alert();

-- Binding: a terminal's rows move from one owner to the other.
CREATE FUNCTION fleet_counts_term() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM fleet_counts_move(NEW.serial, NULL, -1);
        PERFORM fleet_counts_move(NEW.serial, NEW.merchant_id, 1);
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM fleet_counts_move(OLD.serial, OLD.merchant_id, -1);
        PERFORM fleet_counts_move(NEW.serial, NEW.merchant_id, 1);
    ELSE
        PERFORM fleet_counts_move(OLD.serial, OLD.merchant_id, -1);
        PERFORM fleet_counts_move(OLD.serial, NULL, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER fleet_counts_term_insert AFTER INSERT ON terminals
    FOR EACH ROW WHEN (NEW.merchant_id IS NOT NULL) EXECUTE FUNCTION fleet_counts_term();
CREATE TRIGGER fleet_counts_term_update AFTER UPDATE OF merchant_id ON terminals
    FOR EACH ROW WHEN (OLD.merchant_id IS DISTINCT FROM NEW.merchant_id)
    EXECUTE FUNCTION fleet_counts_term();
CREATE TRIGGER fleet_counts_term_delete AFTER DELETE ON terminals
    FOR EACH ROW WHEN (OLD.merchant_id IS NOT NULL) EXECUTE FUNCTION fleet_counts_term();

-- A merchant moved to another organisation takes its counts along.
CREATE FUNCTION fleet_counts_merchant_org() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fleet_counts_org AS f (org_id, dim, key, at, n)
        SELECT OLD.org_id, dim, key, at, -n FROM fleet_counts_merchant
        WHERE merchant_id = OLD.id AND n != 0
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = f.n + excluded.n;
    INSERT INTO fleet_counts_org AS f (org_id, dim, key, at, n)
        SELECT NEW.org_id, dim, key, at, n FROM fleet_counts_merchant
        WHERE merchant_id = NEW.id AND n != 0
        ON CONFLICT (org_id, dim, key, at) DO UPDATE SET n = f.n + excluded.n;
    RETURN NULL;
END $$;
CREATE TRIGGER fleet_counts_merchant_org AFTER UPDATE OF org_id ON merchants
    FOR EACH ROW WHEN (OLD.org_id IS DISTINCT FROM NEW.org_id)
    EXECUTE FUNCTION fleet_counts_merchant_org();
