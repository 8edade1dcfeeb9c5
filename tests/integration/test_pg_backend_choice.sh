#!/usr/bin/env bash
# test_pg_backend_choice.sh - store.backend = postgres reaches the PostgreSQL
# backend through the store's ops table (docs/store.md, "Choosing the backend
# at run time"), against a real PostgreSQL 15 (tests/pg/pg.sh; the ctest
# fixture's server when PF_PG_DIR names one):
#   - --check-config names the backend, and refuses postgres without store.dsn;
#   - posfleetd started on it opens the store (connects, applies the
#     PostgreSQL migrations) and then either serves or, while the backend lacks
#     a function its start needs, exits 1 naming it ("store: the postgres
#     backend has no NAME yet"), never crashing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
# shellcheck source=../pg/pg.sh
. "$PF_SRC/tests/pg/pg.sh"

pf_require_bin "$PF_SERVERD"
if [[ -n "${PF_PG_DIR:-}" && -f "$PF_PG_DIR/data/postmaster.pid" ]]; then
    PGDIR="$PF_PG_DIR"
else
    PGPARENT="$(mktemp -d "${TMPDIR:-/tmp}/pf-pg.XXXXXX")"
    chmod 755 "$PGPARENT"
    PGDIR="$PGPARENT/pg"
    pf_at_exit "pg_stop '$PGDIR'; rmdir '$PGPARENT'"
    pg_start "$PGDIR" || pf_fail "PostgreSQL 15 did not start (see above)"
fi
PF_PG_DB=postgres pg_psql "$PGDIR" "DROP DATABASE IF EXISTS pf_backend WITH (FORCE)" >/dev/null
PF_PG_DB=postgres pg_psql "$PGDIR" "CREATE DATABASE pf_backend" >/dev/null
DSN="$(pg_dsn "$PGDIR") dbname=pf_backend"

dir=$(pf_tmpdir server)
port=$(pf_free_port)
write_conf() {
    cat >"$dir/posfleetd.conf" <<CONF
mqtt.host = 127.0.0.1
mqtt.port = $(pf_free_port)
store.path = $dir/posfleetd.db
http.addr = 127.0.0.1
http.port = $port
http.tls = off
log_level = info
$1
CONF
}

write_conf "store.backend = postgres"
if "$PF_SERVERD" -c "$dir/posfleetd.conf" --check-config >"$dir/check" 2>&1; then
    pf_fail "--check-config passed postgres without store.dsn"
fi
grep -qF "store.dsn: required with store.backend = postgres" "$dir/check" ||
    pf_fail "--check-config says: $(cat "$dir/check")"

write_conf "store.backend = postgres
store.dsn = $DSN"
"$PF_SERVERD" -c "$dir/posfleetd.conf" --check-config >"$dir/check" 2>&1 ||
    pf_fail "--check-config refused: $(cat "$dir/check")"
grep -qF "configuration OK (store.backend = postgres)" "$dir/check" ||
    pf_fail "--check-config does not name the backend: $(cat "$dir/check")"

pf_spawn posfleetd "$PF_SERVERD" -c "$dir/posfleetd.conf"
pid=$PF_SPAWN_PID
log=$(pf_log_of posfleetd)
serving() { curl -s -o /dev/null "http://127.0.0.1:$port/v1/summary"; }
# Ended: gone, or a zombie waiting for this shell to reap it.
ended() { [[ ! -e /proc/$pid ]] || [[ $(awk '{ print $3 }' "/proc/$pid/stat") == Z ]]; }
pf_wait_for 60 "posfleetd to serve or exit" eval 'ended || serving'
migrated=$(PF_PG_DB=pf_backend pg_psql "$PGDIR" "SELECT count(*) FROM schema_migrations")
(( migrated > 0 )) || pf_fail "posfleetd did not migrate the PostgreSQL database"
[[ -z "$(ls "$dir"/posfleetd.db* 2>/dev/null)" ]] || pf_fail "posfleetd created a SQLite file"
if ! ended; then
    pf_log "posfleetd serves on PostgreSQL ($migrated migrations)"
else
    wait "$pid" 2>/dev/null && st=0 || st=$?
    grep -qE "store: the postgres backend has no [a-z_]+ yet" "$log" ||
        pf_fail "posfleetd exited ($st) without naming a missing function: $(tail -3 "$log")"
    (( st == 1 )) || pf_fail "posfleetd exited with $st, not 1: $(tail -3 "$log")"
    pf_log "posfleetd opened PostgreSQL ($migrated migrations), then: $(grep -oE "store: the postgres backend has no [a-z_]+ yet" "$log" | head -1)"
fi
pf_log "PASS"
