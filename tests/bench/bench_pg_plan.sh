#!/usr/bin/env bash
# bench_pg_plan.sh - planning a rollout over 1,000,000 registered terminals on
# PostgreSQL (issue 19: <= 2 s), side by side with the SQLite backend planning
# the same fleet in the same run (the named baseline).
#
# PostgreSQL 15 comes from tests/pg/pg.sh (a throw-away server on a unix socket
# in a temporary directory). bench_pg_plan writes the fleet in one statement
# (generate_series; SQLite: a recursive CTE), then plans RUNS rollouts over all
# of it in three stages (1%, 10%, 100%), each aborted before the next, and
# prints the wall time of each create call with the plan's own select / order /
# insert times. The row gives the medians, their ratio, and the load average
# before and after.
#
#   TERMINALS=1000000 RUNS=3 tests/bench/bench_pg_plan.sh   (or tests/bench/run.sh pg_plan)
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../pg/pg.sh"

TERMINALS=${TERMINALS:-1000000}
RUNS=${RUNS:-3}
[[ "${SMOKE:-}" == 1 ]] && TERMINALS=20000 RUNS=1
BIN="$PF_BUILD/tests/bench/bench_pg_plan"
pf_require_bin "$BIN"
work=$(pf_tmpdir bench)
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
col_median() { awk -v c="$2" '{ print $c }' "$1" | median; }
nf=$(echo "$TERMINALS" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta')

load_before=$(cut -d' ' -f1 /proc/loadavg)
pf_log "load before: $(uptime)"
# A private server outside PF_TMP (pg.sh needs a parent the server's account
# can traverse), as test_pg_leader.sh does.
pgparent="$(mktemp -d -t pf-pg.XXXXXX)"
chmod 755 "$pgparent"
pgdir="$pgparent/pg"
pf_at_exit "pg_stop '$pgdir'; rmdir '$pgparent'"
pg_start "$pgdir" >&2 || pf_fail "PostgreSQL 15 did not start (see above)"
"$BIN" postgres "$(pg_dsn "$pgdir")" "$TERMINALS" "$RUNS" >"$work/pg.txt"
"$BIN" sqlite "$work/s.db" "$TERMINALS" "$RUNS" >"$work/sqlite.txt"
load_after=$(cut -d' ' -f1 /proc/loadavg)
pf_log "postgres runs (wall select order insert cohort):"; cat "$work/pg.txt" >&2
pf_log "sqlite runs:"; cat "$work/sqlite.txt" >&2

pg_ms=$(col_median "$work/pg.txt" 1)
sq_ms=$(col_median "$work/sqlite.txt" 1)
parts() { printf 'select %s, order %s, insert %s ms' "$(col_median "$1" 2)" "$(col_median "$1" 3)" "$(col_median "$1" 4)"; }
secs() { awk -v m="$1" 'BEGIN { printf "%.2f", m / 1000 }'; }
ratio=$(awk -v a="$pg_ms" -v b="$sq_ms" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
met=$(awk -v a="$pg_ms" 'BEGIN { print (a <= 2000) ? "yes" : "no" }')
echo "ROW|plan a rollout over $nf registered terminals on PostgreSQL 15 (pfs_pg_rollout_create: cohort through a cursor, first stage by unnest, plan chunks; median of $RUNS; load $load_before → $load_after)|$(secs "$pg_ms") s ($(parts "$work/pg.txt"))|SQLite backend, same fleet, same run: $(secs "$sq_ms") s ($(parts "$work/sqlite.txt"))|$ratio|≤ 2 s|$met"
