#!/usr/bin/env bash
# bench_rollout.sh - planning a staged rollout over 1,000,000 registered terminals, and
# `posfleet rollout show` at that size (docs/rollouts.md).
#
# Setup (not timed): posfleetd without a broker (its MQTT port has no listener: the
# registry and the API work, terminals never connect), TERMINALS rows imported with
# `posfleet device import` (PX-500/A920/V240m mix, hardware revision r1), one signed
# firmware bundle targeting all three models uploaded, so the cohort is the whole registry.
#
# Plan: `POST /v1/rollouts` with curl (stages 1%,10%,50%,100%, window 00:00-24:00), wall
# time of the request (curl's time_total), posfleetd's CPU time for it (user + system from
# /proc: the steadier figure on a shared machine) and the plan fields posfleetd answers
# (select_ms, order_ms, insert_ms: the first stage's member rows and the plan chunks of the
# others, docs/rollouts.md), RUNS times; each rollout is aborted before the next one is
# created (a live rollout over the same terminals would be refused as an overlap; the aborted
# rollouts' rows and plans stay, so later runs plan next to them). Side by side: the sqlite3
# shell reading the same serials from the same store (`SELECT serial FROM devices ORDER BY
# serial` into /dev/null), the floor of a cohort scan; and, logged and quoted in the row, the
# shell inserting a row per terminal into an empty copy of rollout_members with its indexes:
# what writing every member as a row at planning (before migration 009) cannot go below.
#
# Show: with the last rollout live (running, 1,000,000 pending members) and posfleetd settled
# after planning it (below 10 % CPU over a second), the wall time of
# `posfleet rollout show ID` (process start, HTTP, JSON, rendering), median of REPS, side by
# side with the raw `GET /v1/rollouts/ID` with curl. `GET /v1/rollouts` (the list) is logged.
#
# Knobs: TERMINALS=1000000 RUNS=5 REPS=20.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/stack.sh"
. "$(dirname "$0")/../integration/update_lib.sh"

TERMINALS=${TERMINALS:-1000000}
RUNS=${RUNS:-5}
REPS=${REPS:-20}
PF_SIM="$PF_BUILD/tests/sim/posfleet-sim"
pf_require_bin "$PF_SIM"
pf_require_bin "$PF_PACK"
if nm -an "$PF_SERVERD" 2>/dev/null | grep -q __asan_init; then
    pf_log "warning: $PF_SERVERD is built with AddressSanitizer; figures will be meaningless"
