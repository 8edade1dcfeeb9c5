#!/usr/bin/env bash
# bench_diag.sh - diagnostic round trip, request to stored result, on a local broker
# with TLS: first with an idle fleet (the baseline), then while TERMINALS simulated
# terminals (posfleet-sim, every one a real agent core with its own certificate)
# report every INTERVAL s in the background.
#
# Each request is one of the small commands (selftest, versions, config, logs), sent
# through the API to one of the simulated terminals in turn, one at a time (the next
# is sent once the previous answer is stored, so requests never queue behind each
# other). The figure is posfleetd's own record: answered_ms − created_ms, both its
# clock, i.e. from the API accepting the request to the answer committed in the store.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/stack.sh"

TERMINALS=${TERMINALS:-5000}
INTERVAL=${INTERVAL:-60}
REQUESTS=${REQUESTS:-400}
TARGETS=${TARGETS:-50}
RATE=${RATE:-200}
PF_SIM="$PF_BUILD/tests/sim/posfleet-sim"
pf_require_bin "$PF_SIM"
command -v curl >/dev/null || pf_fail "curl is needed"

shm=$( [[ -w /dev/shm ]] && echo /dev/shm || echo "$PF_TMP")
state=$(mktemp -d "$shm/pf-bench-diag.XXXXXX")
pf_at_exit "rm -rf '$state'"
pf_pki_init "$state/pki"
pf_broker_start "$PF_PKI"
PF_REPORT_INTERVAL=$INTERVAL pf_server_start "diag.rate_terminal = 1000
diag.rate_user = 1000"

"$PF_SIM" --count "$TERMINALS" --prefix BDG --emit-csv "$state/fleet.csv"
POSFLEET_KEYS="$PF_KEYS" pf_cli device import "$state/fleet.csv" --pki "$PF_PKI" \
    --credentials-out "$state/creds" >&2
summary() { pf_cli --json summary | pf_json_get "$1"; }
status() { pf_json_get "$1" <"$state/status.json"; }
token=$(head -1 "$PF_TOKEN_SUPPORT")
cmds=(selftest versions config logs)

# run_requests LABEL SERIALS...: REQUESTS sequential requests over SERIALS; prints "p50 p99 max".
run_requests() {
    local label="$1" i=0 serial cmd id
    shift
    local serials=("$@")
    for ((i = 0; i < REQUESTS; i++)); do
        serial=${serials[$((i % ${#serials[@]}))]}
        cmd=${cmds[$((i % ${#cmds[@]}))]}
        id=$(curl -sf -X POST -H "Authorization: Bearer $token" \
            --data "{\"command\":\"$cmd\",\"deadline_s\":10}" \
            "$POSFLEET_URL/v1/devices/$serial/diag" | pf_json_get '$.id') ||
            pf_fail "request $i refused"
        echo "$id" >>"$state/ids.$label"
        pf_wait_for 15 "answer to $id" \
            eval "[[ \$(pf_sql \"select status from diag_requests where id='$id'\") != pending ]]"
    done
    pf_sql "select answered_ms - created_ms from diag_requests where id in
            ($(sed "s/.*/'&'/" "$state/ids.$label" | paste -sd,)) and status = 'ok'
            order by 1" >"$state/lat.$label"
    [[ $(wc -l <"$state/lat.$label") -eq $REQUESTS ]] ||
        pf_fail "$label: only $(wc -l <"$state/lat.$label") of $REQUESTS answered ok"
    awk '{ a[NR] = $1 } END { i50 = int(NR * 0.50 + 0.5); i99 = int(NR * 0.99 + 0.5);
          if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1; print a[i50], a[i99], a[NR] }' "$state/lat.$label"
}

serials=()
for ((i = 1; i <= TARGETS; i++)); do serials+=("$(printf 'BDG%05d' "$i")"); done

# --- baseline: only the target terminals connected --------------------------------------------
head -n $((TARGETS + 2)) "$state/creds" >"$state/creds.targets"
pf_spawn sim "$PF_SIM" --credentials "$state/creds.targets" --broker "127.0.0.1:$PF_BROKER_PORT" \
    --ca "$PF_PKI/ca.crt" --rate "$RATE" --interval "$INTERVAL" --state-dir "$state/agents.idle" \
    --status "$state/status.json" --seed 1
pf_wait_for 120 "$TARGETS terminals online" eval "[[ \$(summary '\$.online') == $TARGETS ]]"
read -r i50 i99 imax < <(run_requests idle "${serials[@]}")
pf_log "idle: p50 $i50 ms, p99 $i99 ms, max $imax ms"
pf_kill sim 20
pf_wait_for 60 "the idle fleet offline" eval "[[ \$(summary '\$.online') == 0 ]]"

# --- the whole fleet reporting in the background ------------------------------------------------
rm -f "$state/status.json"
pf_spawn sim "$PF_SIM" --credentials "$state/creds" --broker "127.0.0.1:$PF_BROKER_PORT" \
    --ca "$PF_PKI/ca.crt" --rate "$RATE" --interval "$INTERVAL" --state-dir "$state/agents.all" \
    --status "$state/status.json" --seed 2
pf_wait_for $((TERMINALS / 20 + 120)) "$TERMINALS terminals online" \
    eval "[[ \$(summary '\$.online') == $TERMINALS ]]"
sleep 10 # let the connection burst's births and first reports drain (measurement, not a test)
m0=$(status '$.reports_acked'); t0=$(date +%s%3N)
read -r l50 l99 lmax < <(run_requests loaded "${serials[@]}")
m1=$(status '$.reports_acked'); t1=$(date +%s%3N)
rps=$(awk -v m=$((m1 - m0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.0f", m / (t / 1000) }')
pf_log "$TERMINALS reporting ($rps reports/s during the run): p50 $l50 ms, p99 $l99 ms, max $lmax ms"

ratio=$(awk -v a="$l99" -v b="$i99" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
met=$( ((l99 <= 100)) && echo yes || echo no)
echo "ROW|diagnostic round trip (request → stored result), small commands, $TERMINALS terminals reporting every ${INTERVAL} s ($rps reports/s), p50 / p99|$l50 ms / $l99 ms|idle fleet: $i50 ms / $i99 ms|$ratio|p99 ≤ 100 ms|$met"
echo "ROW|diagnostic round trip, slowest of $REQUESTS with $TERMINALS terminals reporting|$lmax ms|idle fleet: $imax ms|—|reported|—"
pf_kill sim 20
