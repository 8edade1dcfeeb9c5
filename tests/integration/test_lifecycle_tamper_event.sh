#!/usr/bin/env bash
# test_lifecycle_tamper_event.sh - a tamper locks at once, not with the next health
# report: the agent reads its tamper switch every tamper_poll_ms and publishes a tamper
# event on pf/v1/dev/{serial}/tamper when it trips; posfleetd locks on that event and
# the terminal confirms the lock, while the next scheduled report is ten minutes away.
# A malformed event is refused and changes nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

export PF_REPORT_INTERVAL=1
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
pf_server_start

S=LTE-0001
HAL="$PF_TMP/agents/$S/hal"
SLOG="$(pf_log_of posfleetd)"

life() { pf_cli --json lifecycle "$S" 2>/dev/null | pf_json_get "$1"; }
state_is() { [[ "$(life '$.state')" == "$1" ]]; }
acked_is() { [[ "$(life '$.lock.acknowledged')" == "$1" ]]; }
payments() { [[ "$(cat "$HAL/payments" 2>/dev/null)" == "$1" ]]; }

pf_cli merchant add M-LTE --name "Corner Grocer" --uscc 9144030071526726XG --mcc 5411 \
    --address "2 Nanshan Road" --contact "Li Wei" --phone "+86 138 0000 0000" \
    --tz Asia/Shanghai --settlement T1 --fee-plan fee-2026.11 >/dev/null || pf_fail "merchant add"
pf_cli merchant approve M-LTE >/dev/null || pf_fail "merchant approve"
pf_cli device add "$S" --model PX-500 >/dev/null || pf_fail "device add"
pf_cli bind "$S" M-LTE >/dev/null || pf_fail "bind"

# Active after a first report, then the agent runs with a ten-minute report interval.
pf_agent_start "$S"
pf_wait_for 30 "$S active after its first report" state_is active
pf_kill "agent-$S" 10

# A malformed tamper event under the terminal's own identity is refused: no lock.
pf_mqtt_pub "$S" -q 1 -t "pf/v1/dev/$S/tamper" -m '{"v":1,"ts":"soon"}'
pf_wait_for 10 "posfleetd refused the malformed tamper event" \
    grep -q "$S: rejected [A-Z]*: tamper" "$SLOG"
[[ "$(life '$.state')" == active ]] || pf_fail "a malformed tamper event changed the state"

pf_agent_start "$S" health_interval_s=600 health_jitter_pct=0 tamper_poll_ms=100
pf_wait_for 20 "$S online again" pf_device_online "$S"
pf_wait_for 10 "payments enabled" payments enabled

# --- the switch trips: event, lock, confirmation within seconds --------------------------
t0="$(date +%s%N)"
pf_hal_set "$S" tamper 1
pf_wait_for 10 "$S locked by the tamper event" state_is locked
pf_wait_for 10 "the agent confirmed the lock" acked_is 1
ms=$((($(date +%s%N) - t0) / 1000000))
payments disabled || pf_fail "payments not disabled on the terminal"
grep -q "$S: tamper (tamper event): locking" "$SLOG" ||
    pf_fail "posfleetd did not lock on the tamper event"
grep -q "tamper switch tripped" "$(pf_log_of "agent-$S")" || pf_fail "agent did not log the trip"
rid="$(life '$.repair_id')"
[[ -n "$rid" ]] || pf_fail "no repair opened on the tamper event"
pf_cli --json repair show "$rid" | grep -q '"source": "tamper"' || pf_fail "repair source"
pf_log "lifecycle tamper event: switch -> lock confirmed in ${ms} ms: OK"
