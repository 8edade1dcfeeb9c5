#!/usr/bin/env bash
# bench_bulk.sh - how long a bulk bind holds posfleetd's loop, against a baseline posfleetd.
#
# ROWS terminals are imported and bound to one merchant with `posfleet device bind --csv`
# (one transaction: rules, history line and audit row per terminal). While it runs, a probe
# asks GET /healthz every 20 ms and another GET /v1/devices/SERIAL (a store read) every 100 ms
# (curl --rate, each on one kept-alive connection);
# /healthz is answered on the loop thread, so its slowest answer is the longest time the loop
# was held. Side by side: the same probe's median on the idle loop just before; the bind's
# wall time in the CLI and posfleetd's own measure of the request (its log line "bulk bind:
# ... in N ms"); rows/s; the 1-min load average at the start and the end.
#
# BASELINE_BUILD=<dir> (a build of main's HEAD, e.g. before the bulk job moved off the loop;
# only its posfleetd is used) is measured in the same run, each build on a fresh store,
# alternating old, new for REPS repetitions; without it only this build is measured.
# Knobs: ROWS=100000, REPS=1.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/stack.sh"

ROWS=${ROWS:-100000}
REPS=${REPS:-1}
BASELINE_BUILD=${BASELINE_BUILD:-${POSFLEET_BASELINE_BUILD:-}}
NEW_SERVERD="$PF_SERVERD"
builds=(new)
if [[ -n "$BASELINE_BUILD" ]]; then
    pf_require_bin "$BASELINE_BUILD/server/posfleetd"
    builds=(old new)
fi
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"

