#!/usr/bin/env bash
# bench_ingest.sh - posfleetd's ingest rate against mosquitto_sub draining the same
# stream from the same broker, side by side in one run.
#
# 10,000 registered terminals; each repetition publishes REPORTS health reports per
# terminal as fast as the broker takes them (tests/bench/bench_pub.c, QoS 1, over TLS).
# A mosquitto_sub with its own certificate subscribes to the same topics. For each
# repetition: sub rate = N / (its exit − first publish); posfleetd rate = N / (last
# committed row's stored_ms − first publish); the ratio is the median of the per-repetition
# ratios (both consumers of one repetition saw the same stream on the same machine, while
# the load of a shared machine swings between repetitions). Latency publish→commit =
# stored_ms − ts of every row. Medians over REPS repetitions. Also posfleetd's own CPU time (utime + stime
# from /proc) per stored report, which depends less on what else the machine runs than the
# rates do, next to mosquitto_sub's CPU time per message drained (its shell's `times` for its
# child); each row carries the load average at the start and end of the run.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/stack.sh"

TERMINALS=${TERMINALS:-10000}
REPORTS=${REPORTS:-3}
REPS=${REPS:-7}
N=$((TERMINALS * REPORTS))
PUB="$PF_BUILD/tests/bench/bench_pub"
pf_require_bin "$PUB"
command -v curl >/dev/null || pf_fail "curl is needed (packaging/scripts/deps.sh installs it)"

pf_pki_init "$(pf_tmpdir pki)"
pf_device_cert "$PF_PKI" bench-load
pf_device_cert "$PF_PKI" bench-sub
pf_broker_start "$PF_PKI"
# Two benchmark identities: a load generator that may publish for every serial and an
# observer that may read every report. Only this benchmark's broker has them.
cat >>"$PF_BROKER_DIR/posfleet.acl" <<ACL

user bench-load
topic write pf/v1/dev/#
user bench-sub
topic read pf/v1/dev/#
ACL
reloads=$(grep -c 'Reloading config' "$PF_TMP/logs/mosquitto.log" || true)
kill -HUP "$PF_BROKER_PID"
pf_wait_for 10 "the broker to reload its ACL" \
    eval "(( \$(grep -c 'Reloading config' '$PF_TMP/logs/mosquitto.log') > $reloads ))"
PF_REPORT_INTERVAL=60 pf_server_start

csv="$PF_TMP/devices.csv"
awk -v n="$TERMINALS" 'BEGIN { print "serial,model,hw_rev"; for (i = 0; i < n; i++) printf "BN%06d,PX-500,r2\n", i }' >"$csv"
curl -sf -H "Authorization: Bearer $(head -1 "$PF_TOKEN_OPS")" --data-binary @"$csv" \
    "$POSFLEET_URL/v1/devices/import" >/dev/null || pf_fail "import of $TERMINALS terminals"

read -r lcrt lkey < <(pf_cert_of bench-load)
read -r scrt skey < <(pf_cert_of bench-sub)
tls_pub=(--cafile "$PF_PKI/ca.crt" --cert "$lcrt" --key "$lkey")
sub_opts=(-h 127.0.0.1 -p "$PF_BROKER_PORT" --cafile "$PF_PKI/ca.crt" --cert "$scrt" --key "$skey" -V mqttv5 -q 1)

now_ms() { date +%s%3N; }
timeout 10 mosquitto_pub -h 127.0.0.1 -p "$PF_BROKER_PORT" --cafile "$PF_PKI/ca.crt" --cert "$lcrt" \
    --key "$lkey" -V mqttv5 -q 1 -r -t pf/v1/dev/READY/health -m ready || pf_fail "retained marker"
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

