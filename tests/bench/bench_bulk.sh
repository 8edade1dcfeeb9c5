#!/usr/bin/env bash
# bench_bulk.sh - how long a bulk bind holds posfleetd's loop.
#
# ROWS terminals are imported and bound to one merchant with `posfleet device bind --csv`
# (one transaction: rules, history line and audit row per terminal). While it runs, a probe
# asks GET /healthz every 20 ms; /healthz is answered on the loop thread, so its slowest
# answer is the longest time the loop was held. Side by side: the same probe's median on the
# idle loop just before. Also the bind's wall time in the CLI and posfleetd's own measure of
# the request (its log line "bulk bind: ... in N ms"), and the load average.
#
# Knobs: ROWS=100000.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/stack.sh"

ROWS=${ROWS:-100000}
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
pf_server_start

now_ms() { date +%s%3N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
probe() { curl -s -o /dev/null -w '%{time_total}\n' "$POSFLEET_URL/healthz" | awk '{ printf "%.1f\n", $1 * 1000 }'; }
nf=$(printf "%'d" "$ROWS")

m_args=(--name "Bench Shop" --address "1 Bench Rd" --contact "Li Wei" --phone 13800000000
        --settlement T1 --mcc 5411 --tz Asia/Shanghai --fee-plan fee-2026.11)
pf_cli merchant add M-BENCH --uscc 9144030071526726XG "${m_args[@]}" >/dev/null
pf_cli merchant approve M-BENCH >/dev/null
{ echo "serial,model"; for ((i = 1; i <= ROWS; i++)); do printf 'BB-%07d,PX-500\n' "$i"; done; } >"$PF_TMP/import.csv"
pf_cli device import "$PF_TMP/import.csv" >&2
{ echo "serial,merchant"; for ((i = 1; i <= ROWS; i++)); do printf 'BB-%07d,M-BENCH\n' "$i"; done; } >"$PF_TMP/bind.csv"

idle=$(for _ in $(seq 21); do probe; done | median)
(while :; do probe; sleep 0.02; done) >"$PF_TMP/probe.txt" 2>/dev/null &
prober=$!
pf_at_exit "kill $prober 2>/dev/null || true"
t0=$(now_ms)
pf_cli device bind --csv "$PF_TMP/bind.csv" >&2
wall=$(($(now_ms) - t0))
kill "$prober" 2>/dev/null || true
wait "$prober" 2>/dev/null || true
load=$(cut -d' ' -f1-3 /proc/loadavg)
held=$(sort -n "$PF_TMP/probe.txt" | tail -1)
srv=$(grep -o "bulk bind: $ROWS rows, $ROWS terminals changed in [0-9]* ms" "$PF_TMP/logs/posfleetd.log" | grep -o '[0-9]* ms$')
pf_log "bulk bind of $ROWS: wall $wall ms, posfleetd $srv, longest /healthz $held ms (idle $idle ms), load $load"
ratio=$(awk -v a="$held" -v b="$idle" 'BEGIN { printf "%.0f", (b > 0) ? a / b : 0 }')
met=$(awk -v a="$held" 'BEGIN { print (a <= 100) ? "yes" : "no" }')
echo "ROW|longest loop hold during a $nf-row bulk bind (slowest GET /healthz; load $load)|$held ms|idle loop, same probe: $idle ms|$ratio|≤ 100 ms|$met"
echo "ROW|bulk bind of $nf terminals, one transaction, audited per terminal (posfleet device bind --csv, wall)|$(awk -v m="$wall" 'BEGIN { printf "%.1f", m / 1000 }') s (posfleetd: $srv)|—|—|—|—"