now_ms() { date +%s%3N; }
load() { cut -d' ' -f1 /proc/loadavg; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
p99() { sort -g | awk '{ a[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; print a[i] }'; }
# probe PATH [N [RATE]]: N requests (1) on one kept-alive connection at RATE (e.g. 50/s), the
# time of each in ms, one a line.
probe() {
    local urls=() i
    for ((i = 0; i < ${2:-1}; i++)); do urls+=(-o /dev/null "$POSFLEET_URL/$1"); done
    curl -s --rate "${3:-1000/s}" -H "Authorization: Bearer $(head -1 "$PF_TOKEN_OPS")" \
        -w '%{time_total}\n' "${urls[@]}" | awk '{ printf "%.1f\n", $1 * 1000; fflush() }' || true
}
nf=$(printf "%'d" "$ROWS")

m_args=(--name "Bench Shop" --address "1 Bench Rd" --contact "Li Wei" --phone 13800000000
        --settlement T1 --mcc 5411 --tz Asia/Shanghai --fee-plan fee-2026.11)
{ echo "serial,model"; for ((i = 1; i <= ROWS; i++)); do printf 'BB-%07d,PX-500\n' "$i"; done; } >"$PF_TMP/import.csv"
{ echo "serial,merchant"; for ((i = 1; i <= ROWS; i++)); do printf 'BB-%07d,M-BENCH\n' "$i"; done; } >"$PF_TMP/bind.csv"

load0=$(load)
for r in $(seq 1 "$REPS"); do
    for b in "${builds[@]}"; do
        PF_SERVERD=$NEW_SERVERD
        [[ "$b" == old ]] && PF_SERVERD="$BASELINE_BUILD/server/posfleetd"
        rm -rf "$PF_TMP/server"
        pf_server_start
        pf_cli merchant add M-BENCH --uscc 9144030071526726XG "${m_args[@]}" >/dev/null
        pf_cli merchant approve M-BENCH >/dev/null
        pf_cli device import "$PF_TMP/import.csv" >&2

        idle=$(probe healthz 51 50/s | median)
        # Short batches (curl prints its times when a batch ends) until the bind has returned.
        rm -f "$PF_TMP/stop"
        (until [[ -f "$PF_TMP/stop" ]]; do probe healthz 25 50/s; done) >"$PF_TMP/probe.$b.$r" 2>/dev/null &
        prober=$!
        (until [[ -f "$PF_TMP/stop" ]]; do probe v1/devices/BB-0000001 5 10/s; done) >"$PF_TMP/read.$b.$r" 2>/dev/null &
        reader=$!
        t0=$(now_ms)
        pf_cli device bind --csv "$PF_TMP/bind.csv" >&2
        wall=$(($(now_ms) - t0))
        touch "$PF_TMP/stop"
        wait "$prober" "$reader" 2>/dev/null || true
        held=$(sort -g "$PF_TMP/probe.$b.$r" | tail -1)
        hp99=$(p99 <"$PF_TMP/probe.$b.$r")
        rmax=$(sort -g "$PF_TMP/read.$b.$r" | tail -1)
        srv=$(grep -o "bulk bind: $ROWS rows, $ROWS terminals changed in [0-9]* ms" "$PF_TMP/logs/posfleetd.log" |
            grep -o '[0-9]* ms$' | grep -o '[0-9]*')
        rate=$(awk -v n="$ROWS" -v m="$srv" 'BEGIN { printf "%.0f", (m > 0) ? n * 1000 / m : 0 }')
        echo "$b $held $hp99 $idle $rmax $wall $srv $rate $(wc -l <"$PF_TMP/probe.$b.$r")" >>"$PF_TMP/results"
        pf_log "rep $r $b: bind of $ROWS: wall $wall ms, posfleetd $srv ms ($rate rows/s); /healthz max $held ms, p99 $hp99 ms (idle $idle ms, $(wc -l <"$PF_TMP/probe.$b.$r") probes); device read max $rmax ms; load $(load)"
        grep "bulk change: loop" "$PF_TMP/logs/posfleetd.log" >&2 || true
        pf_server_stop
    done
done
load1=$(load)
col() { awk -v b="$1" -v c="$2" '$1 == b { print $c }' "$PF_TMP/results" | median; }
for b in "${builds[@]}"; do
    eval "held_$b=$(col "$b" 2) hp99_$b=$(col "$b" 3) idle_$b=$(col "$b" 4) rmax_$b=$(col "$b" 5)"
    eval "wall_$b=$(col "$b" 6) srv_$b=$(col "$b" 7) rate_$b=$(col "$b" 8)"
done
run="medians of $REPS; 1-min load $load0 at the start, $load1 at the end, on $(nproc) cores"
met=$(awk -v a="$held_new" 'BEGIN { print (a <= 100) ? "yes" : "no" }')
if [[ -n "$BASELINE_BUILD" ]]; then
    ratio=$(awk -v a="$held_new" -v b="$held_old" 'BEGIN { printf "%.4f", (b > 0) ? a / b : 0 }')
    echo "ROW|longest loop hold during a $nf-row bulk bind (slowest GET /healthz, probed every 20 ms; p99 $hp99_new ms, idle median $idle_new ms; slowest device read $rmax_new ms; $run)|$held_new ms|previous posfleetd (bind on the loop): $held_old ms (p99 $hp99_old ms; slowest device read $rmax_old ms)|$ratio|≤ 100 ms|$met"
    ratio=$(awk -v a="$rate_new" -v b="$rate_old" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
    echo "ROW|bulk bind of $nf terminals, one transaction, audited per terminal: rows/s in posfleetd (CLI wall $(awk -v m="$wall_new" 'BEGIN { printf "%.1f", m / 1000 }') s; same run)|$rate_new rows/s ($srv_new ms)|previous posfleetd: $rate_old rows/s ($srv_old ms; wall $(awk -v m="$wall_old" 'BEGIN { printf "%.1f", m / 1000 }') s)|$ratio|—|—"
else
    ratio=$(awk -v a="$held_new" -v b="$idle_new" 'BEGIN { printf "%.0f", (b > 0) ? a / b : 0 }')
    echo "ROW|longest loop hold during a $nf-row bulk bind (slowest GET /healthz; p99 $hp99_new ms; $run)|$held_new ms|idle loop, same probe: $idle_new ms|$ratio|≤ 100 ms|$met"
    echo "ROW|bulk bind of $nf terminals, one transaction, audited per terminal (posfleet device bind --csv, wall)|$(awk -v m="$wall_new" 'BEGIN { printf "%.1f", m / 1000 }') s (posfleetd: $srv_new ms, $rate_new rows/s)|—|—|—|—"
fi
