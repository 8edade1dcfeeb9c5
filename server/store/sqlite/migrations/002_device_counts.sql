-- 002: registry counts per (model, status), kept by triggers, so the fleet
-- summary costs a few rows instead of a scan of every registered terminal.

CREATE TABLE device_counts (
    model  TEXT NOT NULL,
    status TEXT NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (model, status)
) WITHOUT ROWID;

INSERT INTO device_counts (model, status, n)
    SELECT model, status, count(*) FROM devices GROUP BY model, status;

CREATE TRIGGER device_counts_insert AFTER INSERT ON devices BEGIN
    INSERT INTO device_counts (model, status, n) VALUES (NEW.model, NEW.status, 1)
        ON CONFLICT (model, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER device_counts_update AFTER UPDATE OF model, status ON devices BEGIN
    UPDATE device_counts SET n = n - 1 WHERE model = OLD.model AND status = OLD.status;
    INSERT INTO device_counts (model, status, n) VALUES (NEW.model, NEW.status, 1)
        ON CONFLICT (model, status) DO UPDATE SET n = n + 1;
    DELETE FROM device_counts WHERE n = 0;
END;

CREATE TRIGGER device_counts_delete AFTER DELETE ON devices BEGIN
    UPDATE device_counts SET n = n - 1 WHERE model = OLD.model AND status = OLD.status;
    DELETE FROM device_counts WHERE n = 0;
END;
