#!/usr/bin/env bash
# bench_failover.sh - how long the scheduler election leaves the fleet without a
# scheduling instance when the leader dies (server/store/postgres/pg_leader.c).
#
# PostgreSQL 15 from tests/pg/pg.sh, ELECTORS electors (tests/pg/pg_elector.c) as
# processes retrying every RETRY_MS; FAILOVERS times: kill -9 of the leader, time from the
# kill to the next leader's claim (its own clock line), a fresh elector replaces the dead
# one. Prints the median, p90 and max beside the baseline: the followers' retry wait
# alone, a uniform phase in [0, RETRY_MS), whose expectation is RETRY_MS / 2 (what a
# failover would cost if PostgreSQL freed the lock the instant the leader died).
# Load averages before and after go to the row.
#
# Knobs: FAILOVERS=10 ELECTORS=3 RETRY_MS=500.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source=../pg/pg.sh
. "$PF_SRC/tests/pg/pg.sh"

FAILOVERS=${FAILOVERS:-10}
ELECTORS_N=${ELECTORS:-3}
RETRY_MS=${RETRY_MS:-500}
ELECTOR="$PF_BUILD/tests/pf_pg_elector"
pf_require_bin "$ELECTOR"
load0="$(cut -d' ' -f1-3 /proc/loadavg)"

parent="$(mktemp -d "${TMPDIR:-/tmp}/pf-pg.XXXXXX")"
chmod 755 "$parent"
pf_at_exit "pg_stop '$parent/pg'; rmdir '$parent'"
pg_start "$parent/pg" >&2 || pf_fail "PostgreSQL 15 did not start"
DSN="$(pg_dsn "$parent/pg")"

NEXT=0
NAMES=()
spawn() {
    NEXT=$((NEXT + 1))
    pf_spawn "e$NEXT" "$ELECTOR" "$DSN" "$RETRY_MS"
    NAMES+=("e$NEXT")
}
last_line() { tail -n 1 "$(pf_log_of "$1")" 2>/dev/null || true; }
leaders() {
    local e
    for e in "${NAMES[@]}"; do
        pf_alive "$e" || continue
        if [[ "$(last_line "$e")" == leader* ]]; then
            printf '%s\n' "$e"
        fi
    done
    return 0
}
one_leader_other() { [[ "$(leaders | wc -l)" == 1 && "$(leaders)" != "$1" ]]; }

for _ in $(seq 1 "$ELECTORS_N"); do spawn; done
pf_wait_for 15 "one elector to lead" one_leader_other none
times=()
for i in $(seq 1 "$FAILOVERS"); do
    old="$(leaders)"
    t0="$(date +%s%3N)"
    kill -9 "$(pf_pid_of "$old")"
    pf_wait_for 15 "a new leader after killing $old" one_leader_other "$old"
    t1="$(last_line "$(leaders)" | awk '{print $3}')"
    times+=($((t1 - t0)))
    pf_log "failover $i: $((t1 - t0)) ms"
    spawn
done
load1="$(cut -d' ' -f1-3 /proc/loadavg)"

sorted="$(printf '%s\n' "${times[@]}" | sort -n)"
median="$(printf '%s\n' "$sorted" | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')"
p90="$(printf '%s\n' "$sorted" | awk '{a[NR]=$1} END {i = int(NR * 0.9 + 0.999); print a[i]}')"
max="$(printf '%s\n' "$sorted" | tail -n 1)"
base=$((RETRY_MS / 2))
ratio="$(awk -v a="$median" -v b="$base" 'BEGIN {printf "%.2f", a / b}')"
met=no
awk -v m="$median" 'BEGIN {exit !(m <= 2000)}' && met=yes
echo "ROW|scheduler failover after kill -9 of the leader, median of $FAILOVERS ($(date -u +%Y-%m-%d); $ELECTORS_N electors as processes, retry $RETRY_MS ms, PostgreSQL 15 on a unix socket; load $load0 before, $load1 after; each: ${times[*]} ms)|$median ms (p90 $p90 ms, max $max ms)|followers' retry wait alone (uniform in [0, $RETRY_MS) ms): $base ms|$ratio|≤ 2000 ms|$met"
