#!/usr/bin/env bash
# bench_tamper.sh - tamper switch -> lock acknowledged by the terminal, while a fleet
# reports: N terminals (posfleet-sim, every one a real agent core over TLS with its own
# certificate) report every INTERVAL s; once all are connected the sim trips the tamper
# switch of TAMPERS terminals, one every EVERY ms, and measures for each the time until
# its agent has applied posfleetd's lock command and answered it (sim_tamper.c). The
# p50, p99 and maximum come from the sim's summary.
#
# Side by side in one run, on the same broker, fleet and certificates, each with a fresh
# store: the baseline BASELINE_SERVERD (posfleetd of main's HEAD; the agents are not told
# of the trip, --tamper-report-only, so it travels with the next health report as it did
# before tamper events), then this tree (tamper event at once). The machine's load
# average is recorded with each figure: the machine is shared.
#
# Knobs: N=5000 TAMPERS=100 EVERY=100 INTERVAL=60 RATE=340; the baseline's posfleetd is
# BASELINE_SERVERD, else $POSFLEET_BASELINE_BUILD/server/posfleetd (run.sh's convention;
# neither: no baseline). SMOKE=1: 200 terminals, 10 tampers, interval 10 s, to check that
# the bench works, not to measure.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/stack.sh"

if [[ -n "${SMOKE:-}" ]]; then
    N=${N:-200} TAMPERS=${TAMPERS:-10} INTERVAL=${INTERVAL:-10}
fi
N=${N:-5000}
TAMPERS=${TAMPERS:-100}
EVERY=${EVERY:-100}
INTERVAL=${INTERVAL:-60}
RATE=${RATE:-340}
BASELINE_SERVERD=${BASELINE_SERVERD:-${POSFLEET_BASELINE_BUILD:+$POSFLEET_BASELINE_BUILD/server/posfleetd}}
PF_SIM="$PF_BUILD/tests/sim/posfleet-sim"
pf_require_bin "$PF_SIM"
THIS_SERVERD="$PF_SERVERD"

shm=$( [[ -w /dev/shm ]] && echo /dev/shm || echo "$PF_TMP")
state=$(mktemp -d "$shm/pf-bench-tamper.XXXXXX")
pf_at_exit "rm -rf '$state'"
pf_pki_init "$state/pki"
pf_broker_start "$PF_PKI"
"$PF_SIM" --count "$N" --prefix TMP --models PX-500:3,A920:2,V240m:1 --emit-csv "$state/fleet.csv"

load() { cut -d' ' -f1-3 /proc/loadavg; }
status() { pf_json_get "$1" <"$state/status.json"; }
sim_has() {
    pf_alive sim || pf_fail "posfleet-sim exited"
    [[ -f "$state/status.json" && $(status "$1") -ge "$2" ]]
}

# run NAME SERVERD [SIM OPTIONS...]: sets RESULT to "p50 p99 max locked load"
run() {
    local name="$1" serverd="$2" t
    shift 2
    PF_SERVERD="$serverd"
    rm -rf "$PF_TMP/server"
    PF_STORE_BATCH_MS=100 PF_REPORT_INTERVAL="$INTERVAL" pf_server_start
    t=$(date +%s)
    if [[ -f "$state/creds" ]]; then
        pf_cli device import "$state/fleet.csv" >&2
    else
        POSFLEET_KEYS="$PF_KEYS" pf_cli device import "$state/fleet.csv" --pki "$PF_PKI" \
            --credentials-out "$state/creds" >&2
    fi
    pf_log "$name: imported $N terminals in $(($(date +%s) - t)) s"
    rm -rf "$state/status.json" "$state/agents"
    pf_spawn sim "$PF_SIM" --credentials "$state/creds" --broker "127.0.0.1:$PF_BROKER_PORT" \
        --ca "$PF_PKI/ca.crt" --rate "$RATE" --interval "$INTERVAL" --state-dir "$state/agents" \
        --status "$state/status.json" --seed 7 --quiet --tamper "$TAMPERS" --tamper-every "$EVERY" \
        --tamper-after 3000 "$@"
    pf_wait_for $((N / 20 + 120)) "$name: $N terminals connected" sim_has '$.connected' "$N"
    pf_wait_for $((TAMPERS * EVERY / 1000 + 3 * INTERVAL + 60)) "$name: $TAMPERS terminals locked" \
        sim_has '$.tamper.locked' "$TAMPERS"
    sleep 1.2 # the status file is rewritten every second: take the final one
    RESULT="$(status '$.tamper.p50_ms') $(status '$.tamper.p99_ms') $(status '$.tamper.max_ms') $(status '$.tamper.locked') $(load)"
    pf_kill sim 60
    pf_server_stop
}

base=""
if [[ -n "$BASELINE_SERVERD" ]]; then
    run baseline "$BASELINE_SERVERD" --tamper-report-only
    base="$RESULT"
    pf_log "baseline (main's posfleetd, tamper with the next report): p50/p99/max/locked/load $base"
fi
run this "$THIS_SERVERD"
this="$RESULT"
pf_log "this tree (tamper event): p50/p99/max/locked/load $this"

read -r p50 p99 max locked l1 l5 l15 <<<"$this"
nf=$(printf "%'d" "$N")
what="tamper switch → lock acknowledged by the terminal, p99 over $locked tampers, $nf terminals reporting every $INTERVAL s (load $l1 $l5 $l15"
if [[ -n "$base" ]]; then
    read -r bp50 bp99 bmax blocked bl1 bl5 bl15 <<<"$base"
    what+="; baseline load $bl1 $bl5 $bl15"
    ratio=$(awk -v a="$p99" -v b="$bp99" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')
    basecol="main's HEAD (next health report): p99 $bp99 ms, p50 $bp50 ms, max $bmax ms"
else
    ratio="—"
    basecol="—"
fi
[[ -n "${SMOKE:-}" ]] && what="SMOKE (not a figure): $what"
echo "ROW|$what)|p99 $p99 ms (p50 $p50 ms, max $max ms)|$basecol|$ratio|p99 ≤ 2000 ms|$( ((p99 <= 2000)) && echo yes || echo no)"