fi
work=$(pf_tmpdir bench)
now_ms() { date +%s%3N; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
nf=$(echo "$TERMINALS" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta')
pf_log "load before: $(uptime)"

# ---- posfleetd without a broker, the registry, a bundle ----------------------------------------
upd_keys_init
pf_pki_init "$(pf_tmpdir pki)"
PF_BROKER_PORT=1 # nobody listens (nor will a test's broker): posfleetd keeps retrying
PF_REPORT_INTERVAL=60 upd_server_start

csv="$work/fleet.csv"
"$PF_SIM" --count "$TERMINALS" --prefix RO --models PX-500:5,A920:3,V240m:2 --emit-csv "$csv"
t0=$(now_ms)
pf_cli device import "$csv" >&2
pf_log "import of $TERMINALS terminals: $(($(now_ms) - t0)) ms"
rm -f "$csv"
[[ $(pf_cli --json summary | pf_json_get '$.total') == "$TERMINALS" ]] || pf_fail "import incomplete"

head -c 65536 /dev/urandom >"$work/fw.img"
"$PF_PACK" create --kind firmware --version 2.0.0 --model PX-500 --model A920 --model V240m \
    --hw-rev r1 --keyring "$UPD_KEYS" --key "$UPD_KEYS/signing/fw.key" -o "$work/fw.tar" \
    "$work/fw.img" >/dev/null || pf_fail "posfleet-pack create"
bundle=$(upd_upload "$work/fw.tar")
[[ -n "$bundle" ]] || pf_fail "bundle upload"

auth="Authorization: Bearer $(cat "$PF_TOKEN_OPS")"
pfd=$(pf_pid_of posfleetd)
hz=$(getconf CLK_TCK)
# cpu_ms: posfleetd's CPU time so far (user + system), in ms.
cpu_ms() { awk -v hz="$hz" '{ printf "%.0f\n", ($14 + $15) * 1000 / hz }' "/proc/$pfd/stat"; }

# ---- plan, RUNS times ---------------------------------------------------------------------------
: >"$work/plan"
: >"$work/base"
sq_scan() { sqlite3 -batch -noheader "$PF_STORE" "SELECT serial FROM devices ORDER BY serial" >/dev/null; }
sq_ms() {
    local t
    t=$(date +%s%N)
    sq_scan || pf_fail "sqlite3 scan failed"
    awk -v a="$t" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f\n", (b - a) / 1e6 }'
}
sq_scan # warm the page cache, not counted
id=""
for ((r = 1; r <= RUNS; r++)); do
    if [[ -n "$id" ]]; then
        # curl, as for the plan: the figures come from the same client.
        curl -sSf -o /dev/null -X POST -H "$auth" -H 'Content-Type: application/json' \
            --data '{"reason": "bench: next run"}' "$POSFLEET_URL/v1/rollouts/$id/abort" ||
            pf_fail "abort $id"
    fi
    body="{\"name\": \"bench $r\", \"bundle\": \"$bundle\", \"stages\": [\"1%\", \"10%\", \"50%\", \"100%\"],
           \"window\": {\"start\": \"00:00\", \"end\": \"24:00\"}}"
    c0=$(cpu_ms)
    code=$(curl -sS -o "$work/created.json" -w '%{http_code} %{time_total}' -X POST \
        -H "$auth" -H 'Content-Type: application/json' --data "$body" "$POSFLEET_URL/v1/rollouts")
    [[ "${code%% *}" == 201 ]] || pf_fail "POST /v1/rollouts answered $code: $(cat "$work/created.json")"
    cpu=$(($(cpu_ms) - c0))
    wall=$(awk -v s="${code#* }" 'BEGIN { printf "%.1f", s * 1000 }')
    id=$(pf_json_get '$.id' <"$work/created.json")
    cohort=$(pf_json_get '$.plan.cohort' <"$work/created.json")
    [[ "$cohort" == "$TERMINALS" ]] || pf_fail "rollout $id: cohort $cohort, expected $TERMINALS"
    sel=$(pf_json_get '$.plan.select_ms' <"$work/created.json")
    ord=$(pf_json_get '$.plan.order_ms' <"$work/created.json")
    ins=$(pf_json_get '$.plan.insert_ms' <"$work/created.json")
    echo "$wall $sel $ord $ins $cpu" >>"$work/plan"
    sq_ms >>"$work/base"
    pf_log "plan $r (rollout $id): $wall ms, posfleetd CPU $cpu ms (select $sel, order $ord, insert $ins ms); sqlite3 scan $(tail -1 "$work/base") ms; $(uptime | sed 's/.*load/load/')"
done
[[ $(pf_sql "select (select count(*) from rollout_members where rollout = $id) +
    (select coalesce(sum(n), 0) from rollout_plan where rollout = $id)") == "$TERMINALS" ]] ||
    pf_fail "rollout $id: members missing from its rows and plan"
# Writing every member as a row: the sqlite3 shell inserting 1,000,000 (rollout, serial,
# stage, 'pending') rows in serial order (sv's rowid order; stages as the plan's proportions
# would give them, drawn at random) and committing them (WAL, synchronous FULL, as posfleetd
# commits a plan), into an empty copy of rollout_members with its indexes; the rows are staged
# in a plain table first, not timed.
floor_db="$work/floor.db"
{
    echo "PRAGMA journal_mode = WAL;"
    sqlite3 -batch -noheader "$PF_STORE" "SELECT sql || ';' FROM sqlite_schema
        WHERE tbl_name = 'rollout_members' AND type IN ('table', 'index') AND sql IS NOT NULL"
    echo "ATTACH '$PF_STORE' AS s;"
    echo "CREATE TABLE sv AS SELECT serial, CASE WHEN r < 1 THEN 0 WHEN r < 10 THEN 1"
    echo "  WHEN r < 50 THEN 2 ELSE 3 END AS stage FROM (SELECT serial, abs(random()) % 100 AS r"
    echo "  FROM s.devices ORDER BY serial);"
} | sqlite3 -batch "$floor_db" >/dev/null
: >"$work/floor"
for ((r = 0; r < 3; r++)); do
    t=$(date +%s%N)
    sqlite3 -batch "$floor_db" "BEGIN; INSERT INTO rollout_members (rollout, serial, stage, status)
        SELECT $((100 + r)), serial, stage, 'pending' FROM sv; COMMIT;" ||
        pf_fail "sqlite3 insert floor"
    awk -v a="$t" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f\n", (b - a) / 1e6 }' >>"$work/floor"
done
fl=$(median <"$work/floor")
rm -f "$floor_db" "$floor_db-wal" "$floor_db-shm"
pf_log "sqlite3 insert of a row per member: $fl ms"
p=$(cut -d' ' -f1 "$work/plan" | median)
ps=$(cut -d' ' -f2 "$work/plan" | median)
po=$(cut -d' ' -f3 "$work/plan" | median)
pi=$(cut -d' ' -f4 "$work/plan" | median)
pc=$(cut -d' ' -f5 "$work/plan" | median)
b=$(median <"$work/base")
load=$(awk '{ print $1 }' /proc/loadavg)
secs() { awk -v m="$1" 'BEGIN { printf "%.2f", m / 1000 }'; }
echo "ROW|plan a rollout over $nf registered terminals (POST /v1/rollouts: cohort, stages, first stage's rows, plan; median of $RUNS)|$(secs "$p") s (select $(secs "$ps"), order $(secs "$po"), insert $(secs "$pi") s; posfleetd CPU $(secs "$pc") s; load $load)|sqlite3 \`SELECT serial FROM devices ORDER BY serial\`: $(secs "$b") s (a row per member alone: $(secs "$fl") s)|$(ratio "$p" "$b")|≤ 2 s|$(awk -v p="$p" 'BEGIN { print (p <= 2000) ? "yes" : "no" }')"

# ---- show ---------------------------------------------------------------------------------------
time_ms() {
    local t
    t=$(date +%s%N)
    "$@" >/dev/null 2>>"$work/stderr" || pf_fail "failed: $* ($(tail -1 "$work/stderr"))"
    awk -v a="$t" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f\n", (b - a) / 1e6 }'
}
get() { curl -sSf -H "$auth" "$POSFLEET_URL$1"; }
[[ "$(pf_cli --json rollout show "$id" | pf_json_get '$.members')" == "$TERMINALS" ]] ||
    pf_fail "rollout $id: show does not count $TERMINALS members"
# Settled: posfleetd below 10 % CPU over a second (after a plan its next commits checkpoint
# the write-ahead log the plan and the aborts filled), at most 120 s.
t0=$(now_ms)
deadline=$((SECONDS + 120))
while ((SECONDS < deadline)); do
    a=$(cpu_ms)
    sleep 1
    (($(cpu_ms) - a < 100)) && break
done
pf_log "posfleetd settled $(($(now_ms) - t0)) ms after the last plan"
pf_cli rollout show "$id" >/dev/null # warm-up, not counted
: >"$work/show"; : >"$work/get"; : >"$work/list"
for ((i = 0; i < REPS; i++)); do
    time_ms pf_cli rollout show "$id" >>"$work/show"
    time_ms get "/v1/rollouts/$id" >>"$work/get"
    time_ms get "/v1/rollouts" >>"$work/list"
done
s=$(median <"$work/show"); g=$(median <"$work/get"); l=$(median <"$work/list")
pf_log "show: posfleet $s ms, GET $g ms, list GET $l ms (rollouts: $RUNS, members: $((RUNS * TERMINALS)))"
load=$(awk '{ print $1 }' /proc/loadavg)
echo "ROW|posfleet rollout show, $nf members (median of $REPS)|$s ms (load $load)|curl GET /v1/rollouts/ID: $g ms|$(ratio "$s" "$g")|≤ 50 ms|$(awk -v p="$s" 'BEGIN { print (p <= 50) ? "yes" : "no" }')"
pf_log "load after: $(uptime)"
