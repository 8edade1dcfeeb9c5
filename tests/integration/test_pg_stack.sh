#!/usr/bin/env bash
# test_pg_stack.sh - posfleetd on the PostgreSQL store (store.backend =
# postgres, docs/store.md) with the real broker and a real agent: PostgreSQL 15
# from tests/pg/pg.sh (the ctest fixture's server when PF_PG_DIR names one,
# else a private one), a terminal registered through the API reports, `posfleet
# device` and `posfleet devices` show it online with its report, the rows are
# in PostgreSQL (committed by the ingest batch), and a restarted posfleetd keeps
# all of it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
# shellcheck source=../pg/pg.sh
. "$PF_SRC/tests/pg/pg.sh"

if [[ -n "${PF_PG_DIR:-}" && -f "$PF_PG_DIR/data/postmaster.pid" ]]; then
    PGDIR="$PF_PG_DIR"
else
    PGPARENT="$(mktemp -d "${TMPDIR:-/tmp}/pf-pg.XXXXXX")"
    chmod 755 "$PGPARENT"
    PGDIR="$PGPARENT/pg"
    pf_at_exit "pg_stop '$PGDIR'; rmdir '$PGPARENT'"
    pg_start "$PGDIR" || pf_fail "PostgreSQL 15 did not start (see above)"
fi
PF_PG_DB=postgres pg_psql "$PGDIR" "DROP DATABASE IF EXISTS pf_stack WITH (FORCE)" >/dev/null
PF_PG_DB=postgres pg_psql "$PGDIR" "CREATE DATABASE pf_stack" >/dev/null
export PF_STORE_DSN="$(pg_dsn "$PGDIR") dbname=pf_stack"
sql() { PF_PG_DB=pf_stack pg_psql "$PGDIR" "$1"; }

pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
pf_server_start
# Everything of posfleetd's stays in the test's directory (its artifacts next to store.path).
[[ -d "$(dirname "$PF_STORE")/artifacts" ]] ||
    pf_fail "posfleetd's artifacts directory is not in the test's directory"
pf_cli device add PGS1 --model PX-500 >/dev/null

pf_agent_start PGS1
pf_wait_for 30 "PGS1 online" pf_device_online PGS1
health_rows() { [[ "$(sql "SELECT count(*) FROM health WHERE serial = 'PGS1'")" -ge "$1" ]]; }
pf_wait_for 30 "two reports of PGS1 committed in PostgreSQL" health_rows 2
pf_cli device PGS1 | grep -q "PGS1" || pf_fail "posfleet device PGS1 does not show it"
pf_cli devices | grep -q "PGS1" || pf_fail "posfleet devices does not list PGS1"
[[ "$(sql "SELECT action FROM audit WHERE target = 'PGS1'")" == device.add ]] ||
    pf_fail "the registration's audit row is not in PostgreSQL"
[[ "$(pf_device_field PGS1 '$.fw_version')" != "" ]] || pf_fail "no firmware in the device view"

# A restarted posfleetd reads everything back from PostgreSQL.
pf_kill agent-PGS1 10
pf_kill posfleetd 10
before="$(sql "SELECT count(*) FROM health WHERE serial = 'PGS1'")"
pf_server_start
[[ "$(sql "SELECT count(*) FROM health WHERE serial = 'PGS1'")" == "$before" ]] ||
    pf_fail "the health history changed across the restart"
pf_cli device PGS1 | grep -q "PGS1" || pf_fail "PGS1 lost across the restart"
pf_cli devices | grep -q "PGS1" || pf_fail "posfleet devices lost PGS1 across the restart"
pf_cli audit | grep -q "device.add" || pf_fail "the audit log lost the registration"
pf_log "PASS: posfleetd on PostgreSQL registers, ingests, lists and keeps a terminal"
