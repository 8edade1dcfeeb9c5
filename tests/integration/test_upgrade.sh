#!/usr/bin/env bash
# test_upgrade.sh - a database made by an earlier release migrates with nothing lost, and
# a database newer than this posfleetd is refused. The fixture (tests/fixtures/
# store-schemaNNN.sql, a text dump made by make_store_fixture.sh with that release) is
# loaded with the sqlite3 CLI and opened by this posfleetd, which applies every migration
# it has beyond the fixture's: the records read through the API (merchants, terminals,
# rollouts, repairs, audit: counts and checksums) equal the ones the old release answered,
# and no row of the tables holding them went. Then the store is stamped one version newer
# than this posfleetd's highest migration (read from the store it just migrated, never
# written here): posfleetd refuses to start, names both versions, and changes nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/admin_lib.sh"

fixture=$(ls "$PF_SRC"/tests/fixtures/store-schema*.sql | head -1)
expect="${fixture%.sql}.expect"
[[ -f "$fixture" && -f "$expect" ]] || pf_fail "no store fixture in tests/fixtures"

pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
mkdir -p "$PF_TMP/server"
db="$PF_TMP/server/posfleetd.db"
sqlite3 -batch "$db" <"$fixture" || pf_fail "sqlite3 cannot load $fixture"
old=$(sqlite3 "$db" "select max(version) from schema_migrations")
tables="merchants devices terminals terminal_events repairs rollouts rollout_members
    rollout_plan rollout_counts bundles update_offers update_events audit"
count() { for t in $tables; do printf '%s %s\n' "$t" "$(sqlite3 "$1" "select count(*) from $t")"; done; }
count "$db" >"$PF_TMP/rows-before"

PF_SILENT_AFTER=1000 pf_server_start
new=$(pf_sql "select max(version) from schema_migrations")
(( new >= old )) || pf_fail "schema went from $old to $new"
adm_snapshot "$PF_TMP/snapshot"
diff -u "$expect" "$PF_TMP/snapshot" || pf_fail "records changed in the migration from schema $old"
count "$PF_STORE" >"$PF_TMP/rows-after"
diff -u "$PF_TMP/rows-before" "$PF_TMP/rows-after" || pf_fail "rows changed in the migration"
pf_log "schema $old -> $new: $(tr '\n' ';' <"$PF_TMP/snapshot")"

# A database from a newer release: refused, named, untouched.
pf_server_stop
future=$((new + 1))
sqlite3 "$db" "insert into schema_migrations values ($future, 'from_a_newer_release', 0)"
sum=$(sha256sum <"$db")
set +e
timeout 20 "$PF_SERVERD" -c "$PF_TMP/server/posfleetd.conf" >"$PF_TMP/newer.out" 2>&1
rc=$?
set -e
[[ $rc == 1 ]] || pf_fail "posfleetd on a newer database exited $rc: $(cat "$PF_TMP/newer.out")"
grep -qF "schema version $future, newer than this posfleetd knows ($new)" "$PF_TMP/newer.out" ||
    pf_fail "refusal does not name both versions: $(cat "$PF_TMP/newer.out")"
[[ $(sha256sum <"$db") == "$sum" ]] || pf_fail "posfleetd changed a database it refused"
pf_log "schema $future refused: $(tail -1 "$PF_TMP/newer.out")"
