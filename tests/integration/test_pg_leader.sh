#!/usr/bin/env bash
# test_pg_leader.sh - the scheduler election (server/store/postgres/pg_leader.c)
# against a real PostgreSQL 15 (tests/pg/pg.sh; the ctest fixture's server
# when PF_PG_DIR names one, else a private one), three electors in separate
# processes (pf_pg_elector, retry every 500 ms):
#   - exactly one leads, and pg_locks shows the lock held by its session;
#   - kill -9 of the leader, ten times (a fresh elector replaces each one
#     killed): another takes over; each failover's time from the kill to the
#     new leader's claim is measured, their median must be <= 2,000 ms and
#     none above 5,000 ms;
#   - the leader's session terminated by the server (pg_terminate_backend):
#     that elector reports losing leadership at once, and one elector leads
#     again;
#   - never two leaders: a sampler reads pg_locks every 100 ms throughout and
#     never sees the lock granted twice, and after every change exactly one
#     live elector claims to lead.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
# shellcheck source=../pg/pg.sh
. "$PF_SRC/tests/pg/pg.sh"

ELECTOR="$PF_BUILD/tests/pf_pg_elector"
pf_require_bin "$ELECTOR"
RETRY_MS=500
MEDIAN_MAX_MS=2000
ONE_MAX_MS=5000

# The fixture's server, or a private one outside PF_TMP (pg.sh needs a parent
# the server's account can traverse).
if [[ -n "${PF_PG_DIR:-}" && -f "$PF_PG_DIR/data/postmaster.pid" ]]; then
    PGDIR="$PF_PG_DIR"
else
    PGPARENT="$(mktemp -d "${TMPDIR:-/tmp}/pf-pg.XXXXXX")"
    chmod 755 "$PGPARENT"
    PGDIR="$PGPARENT/pg"
    pf_at_exit "pg_stop '$PGDIR'; rmdir '$PGPARENT'"
    pg_start "$PGDIR" || pf_fail "PostgreSQL 15 did not start (see above)"
fi
PF_PG_DB=postgres pg_psql "$PGDIR" "DROP DATABASE IF EXISTS pf_leader WITH (FORCE)" >/dev/null
PF_PG_DB=postgres pg_psql "$PGDIR" "CREATE DATABASE pf_leader" >/dev/null
DSN="$(pg_dsn "$PGDIR") dbname=pf_leader"
pf_log "PostgreSQL in $PGDIR, database pf_leader"

# The lock as pg_locks shows it: key 0x706f73666c656574 ("posfleet").
LOCKQ="SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
 WHERE d.datname = 'pf_leader' AND l.locktype = 'advisory' AND l.granted
   AND l.classid = 1886352230 AND l.objid = 1818584436 AND l.objsubid = 1"
lock_holders() { PF_PG_DB=pf_leader pg_psql "$PGDIR" "$LOCKQ"; }
lock_pid() { PF_PG_DB=pf_leader pg_psql "$PGDIR" "${LOCKQ/count(*)/l.pid}"; }

# Sampler: one line per reading, the number of sessions granted the lock.
sampler() {
    while true; do
        PF_PG_DB=pf_leader pg_psql "$PGDIR" "$LOCKQ" 2>/dev/null || echo "?"
        sleep 0.1
    done
}
pf_spawn sampler sampler

NEXT=0
ELECTORS=()
spawn_elector() {
    NEXT=$((NEXT + 1))
    pf_spawn "e$NEXT" "$ELECTOR" "$DSN" "$RETRY_MS"
    ELECTORS+=("e$NEXT")
}
last_line() { tail -n 1 "$(pf_log_of "$1")" 2>/dev/null || true; }
# The live electors whose last word is "leader".
leaders() {
    local e
    for e in "${ELECTORS[@]}"; do
        pf_alive "$e" || continue
        if [[ "$(last_line "$e")" == leader* ]]; then
            printf '%s\n' "$e"
        fi
    done
    return 0
}
one_leader() { [[ "$(leaders | wc -l)" == 1 ]]; }
# one_leader_other NAME: one leader, and not NAME.
one_leader_other() { one_leader && [[ "$(leaders)" != "$1" ]]; }

for _ in 1 2 3; do spawn_elector; done
pf_wait_for 15 "one elector to lead" one_leader
check_lock() {
    local who="$1" pid
    pid="$(last_line "$who" | awk '{print $2}')"
    [[ "$(lock_holders)" == 1 ]] || pf_fail "pg_locks: lock granted $(lock_holders) times"
    [[ "$(lock_pid)" == "$pid" ]] ||
        pf_fail "pg_locks: the lock is held by backend $(lock_pid), $who claims backend $pid"
}
check_lock "$(leaders)"
pf_log "$(leaders) leads; pg_locks agrees"

# Ten failovers by kill -9.
TIMES=()
for i in $(seq 1 10); do
    old="$(leaders)"
    t0="$(date +%s%3N)"
    kill -9 "$(pf_pid_of "$old")"
    pf_wait_for 15 "a new leader after killing $old" one_leader_other "$old"
    new="$(leaders)"
    t1="$(last_line "$new" | awk '{print $3}')"
    TIMES+=($((t1 - t0)))
    check_lock "$new"
    pf_log "failover $i: $old killed, $new leads after $((t1 - t0)) ms"
    spawn_elector
done

SORTED="$(printf '%s\n' "${TIMES[@]}" | sort -n)"
MEDIAN="$(printf '%s\n' "$SORTED" | awk '{a[NR]=$1} END {print int((a[5] + a[6]) / 2)}')"
MAX="$(printf '%s\n' "$SORTED" | tail -n 1)"
pf_log "failover times (ms): ${TIMES[*]}; median $MEDIAN, max $MAX; retry ${RETRY_MS} ms; load $(cut -d' ' -f1-3 /proc/loadavg)"
((MEDIAN <= MEDIAN_MAX_MS)) || pf_fail "median failover $MEDIAN ms above $MEDIAN_MAX_MS ms"
((MAX <= ONE_MAX_MS)) || pf_fail "a failover took $MAX ms, above $ONE_MAX_MS ms"

# The server ends the leader's session: leadership is lost at once, and one
# elector (it or another) leads again.
old="$(leaders)"
pid="$(last_line "$old" | awk '{print $2}')"
lines_before="$(wc -l <"$(pf_log_of "$old")")"
PF_PG_DB=pf_leader pg_psql "$PGDIR" "SELECT pg_terminate_backend($pid)" >/dev/null
lost() { tail -n +"$((lines_before + 1))" "$(pf_log_of "$old")" | grep -q '^follower'; }
pf_wait_for 5 "$old to report losing leadership" lost
pf_wait_for 15 "one elector to lead after the session was terminated" one_leader
check_lock "$(leaders)"
pf_log "session of $old terminated: it stepped down, $(leaders) leads"

# Never two at once, by the sampler.
pf_kill sampler
readings="$(wc -l <"$(pf_log_of sampler)")"
((readings >= 20)) || pf_fail "the sampler read pg_locks only $readings times"
if grep -qvE '^[01]$' "$(pf_log_of sampler)"; then
    pf_fail "pg_locks showed the lock granted to several sessions (or unreadable): $(sort "$(pf_log_of sampler)" | uniq -c | tr '\n' ' ')"
fi
pf_log "pg_locks sampled $readings times: never more than one holder"
pf_log "PASS"
