-- 012: a terminal's merchant is its binding (terminals.merchant_id) and
-- nothing else. Until now the registry kept a merchant column of its own,
-- set by `device add --merchant` and the import without binding the
-- terminal: `posfleet device` showed it (even for a merchant that does not
-- exist) and rollout cohorts selected by it while the terminal stayed in
-- stock. Registration with a merchant now binds (docs/support.md).
--
-- Existing values: a registered terminal in stock whose registry merchant
-- exists and is active is bound to it here, as `bind` would (installed, the
-- merchant's fee plan and time zone, a history event and an audit row by the
-- actor "migration"). Every other value is dropped with the column: a
-- merchant that does not exist or is not active (the terminal stays in stock
-- and unbound), and a terminal not in stock (its binding already decides).

CREATE TEMP TABLE m010_bind AS
SELECT d.serial AS serial, m.id AS merchant_id, m.fee_plan AS fee_plan, m.tz AS tz,
       t.state AS from_state,
       CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) AS now_ms
  FROM devices d
  JOIN merchants m ON m.id = d.merchant_id AND m.status = 'active'
  LEFT JOIN terminals t ON t.serial = d.serial
 WHERE d.status = 'registered' AND (t.serial IS NULL OR t.state = 'in_stock');

INSERT INTO terminals (serial, state, merchant_id, fee_plan, tz, bound_ms, updated_ms)
SELECT serial, 'installed', merchant_id, fee_plan, tz, now_ms, now_ms FROM m010_bind WHERE 1
    ON CONFLICT (serial) DO UPDATE SET state = excluded.state,
       merchant_id = excluded.merchant_id, fee_plan = excluded.fee_plan, tz = excluded.tz,
       bound_ms = excluded.bound_ms, updated_ms = excluded.updated_ms;

INSERT INTO terminal_events (serial, ts_ms, kind, from_state, to_state, merchant_id, actor,
                             detail)
SELECT serial, now_ms, 'bind', 'in_stock', 'installed', merchant_id, 'migration',
       'registry merchant became the binding'
  FROM m010_bind;

INSERT INTO audit (ts_ms, actor, role, action, target, before, after)
SELECT now_ms, 'migration', 'system', 'terminal.bind', serial, NULL,
       json_object('state', 'installed', 'merchant_id', merchant_id)
  FROM m010_bind;

INSERT INTO audit_ref (audit_id, serial, merchant_id)
SELECT a.id, a.target, json_extract(a.after, '$.merchant_id')
  FROM audit a WHERE a.actor = 'migration' AND a.action = 'terminal.bind'
   AND a.target IN (SELECT serial FROM m010_bind);

DROP TABLE m010_bind;

ALTER TABLE devices DROP COLUMN merchant_id;
