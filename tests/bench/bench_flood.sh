#!/usr/bin/env bash
# bench_flood.sh - a flooding terminal against a reporting fleet (issue 14, item 8):
# TERMINALS registered terminals report at a fleet's pace (each every INTERVAL s:
# tests/bench/bench_pub.c --rate, one load-generator connection, QoS 1 over TLS) while,
# in the flood phase, one terminal's own certificate publishes FLOOD messages a second
# (bench_pub --rate, QoS 1). Figure: the p99 of the fleet's report → committed row
# latency (stored_ms − ts of every row of the fleet, the flooder's excluded) in the flood
# phase against the quiet phase just before it, same posfleetd, same run. The baseline is
# another posfleetd build (BASELINE_BUILD, e.g. main's HEAD built elsewhere) measured in
# the same run, alternating with this one, REPS times each; medians of the per-repetition
# ratios. The load average is printed with every figure: the machine is shared.
#
# Knobs: TERMINALS=5000 INTERVAL=60 FLOOD=10000 PHASE=30 (s per phase) REPS=3
# BASELINE_BUILD=<dir> (without it only this build is measured). SMOKE=1: 200 terminals,
# 1,000 msg/s, 6 s phases, one repetition (checks the script, no figure worth keeping).
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/stack.sh"

if [[ "${SMOKE:-0}" == 1 ]]; then
    TERMINALS=200 FLOOD=1000 PHASE=6 REPS=1
fi
TERMINALS=${TERMINALS:-5000}
INTERVAL=${INTERVAL:-60}
FLOOD=${FLOOD:-10000}
PHASE=${PHASE:-30}
REPS=${REPS:-3}
BASELINE_BUILD=${BASELINE_BUILD:-}
PUB="$PF_BUILD/tests/bench/bench_pub"
pf_require_bin "$PUB"
NEW_SERVERD="$PF_SERVERD"
builds=(new)
if [[ -n "$BASELINE_BUILD" ]]; then
    pf_require_bin "$BASELINE_BUILD/server/posfleetd"
    builds=(old new)
fi
rate=$(((TERMINALS + INTERVAL - 1) / INTERVAL))
FL=FLOOD000000 # the flooder's serial and certificate (bench_pub names FLOOD + 6 digits)

pf_pki_init "$(pf_tmpdir pki)"
pf_device_cert "$PF_PKI" bench-load
pf_device_cert "$PF_PKI" "$FL"
pf_broker_start "$PF_PKI"
cat >>"$PF_BROKER_DIR/posfleet.acl" <<ACL

user bench-load
topic write pf/v1/dev/#
ACL
reloads=$(grep -c 'Reloading config' "$PF_TMP/logs/mosquitto.log" || true)
kill -HUP "$PF_BROKER_PID"
pf_wait_for 10 "the broker to reload its ACL" \
    eval "(( \$(grep -c 'Reloading config' '$PF_TMP/logs/mosquitto.log') > $reloads ))"
read -r lcrt lkey < <(pf_cert_of bench-load)
read -r fcrt fkey < <(pf_cert_of "$FL")
csv="$PF_TMP/devices.csv"
awk -v n="$TERMINALS" -v f="$FL" 'BEGIN { print "serial,model,hw_rev"; printf "%s,PX-500,r2\n", f
    for (i = 0; i < n; i++) printf "BN%06d,PX-500,r2\n", i }' >"$csv"

