#!/usr/bin/env bash
#
# test_report_order.sh - a newer measurement is never hidden by an older one
# (issue 14, item 13), with the real broker:
#   1. the finding: a scripted terminal (mosquitto_pub with its certificate)
#      reports seq 1..3 in start 1, restarts with its seq reset (start 2,
#      seq 0, battery 64 %), then delivers a report queued before the restart,
#      measured 10 minutes earlier with seq 4 (battery 11 %): the latest state
#      stays at 64 % (it showed 11 % when reports were ordered by seq or ts);
#   2. a terminal that sends no boot keeps today's rule (a higher seq is newer);
#   3. the real agent counts its starts in state_dir/boot and sends the count in
#      every report: a stopped and restarted agent reports boot 2 (seen by a
#      privileged observer on the broker).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

pf_pki_init "$(pf_tmpdir pki)"
OBS=pf-order-observer
pf_device_cert "$PF_PKI" "$OBS"
pf_broker_start "$PF_PKI"
printf '\nuser %s\ntopic read pf/v1/dev/#\n' "$OBS" >>"$PF_BROKER_DIR/posfleet.acl"
kill -HUP "$PF_BROKER_PID"
pf_server_start
B=RO-1
L=RO-2
A=RO-3
for s in "$B" "$L" "$A"; do
    pf_cli_quiet device add "$s" --model PX-500 || pf_fail "device add $s"
done
pf_device_cert "$PF_PKI" "$B"
pf_device_cert "$PF_PKI" "$L"

# health SERIAL BOOT SEQ TS BATTERY QUEUED: one report as docs/protocol.md shows it
# (BOOT "-": no boot field).
health() {
    local boot=""
    [[ "$2" == - ]] || boot="\"boot\":$2,"
    pf_mqtt_pub "$1" -q 1 -t "pf/v1/dev/$1/health" -m "{\"v\":1,$boot\"seq\":$3,\"ts\":$4,
\"power\":{\"battery_pct\":$5,\"charging\":false},\"net\":{\"type\":\"4g\",\"signal_dbm\":-85},
\"temp_c\":41,\"storage_free_kb\":123456,\"mem_free_kb\":4096,\"uptime_s\":3600,
\"fw\":{\"version\":\"1.0.0\",\"slot\":\"a\"},\"fee_version\":\"\",\"paper\":\"ok\",
\"tamper\":false,\"selftest\":{\"power\":\"pass\",\"network\":\"pass\",\"screen\":\"pass\",
\"printer\":\"pass\",\"card_reader\":\"pass\",\"secure_element\":\"pass\"},
\"errors\":{\"reconnects\":0,\"queue_dropped\":0,\"reader\":0,\"printer\":0},
\"txn\":{\"count\":0,\"amount_minor\":0,\"currency\":\"CNY\"},\"queued\":$6}" ||
        pf_fail "publish health of $1"
}
rows() { pf_sql "select count(*) from health where serial='$1'"; }
rows_are() { [[ "$(rows "$1")" == "$2" ]]; }
battery() { pf_device_field "$1" '$.battery_pct'; }

now=$(($(date +%s) * 1000))
t0=$((now - 3600 * 1000))

# ---------------------------------------------------------------------------
pf_log "1. a report queued before a restart does not replace one measured after it"
for seq in 1 2 3; do
    health "$B" 1 "$seq" $((t0 + seq * 60000)) 70 false
done
health "$B" 2 0 "$now" 64 false
health "$B" 1 4 $((now - 600000)) 11 true
pf_wait_for 20 "5 reports of $B stored" rows_are "$B" 5
[[ "$(battery "$B")" == 64 ]] ||
    pf_fail "the older report replaced the latest state: battery $(battery "$B") %, want 64 %"

# ---------------------------------------------------------------------------
pf_log "2. without boot, a higher seq is newer, as before"
for seq in 1 2 3; do
    health "$L" - "$seq" $((t0 + seq * 60000)) 70 false
done
health "$L" - 4 $((now - 600000)) 55 false
pf_wait_for 20 "4 reports of $L stored" rows_are "$L" 4
[[ "$(battery "$L")" == 55 ]] || pf_fail "a terminal without boot: battery $(battery "$L") %"

# ---------------------------------------------------------------------------
pf_log "3. the agent counts its starts and sends the count"
pf_mqtt_sub_spawn observer "$OBS" -t "pf/v1/dev/$A/health"
OBSLOG="$(pf_log_of observer)"
pf_agent_start "$A"
saw_boot() { grep -qE "\"boot\":$1[,}]" "$OBSLOG"; }
pf_wait_for 30 "a report of $A with boot 1" saw_boot 1
[[ "$(cat "$PF_TMP/agents/$A/state/boot")" == 1 ]] || pf_fail "state_dir/boot is not 1"
pf_kill "agent-$A" 10
pf_agent_start "$A"
pf_wait_for 30 "a report of $A with boot 2" saw_boot 2
[[ "$(cat "$PF_TMP/agents/$A/state/boot")" == 2 ]] || pf_fail "state_dir/boot is not 2"
pf_log "OK"
