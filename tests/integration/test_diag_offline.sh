#!/usr/bin/env bash
# test_diag_offline.sh - a reboot request must never run late. (1) The terminal
# is offline when support asks: the request expires at its deadline, the broker
# drops it (message expiry), and when the terminal comes back after the
# deadline nothing runs. (2) The request reaches a terminal that is frozen
# until after the deadline: the agent checks the deadline itself, refuses, and
# posfleetd records that late answer instead of losing it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/diag_lib.sh"

export PF_REPORT_INTERVAL=1
diag_stack
diag_agent DG-OFF
hal="$PF_TMP/agents/DG-OFF/hal"
out="$PF_TMP/out.txt"

# --- (1) offline terminal ------------------------------------------------------------------
pf_kill agent-DG-OFF
pf_wait_for 20 "DG-OFF offline" eval '[[ $(pf_device_field DG-OFF "\$.online") == 0 ]]'
set +e
pf_cli diag DG-OFF reboot --deadline 2 >"$out" 2>&1
rc=$?
set -e
[[ $rc -eq 3 ]] || pf_fail "reboot of an offline terminal: exit $rc, want 3 (no answer): $(cat "$out")"
grep -q "EXPIRED" "$out" || pf_fail "no EXPIRED shown: $(cat "$out")"
id=$(pf_sql "select id from diag_requests where serial='DG-OFF' and command='reboot'")
[[ -n "$id" ]] || pf_fail "the request was not stored"
[[ "$(diag_field "$id" '$.status')" == expired ]] || pf_fail "status not expired"

# The terminal returns after the deadline and keeps its persistent session. Mosquitto
# expires messages with one-second granularity: return once that second has surely passed.
dl=$(diag_field "$id" '$.deadline_ms')
pf_wait_for 10 "the broker's expiry of $id to pass" eval "(( \$(date +%s%3N) > $dl + 2000 ))"
n0=$(pf_sql "select count(*) from health where serial='DG-OFF'")
pf_agent_start DG-OFF
pf_wait_for 30 "DG-OFF back online and reporting" \
    eval "(( \$(pf_sql \"select count(*) from health where serial='DG-OFF'\") >= $n0 + 3 ))"
[[ ! -e "$hal/reboots" ]] || pf_fail "a reboot ran after the deadline ($(cat "$hal/reboots") reboots)"
grep -q "diag $id" "$(pf_log_of agent-DG-OFF)" &&
    pf_fail "the broker delivered the expired request to the terminal"
[[ "$(diag_field "$id" '$.status')" == expired ]] || pf_fail "status changed after the return"

# --- (2) frozen terminal: delivered, but only looked at after the deadline --------------------
pid=$(pf_pid_of agent-DG-OFF)
kill -STOP "$pid"
id2=$(diag_post DG-OFF reboot '{}' 1)
[[ -n "$id2" ]] || pf_fail "request not accepted"
pf_wait_for 20 "$id2 expired" eval "[[ \$(diag_field $id2 '\$.status') == expired ]]"
kill -CONT "$pid"
pf_wait_for 20 "the late answer of $id2 recorded" eval "[[ \$(diag_field $id2 '\$.late') == 1 ]]"
[[ "$(diag_field "$id2" '$.status')" == refused ]] || pf_fail "late answer status"
[[ "$(diag_field "$id2" '$.code')" == EXPIRED ]] || pf_fail "late answer code: $(diag_field "$id2" '$.code')"
[[ ! -e "$hal/reboots" ]] || pf_fail "the frozen terminal rebooted after the deadline"
pf_cli diag show "$id2" >"$out" 2>&1
grep -q "LATE" "$out" || pf_fail "diag show does not flag the late answer: $(cat "$out")"

pf_log "diagnostics of an offline terminal: ok"