load() { cut -d' ' -f1 /proc/loadavg; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
p99() { # FIRST_SEQ: p99 of the fleet's rows with seq >= FIRST_SEQ, ms
    local q="select stored_ms - ts_ms from health where serial like 'BN%' and seq >= $1"
    local n
    n=$(pf_sql "select count(*) from ($q)")
    pf_sql "$q order by 1 limit 1 offset $((n * 99 / 100))"
}
rows_from() { pf_sql "select count(*) from health where serial like 'BN%' and seq >= $1"; }

# fleet SEQ_BASE: the fleet's reports for one phase (every terminal reports once per
# INTERVAL; PHASE s of it), in the background; prints bench_pub's line into $PF_TMP/fleet.out.
fleet() {
    local n=$((rate * PHASE))
    "$PUB" --port "$PF_BROKER_PORT" --cafile "$PF_PKI/ca.crt" --cert "$lcrt" --key "$lkey" \
        --id bench-load --terminals "$n" --reports 1 --seq-base "$1" --rate "$rate" \
        >"$PF_TMP/fleet.out"
}
flood() {
    "$PUB" --port "$PF_BROKER_PORT" --cafile "$PF_PKI/ca.crt" --cert "$fcrt" --key "$fkey" \
        --id "$FL" --prefix FLOOD --terminals 1 --reports $((FLOOD * PHASE)) --rate "$FLOOD" \
        >"$PF_TMP/flood.out"
}
# Terminals BN000000.. report in turn; a phase of PHASE s covers rate × PHASE of them,
# which is all of them only when PHASE ≥ INTERVAL (the fleet's pace is what matters).
((rate * PHASE <= TERMINALS)) || rate=$((TERMINALS / PHASE))

declare -A ratio_of quiet_of flood_of sent_of
for b in "${builds[@]}"; do
    : >"$PF_TMP/ratio.$b"
    : >"$PF_TMP/quiet.$b"
    : >"$PF_TMP/flood.$b"
    : >"$PF_TMP/sent.$b"
done
seq=1
load0=$(load)
for r in $(seq 1 "$REPS"); do
    for b in "${builds[@]}"; do
        PF_SERVERD=$NEW_SERVERD
        [[ "$b" == old ]] && PF_SERVERD="$BASELINE_BUILD/server/posfleetd"
        rm -rf "$PF_TMP/server"
        PF_STORE_BATCH_MS=100 PF_REPORT_INTERVAL=$INTERVAL pf_server_start
        curl -sf -H "Authorization: Bearer $(head -1 "$PF_TOKEN_OPS")" --data-binary @"$csv" \
            "$POSFLEET_URL/v1/devices/import" >/dev/null || pf_fail "import of $TERMINALS terminals"

        q0=$seq
        fleet "$q0"
        seq=$((seq + 1))
        pf_wait_for 60 "the quiet phase stored" eval "(( \$(rows_from $q0) >= $((rate * PHASE)) ))"
        quiet=$(p99 "$q0")

        f0=$seq
        flood &
        fpid=$!
        fleet "$f0"
        seq=$((seq + 1))
        wait "$fpid" || true
        pf_wait_for 900 "the flood phase's fleet rows stored" \
            eval "(( \$(rows_from $f0) >= $((rate * PHASE)) ))"
        flooded=$(p99 "$f0")
        sent=$(sed -n 's/.*"published":\([0-9]*\).*"t_first_ms":\([0-9]*\),"t_last_ms":\([0-9]*\).*/\1 \2 \3/p' \
            "$PF_TMP/flood.out" | awk '{ printf "%.0f", $1 * 1000 / ($3 - $2) }')
        rat=$(awk -v q="$quiet" -v f="$flooded" 'BEGIN { printf "%.2f", (q > 0) ? f / q : 0 }')
        echo "$rat" >>"$PF_TMP/ratio.$b"
        echo "$quiet" >>"$PF_TMP/quiet.$b"
        echo "$flooded" >>"$PF_TMP/flood.$b"
        echo "$sent" >>"$PF_TMP/sent.$b"
        pf_log "rep $r $b: fleet p99 quiet $quiet ms, flooded $flooded ms (×$rat); flooder $sent msg/s; rejected RATE $(curl -s "$POSFLEET_URL/metrics" | awk '$1 == "posfleet_messages_rejected_total{reason=\"RATE\"}" {print $2}'); load $(load)"
        pf_server_stop
    done
done
for b in "${builds[@]}"; do
    ratio_of[$b]=$(median <"$PF_TMP/ratio.$b")
    quiet_of[$b]=$(median <"$PF_TMP/quiet.$b")
    flood_of[$b]=$(median <"$PF_TMP/flood.$b")
    sent_of[$b]=$(median <"$PF_TMP/sent.$b")
done
nf=$(printf "%'d" "$TERMINALS")
what="fleet report → committed row p99 while one certificate floods ($nf terminals every ${INTERVAL} s, flood ${sent_of[new]} msg/s asked $FLOOD; ${PHASE} s phases, median of $REPS, load $load0-$(load) on $(nproc) cores)"
base="—"
[[ -n "$BASELINE_BUILD" ]] &&
    base="previous posfleetd: ${quiet_of[old]} ms quiet → ${flood_of[old]} ms flooded (×${ratio_of[old]})"
met=$(awk -v r="${ratio_of[new]}" 'BEGIN { print (r <= 1.5) ? "yes" : "no" }')
echo "ROW|$what|${quiet_of[new]} ms quiet → ${flood_of[new]} ms flooded|$base|${ratio_of[new]}|≤ 1.5 × quiet|$met"
