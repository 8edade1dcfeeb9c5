#!/usr/bin/env bash
# test_backup.sh - `posfleet admin backup` while posfleetd ingests, and a restore. A fleet
# of simulated terminals reports (posfleet-sim) while merchants, bindings, a swap and its
# repair, another repair and a completed rollout are in the store; the backup is taken
# under that load (posfleetd keeps accepting reports meanwhile), is a SQLite database that
# passes integrity_check, and is refused to ops (admin only) and when FILE exists. A change
# made after the backup is not in it. The copy is restored into a fresh posfleetd
# (docs/operations.md, "Backup and restore"): every merchant, terminal, rollout, repair and
# audit row is there, by count and checksum through the API, and it ingests again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"
. "$(dirname "$0")/rollout_lib.sh"
. "$(dirname "$0")/admin_lib.sh"

N=60
ro_stack $N BK
adm_populate BK
"$PF_KEYS" api-token --name test-admin --role admin --file "$PF_TMP/server/tokens" \
    >"$PF_TMP/server/admin.token"
kill -HUP "$(pf_pid_of posfleetd)"
admin() { PF_CLI_TOKEN="$PF_TMP/server/admin.token" pf_cli "$@"; }
pf_wait_for 20 "posfleetd to take the admin token" eval \
    "admin admin backup '$PF_TMP/probe.db' >/dev/null 2>&1"
rm -f "$PF_TMP/probe.db"

adm_snapshot "$PF_TMP/before.txt"
accepted() { curl -fsS "$POSFLEET_URL/metrics" |
    awk '/^posfleet_messages_accepted_total/ { n += $2 } END { print n + 0 }'; }
a0=$(accepted)
backup="$PF_TMP/fleet-backup.db"
admin admin backup "$backup" >"$PF_TMP/backup.out" || pf_fail "admin backup failed"
grep -q "integrity_check ok" "$PF_TMP/backup.out" || pf_fail "backup output: $(cat "$PF_TMP/backup.out")"
pf_wait_for 20 "posfleetd to accept reports after the backup" \
    eval "(( \$(accepted) > $a0 ))"
[[ $(stat -c %a "$backup") == 600 ]] || pf_fail "backup mode $(stat -c %a "$backup"), not 600"
[[ $(sqlite3 "$backup" "PRAGMA integrity_check") == ok ]] || pf_fail "backup fails integrity_check"
[[ ! -e "$backup.part" ]] || pf_fail "the partial file is left"
ls -A "$PF_TMP/server" | grep -q '^\.backup-' && pf_fail "a server-side copy is left behind"
pf_log "backup under ingest: $(cat "$PF_TMP/backup.out")"

# Refusals: ops may not (403, exit 4... whatever the CLI maps it to, not 0), FILE exists.
if pf_cli admin backup "$PF_TMP/ops.db" 2>"$PF_TMP/ops.err"; then
    pf_fail "ops took a backup"
fi
grep -qi "permission\|role" "$PF_TMP/ops.err" || pf_fail "ops refusal: $(cat "$PF_TMP/ops.err")"
[[ ! -e "$PF_TMP/ops.db" && ! -e "$PF_TMP/ops.db.part" ]] || pf_fail "a refused backup left a file"
cp "$backup" "$PF_TMP/copy.db"
if admin admin backup "$backup" 2>"$PF_TMP/exists.err"; then pf_fail "backup replaced FILE"; fi
cmp -s "$backup" "$PF_TMP/copy.db" || pf_fail "a refused backup changed FILE"

# A change after the backup is not in it.
pf_cli merchant add M-AFTER --uscc 9144030071526730X0 --name "Too Late" --address "1 Road" \
    --contact "Li Lei" --phone 13800000001 --settlement T0 --mcc 5411 --tz UTC >/dev/null

# Restore (docs/operations.md): stop posfleetd, put the copy in place as store.path, start.
pf_kill sim 10
pf_server_stop
mkdir -p "$PF_TMP/restored"
install -m 0600 "$backup" "$PF_TMP/restored/posfleetd.db"
sed -e "s|^store.path = .*|store.path = $PF_TMP/restored/posfleetd.db|" \
    "$PF_TMP/server/posfleetd.conf" >"$PF_TMP/restored/posfleetd.conf"
pf_spawn restored "$PF_SERVERD" -c "$PF_TMP/restored/posfleetd.conf"
pf_wait_for 20 "the restored posfleetd to answer" pf_cli_quiet summary
adm_snapshot "$PF_TMP/after.txt"
if ! diff -u "$PF_TMP/before.txt" "$PF_TMP/after.txt"; then
    pf_fail "the restored store differs from the one backed up"
fi
if pf_cli merchant show M-AFTER >/dev/null 2>&1; then pf_fail "a change after the backup is in it"; fi
while read -r kind n _; do
    (( n > 0 )) || pf_fail "no $kind rows to compare"
done <"$PF_TMP/after.txt"
PF_STORE="$PF_TMP/restored/posfleetd.db"
h0=$(pf_sql "select count(*) from health")
ro_sim_start
pf_wait_for 60 "the restored posfleetd to ingest reports" \
    eval "(( \$(pf_sql 'select count(*) from health') > $h0 ))"
pf_log "restored: $(tr '\n' ';' <"$PF_TMP/after.txt")"
