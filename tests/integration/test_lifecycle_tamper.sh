#!/usr/bin/env bash
# test_lifecycle_tamper.sh - a bound terminal becomes active with its first report;
# tamper locks it (posfleetd sends the lock, the real agent switches payments off,
# persists it and confirms, and keeps reporting) and opens a repair; the lock
# survives a restart of the agent and of posfleetd; an unlock sent while the
# terminal is away reaches it after both come back; only closing the repair unlocks.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

export PF_REPORT_INTERVAL=1
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
pf_server_start

S=LT-0001
HAL="$PF_TMP/agents/$S/hal"
STATE="$PF_TMP/agents/$S/state"

life() { pf_cli --json lifecycle "$S" 2>/dev/null | pf_json_get "$1"; }
state_is() { [[ "$(life '$.state')" == "$1" ]]; }
acked_is() { [[ "$(life '$.lock.acknowledged')" == "$1" ]]; }
reported_since() { (($(pf_device_field "$S" '$.last_seen_ms') > $1)); }
payments() { [[ "$(cat "$HAL/payments" 2>/dev/null)" == "$1" ]]; }

pf_cli merchant add M-LT --name "Lucky Noodles" --uscc 9144030071526726XG --mcc 5812 \
    --address "1 Nanshan Road" --contact "Li Wei" --phone "+86 138 0000 0000" \
    --tz Asia/Shanghai --settlement T1 --fee-plan fee-2026.11 >/dev/null || pf_fail "merchant add"
pf_cli merchant approve M-LT >/dev/null || pf_fail "merchant approve"
pf_cli device add "$S" --model PX-500 >/dev/null || pf_fail "device add"
pf_cli bind "$S" M-LT >/dev/null || pf_fail "bind"
[[ "$(life '$.state')" == installed ]] || pf_fail "bound terminal is not installed"
[[ "$(life '$.tz')" == Asia/Shanghai ]] || pf_fail "binding did not set the time zone"

# --- first report: active ------------------------------------------------------
pf_agent_start "$S"
pf_wait_for 30 "$S active after its first report" state_is active
pf_wait_for 10 "payments enabled at start" payments enabled

# --- tamper: locked, confirmed, repair opened -------------------------------------
pf_hal_set "$S" tamper 1
pf_wait_for 30 "$S locked" state_is locked
pf_wait_for 30 "the agent confirmed the lock" acked_is 1
payments disabled || pf_fail "payments not disabled on the terminal"
grep -q '"locked":true' "$STATE/lock" || pf_fail "the lock is not persisted in state_dir"
rid="$(life '$.repair_id')"
[[ -n "$rid" ]] || pf_fail "no repair opened on tamper"
pf_cli --json repair show "$rid" | grep -q '"source": "tamper"' || pf_fail "repair source"
seen="$(pf_device_field "$S" '$.last_seen_ms')"
pf_wait_for 20 "the locked terminal keeps reporting" \
    reported_since "$seen"
# A refused transition changes nothing.
before="$(pf_cli --json lifecycle "$S")"
set +e
pf_cli bind "$S" M-LT 2>"$PF_TMP/bind.err"
rc=$?
set -e
[[ $rc -eq 1 ]] || pf_fail "binding a locked terminal: exit $rc, want 1"
grep -q "terminal is locked" "$PF_TMP/bind.err" || pf_fail "refusal reason: $(cat "$PF_TMP/bind.err")"
[[ "$(pf_cli --json lifecycle "$S")" == "$before" ]] || pf_fail "a refused bind changed the terminal"

# --- the agent restarts: still locked ----------------------------------------------
pf_hal_set "$S" tamper 0
pf_kill "agent-$S" 10
printf 'enabled\n' >"$HAL/payments" # as if the payment application came up unlocked
pf_agent_start "$S"
pf_wait_for 20 "the restarted agent locks payments again" payments disabled
seen="$(pf_device_field "$S" '$.last_seen_ms')"
pf_wait_for 20 "the restarted agent reports" \
    reported_since "$seen"
[[ "$(life '$.state')" == locked ]] || pf_fail "tamper cleared unlocked the terminal"

# --- posfleetd restarts: still locked -------------------------------------------------
pf_server_stop
pf_server_start
[[ "$(life '$.state')" == locked ]] || pf_fail "locked state lost over a posfleetd restart"
[[ "$(life '$.locked')" == 1 ]] || pf_fail "lock lost over a posfleetd restart"

# --- unlock while the terminal is away, then posfleetd restarts ---------------------
pf_kill "agent-$S" 10
pf_cli repair close "$rid" --outcome returned_to_stock --faults TAMPER,PHYSICAL \
    --parts "casing" --notes "seal replaced" >/dev/null || pf_fail "repair close"
[[ "$(life '$.state')" == in_stock ]] || pf_fail "closed repair: terminal not in stock"
[[ "$(life '$.lock.action')" == unlock ]] || pf_fail "no unlock command pending"
[[ "$(life '$.lock.acknowledged')" == 0 ]] || pf_fail "unlock confirmed while the agent is down"
payments disabled || pf_fail "payments enabled while the agent was down"
pf_server_stop
pf_server_start
pf_agent_start "$S"
pf_wait_for 30 "payments enabled after the repair closed" payments enabled
pf_wait_for 30 "the agent confirmed the unlock" acked_is 1
grep -q '"locked":false' "$STATE/lock" || pf_fail "the unlock is not persisted"

# --- history and audit -----------------------------------------------------------------
hist="$(pf_cli history "$S")"
for k in bind activate lock locked repair_return unlock unlocked; do
    grep -qw "$k" <<<"$hist" || pf_fail "history lacks $k"
done
pf_cli audit --serial "$S" | grep -q "terminal.lock" || pf_fail "audit lacks the lock"
pf_cli audit --serial "$S" | grep -q "repair.close" || pf_fail "audit lacks the repair close"
pf_cli audit --merchant M-LT | grep -q "terminal.bind" || pf_fail "audit by merchant"
pf_log "lifecycle tamper: OK"
