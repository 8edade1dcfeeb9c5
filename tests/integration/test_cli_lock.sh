#!/usr/bin/env bash
# test_cli_lock.sh - support locks a terminal's payments by hand from the command
# line and unlocks it: `posfleet lock SERIAL --reason` reaches the real agent (payments
# off, confirmed), `posfleet unlock` enables them again; a reason is required, a second
# unlock is refused naming the state, and both reasons are in the history and the audit.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

export PF_REPORT_INTERVAL=1
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
pf_server_start

S=CL-0001
HAL="$PF_TMP/agents/$S/hal"

life() { pf_cli --json lifecycle "$S" 2>/dev/null | pf_json_get "$1"; }
state_is() { [[ "$(life '$.state')" == "$1" ]]; }
acked_is() { [[ "$(life '$.lock.acknowledged')" == "$1" ]]; }
payments() { [[ "$(cat "$HAL/payments" 2>/dev/null)" == "$1" ]]; }

pf_cli merchant add M-CL --name "福满楼" --uscc 9144030071526726XG --mcc 5812 \
    --address "1 Nanshan Road" --contact "Li Wei" --phone "+86 138 0000 0000" \
    --tz Asia/Shanghai --settlement T1 --fee-plan fee-2026.11 >/dev/null || pf_fail "merchant add"
pf_cli merchant approve M-CL >/dev/null || pf_fail "merchant approve"
pf_cli device add "$S" --model PX-500 >/dev/null || pf_fail "device add"
pf_cli bind "$S" M-CL >/dev/null || pf_fail "bind"
pf_agent_start "$S"
pf_wait_for 30 "$S active after its first report" state_is active
pf_wait_for 10 "payments enabled at start" payments enabled

# --- no reason: refused before anything is sent ----------------------------------------
set +e
pf_cli lock "$S" 2>"$PF_TMP/noreason.err"
rc=$?
set -e
[[ $rc -ne 0 ]] || pf_fail "lock without --reason succeeded"
grep -q -- "--reason" "$PF_TMP/noreason.err" || pf_fail "no-reason error: $(cat "$PF_TMP/noreason.err")"
[[ "$(life '$.locked')" == 0 ]] || pf_fail "a refused lock locked the terminal"

# --- lock: the agent switches payments off and confirms ---------------------------------
pf_cli lock "$S" --reason "商户报失" >/dev/null || pf_fail "posfleet lock"
[[ "$(life '$.locked')" == 1 ]] || pf_fail "not locked after posfleet lock"
[[ "$(life '$.state')" == active ]] || pf_fail "a lock by hand changed the lifecycle state"
pf_wait_for 30 "payments disabled on the terminal" payments disabled
pf_wait_for 30 "the agent confirmed the lock" acked_is 1

# --- a second lock is refused, naming why ------------------------------------------------
set +e
pf_cli lock "$S" --reason "again" 2>"$PF_TMP/twice.err"
rc=$?
set -e
[[ $rc -ne 0 ]] || pf_fail "locking a locked terminal succeeded"
grep -qi "lock" "$PF_TMP/twice.err" || pf_fail "second lock error: $(cat "$PF_TMP/twice.err")"

# --- unlock: payments on again -------------------------------------------------------------
pf_cli unlock "$S" --reason "已找回，核对无误" >/dev/null || pf_fail "posfleet unlock"
[[ "$(life '$.locked')" == 0 ]] || pf_fail "still locked after posfleet unlock"
pf_wait_for 30 "payments enabled again" payments enabled
pf_wait_for 30 "the agent confirmed the unlock" acked_is 1
set +e
pf_cli unlock "$S" --reason "again" 2>"$PF_TMP/unlock2.err"
rc=$?
set -e
[[ $rc -ne 0 ]] || pf_fail "unlocking an unlocked terminal succeeded"

# --- the reasons are kept ---------------------------------------------------------------
hist="$(pf_cli history "$S")"
grep -q "商户报失" <<<"$hist" || pf_fail "history lacks the lock's reason: $hist"
grep -q "已找回，核对无误" <<<"$hist" || pf_fail "history lacks the unlock's reason: $hist"
audit="$(pf_cli audit --serial "$S")"
grep -q "terminal.lock" <<<"$audit" || pf_fail "audit lacks terminal.lock"
grep -q "terminal.unlock" <<<"$audit" || pf_fail "audit lacks terminal.unlock"
pf_log "cli lock: OK"
