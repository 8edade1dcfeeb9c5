#!/usr/bin/env bash
# test_diag_reboot.sh - reboot through diagnostics: refused while a sale is in
# progress (HAL busy), nothing rebooted; allowed once the sale is over, exactly
# one reboot through the HAL; the same request id delivered again does not
# reboot twice.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/diag_lib.sh"

export PF_REPORT_INTERVAL=1
diag_stack "diag.rate_user = 3"
diag_agent DG-RB
hal="$PF_TMP/agents/DG-RB/hal"
out="$PF_TMP/out.txt"

pf_hal_set DG-RB busy 1
set +e
pf_cli diag DG-RB reboot >"$out" 2>&1
rc=$?
set -e
[[ $rc -eq 1 ]] || pf_fail "reboot during a sale: exit $rc, want 1: $(cat "$out")"
grep -q "REFUSED by the terminal: BUSY: a transaction is in progress" "$out" ||
    pf_fail "refusal not shown: $(cat "$out")"
[[ ! -e "$hal/reboots" ]] || pf_fail "rebooted during a sale"

pf_hal_set DG-RB busy 0
pf_cli diag DG-RB reboot >"$out" 2>&1 || pf_fail "reboot: $(cat "$out")"
grep -q "the terminal is rebooting" "$out" || pf_fail "reboot: $(cat "$out")"
pf_wait_for 10 "the HAL reboot hook" test -s "$hal/reboots"
[[ "$(cat "$hal/reboots")" == 1 ]] || pf_fail "reboots: $(cat "$hal/reboots")"

# The same request again (a QoS 1 redelivery): remembered, not run again.
id=$(pf_sql "select id from diag_requests where serial='DG-RB' and status='ok'")
now=$(($(date +%s%3N)))
payload="{\"v\":1,\"id\":\"$id\",\"cmd\":\"reboot\",\"ts\":$now,\"deadline\":$((now + 30000)),\"args\":{}}"
# Published as posfleetd (the only identity the ACL lets write commands); posfleetd's own
# session is taken over for a moment and reconnects.
pf_mqtt_pub posfleetd -q 1 -t "pf/v1/cmd/DG-RB/diag" -m "$payload"
pf_wait_for 10 "the repeat noticed" grep -q "diag $id: already handled" "$(pf_log_of agent-DG-RB)"
[[ "$(cat "$hal/reboots")" == 1 ]] || pf_fail "a repeated request rebooted again"

# The per-user limit (3 a minute here): the support user's third request passes, the fourth not.
pf_wait_for 20 "posfleetd back on the broker after the takeover" \
    eval "(( \$(grep -c 'mqtt: subscribed' '$(pf_log_of posfleetd)') >= 2 ))"
pf_cli diag DG-RB versions >/dev/null 2>&1 || pf_fail "the user's third request"
set +e
pf_cli diag DG-RB versions >"$out" 2>&1
rc=$?
set -e
[[ $rc -eq 1 ]] || pf_fail "over the user limit: exit $rc, want 1"
grep -q "HTTP 429.*rate limit: user test-support already made 3 requests" "$out" ||
    pf_fail "429 reason: $(cat "$out")"
[[ $(pf_sql "select count(*) from diag_requests") == 3 ]] || pf_fail "a rate-limited request was stored"

pf_log "diagnostic reboot: ok"