: >"$PF_TMP/sub_rates"; : >"$PF_TMP/srv_rates"; : >"$PF_TMP/ratios"; : >"$PF_TMP/p50"; : >"$PF_TMP/p99"
: >"$PF_TMP/cpu_us"; : >"$PF_TMP/sub_cpu_us"
srv_pid=$(pf_pid_of posfleetd)
hz=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$srv_pid/stat"; }
load0=$(cut -d' ' -f1 /proc/loadavg)
for rep in $(seq 1 "$REPS"); do
    out="$PF_TMP/sub.$rep"
    # The observer counts N reports plus one readiness marker.
    # `times` in the subshell: the CPU time of its children, i.e. of mosquitto_sub (stdbuf execs it).
    (stdbuf -oL mosquitto_sub "${sub_opts[@]}" -t 'pf/v1/dev/+/health' -C $((N + 1)) >"$out"
     now_ms >"$out.done"; times >"$out.times") &
    subpid=$!
    # A retained marker reaches each new subscription exactly once, after its SUBACK.
    pf_wait_for 20 "the observer to subscribe" eval "grep -q . '$out'"
    before=$(pf_sql "select count(*) from health")
    c0=$(ticks)
    pubres=$("$PUB" --port "$PF_BROKER_PORT" "${tls_pub[@]}" --terminals "$TERMINALS" \
             --reports "$REPORTS" --seq-base $(((rep - 1) * REPORTS)))
    t0=$(sed -n 's/.*"t_first_ms":\([0-9]*\).*/\1/p' <<<"$pubres")
    wait "$subpid"
    pf_wait_for 120 "posfleetd to store $N reports" \
        eval "(( \$(pf_sql 'select count(*) from health') >= $before + $N ))"
    c1=$(ticks)
    awk -v d=$((c1 - c0)) -v hz="$hz" -v n="$N" 'BEGIN { printf "%.1f\n", d / hz * 1e6 / n }' >>"$PF_TMP/cpu_us"
    awk -v n="$N" 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
        printf "%.1f\n", t * 1e6 / n }' "$out.times" >>"$PF_TMP/sub_cpu_us"
    t_sub=$(cat "$out.done")
    t_srv=$(pf_sql "select max(stored_ms) from health where seq > $(((rep - 1) * REPORTS)) and serial like 'BN%'")
    echo "$N $t_sub $t0" | awk '{ printf "%.0f\n", $1 * 1000 / ($2 - $3) }' >>"$PF_TMP/sub_rates"
    echo "$N $t_srv $t0" | awk '{ printf "%.0f\n", $1 * 1000 / ($2 - $3) }' >>"$PF_TMP/srv_rates"
    echo "$t_sub $t_srv $t0" | awk '{ printf "%.4f\n", ($1 - $3) / ($2 - $3) }' >>"$PF_TMP/ratios"
    lat="select stored_ms - ts_ms from health where serial like 'BN%' and seq > $(((rep - 1) * REPORTS)) order by 1"
    pf_sql "$lat limit 1 offset $((N / 2))" >>"$PF_TMP/p50"
    pf_sql "$lat limit 1 offset $((N * 99 / 100))" >>"$PF_TMP/p99"
    pf_log "rep $rep: sub $(tail -1 "$PF_TMP/sub_rates")/s posfleetd $(tail -1 "$PF_TMP/srv_rates")/s p50 $(tail -1 "$PF_TMP/p50") ms p99 $(tail -1 "$PF_TMP/p99") ms, ratio $(tail -1 "$PF_TMP/ratios"), posfleetd CPU $(tail -1 "$PF_TMP/cpu_us") us/report (mosquitto_sub $(tail -1 "$PF_TMP/sub_cpu_us") us/msg), load $(cut -d' ' -f1 /proc/loadavg)"
    rm -f "$out" "$out.done" "$out.times"
done

sub=$(median <"$PF_TMP/sub_rates"); srv=$(median <"$PF_TMP/srv_rates")
p50=$(median <"$PF_TMP/p50"); p99=$(median <"$PF_TMP/p99"); cpu=$(median <"$PF_TMP/cpu_us")
sub_cpu=$(median <"$PF_TMP/sub_cpu_us")
load="load $load0-$(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores"
ratio=$(median <"$PF_TMP/ratios" | awk '{ printf "%.2f", $1 }')
met=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.95) ? "yes" : "no" }')
echo "ROW|ingest rate, $TERMINALS terminals × $REPORTS reports, median of $(wc -l <"$PF_TMP/srv_rates"), $load|$srv msg/s stored|mosquitto_sub: $sub msg/s drained|$ratio|≥ 0.95|$met"
echo "ROW|publish → committed row latency (p50 / p99)|$p50 ms / $p99 ms|—|—|reported|—"
echo "ROW|posfleetd CPU per stored report (its utime + stime / reports)|$cpu µs|mosquitto_sub: $sub_cpu µs per message|—|reported|—"
