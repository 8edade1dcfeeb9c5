#!/usr/bin/env bash
# test_diag_commands.sh - every allowlisted diagnostic end to end (real broker
# with TLS, real posfleetd, real agent): selftest, logs, net, config (secrets
# redacted), versions, loglevel; an unknown command refused by the terminal;
# roles, audit and the per-terminal rate limit.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/diag_lib.sh"

export PF_REPORT_INTERVAL=1
diag_stack "diag.rate_terminal = 20"
# The "payment host" of this terminal is posfleetd's HTTP port: a real listener on loopback.
diag_agent DG-1 diag.payment_host=127.0.0.1 diag.payment_port="$PF_HTTP_PORT"
out="$PF_TMP/out.txt"

# --- selftest ---------------------------------------------------------------------------
pf_hal_set DG-1 printer fail
pf_hal_set DG-1 battery_pct 42
pf_cli diag DG-1 selftest >"$out" 2>&1 || pf_fail "selftest (it ran: exit 0 whatever it found): $(cat "$out")"
grep -q "self-test: FAILED" "$out" || pf_fail "selftest: $(cat "$out")"
grep -Eq "printer +fail" "$out" || pf_fail "selftest: printer not shown failing: $(cat "$out")"
grep -Eq "battery_pct +42" "$out" || pf_fail "selftest: battery not measured now: $(cat "$out")"
pf_hal_set DG-1 printer pass
pf_cli diag DG-1 selftest >"$out" 2>&1 || pf_fail "selftest exit $?: $(cat "$out")"
grep -q "self-test: PASSED" "$out" || pf_fail "selftest after repair: $(cat "$out")"
[[ "$(pf_cli --json diag DG-1 selftest | pf_json_get '$.result.components.printer')" == pass ]] ||
    pf_fail "selftest --json"

# --- logs: bounded to the last N lines ------------------------------------------------------
pf_cli diag DG-1 logs -n 3 >"$out" 2>&1 || pf_fail "logs: $(cat "$out")"
grep -q "last 3 log lines" "$out" || pf_fail "logs -n 3: $(cat "$out")"
[[ $(grep -c "posfleet-agent " "$out") -eq 3 ]] || pf_fail "logs -n 3 printed other than 3 lines"
id=$(diag_post DG-1 logs '{"lines":501}')
[[ -z "$id" ]] || pf_fail "501 log lines accepted (bound is 500)"

# --- net: resolve and connect, with timings --------------------------------------------------
pf_cli diag DG-1 net >"$out" 2>&1 || pf_fail "net: $(cat "$out")"
grep -q "all targets reachable" "$out" || pf_fail "net: $(cat "$out")"
grep -Eq "payment +127.0.0.1:$PF_HTTP_PORT .*connect [0-9]+ ms +OK" "$out" || pf_fail "net payment: $(cat "$out")"
grep -Eq "broker +127.0.0.1:$PF_BROKER_PORT .*OK" "$out" || pf_fail "net broker: $(cat "$out")"

# --- config: effective, paths shown, no key material --------------------------------------------
pf_cli diag DG-1 config >"$out" 2>&1 || pf_fail "config: $(cat "$out")"
read -r _ key < <(pf_cert_of DG-1)
grep -Eq "tls.key +$key" "$out" || pf_fail "config: tls.key path missing: $(cat "$out")"
grep -q "PRIVATE KEY" "$out" && pf_fail "config: key material in the answer"
pf_cli --json diag show "$(pf_cli --json diag list DG-1 | pf_json_get '$.diag[0].id')" >"$PF_TMP/cfg.json"
grep -q '"tls.key"' "$PF_TMP/cfg.json" || pf_fail "the stored config answer is not the one just made"
grep -q "BEGIN" "$PF_TMP/cfg.json" && pf_fail "stored config answer holds PEM data"
grep -Eq "diag.payment_port +$PF_HTTP_PORT" "$out" || pf_fail "config: diag keys missing"

# --- versions --------------------------------------------------------------------------------------
pf_cli diag DG-1 versions >"$out" 2>&1 || pf_fail "versions: $(cat "$out")"
grep -Eq "firmware +1.0.0" "$out" || pf_fail "versions: $(cat "$out")"
grep -Eq "agent +0\." "$out" || pf_fail "versions: agent version: $(cat "$out")"
grep -Eq "^  [0-9-]+ [0-9:]+ UTC  slot a  1\.0\.0  normal$" "$out" ||
    pf_fail "versions: no boot history: $(cat "$out")"

# --- loglevel: for a while, then back ----------------------------------------------------------------
pf_cli diag DG-1 loglevel debug --minutes 1 >"$out" 2>&1 || pf_fail "loglevel: $(cat "$out")"
grep -q "log level debug for 1 minute(s)" "$out" || pf_fail "loglevel: $(cat "$out")"
grep -q "then back to info" "$out" || pf_fail "loglevel: revert level: $(cat "$out")"
pf_wait_for 10 "debug lines in the agent's log" grep -q "posfleet-agent debug" "$(pf_log_of agent-DG-1)"
pf_cli diag DG-1 loglevel >/dev/null 2>&1 && pf_fail "loglevel without LEVEL accepted"
id=$(diag_post DG-1 loglevel '{"level":"verbose"}')
[[ -z "$id" ]] || pf_fail "log level 'verbose' accepted"

# --- unknown command: sent, refused by the terminal, the refusal stored ----------------------------
set +e
pf_cli diag DG-1 shell >"$out" 2>&1
rc=$?
set -e
[[ $rc -eq 1 ]] || pf_fail "unknown command: exit $rc, want 1: $(cat "$out")"
grep -q "REFUSED by the terminal: UNKNOWN_COMMAND" "$out" || pf_fail "unknown command: $(cat "$out")"
grep -q "refused: not on the terminal's allowlist" "$(pf_log_of agent-DG-1)" ||
    grep -q "shell refused" "$(pf_log_of agent-DG-1)" || pf_fail "agent did not log the refusal"

# --- roles, audit --------------------------------------------------------------------------------------
set +e
PF_CLI_TOKEN=$PF_TOKEN_VIEWER pf_cli diag DG-1 selftest >"$out" 2>&1
rc=$?
set -e
[[ $rc -eq 5 ]] || pf_fail "a viewer ran a diagnostic: exit $rc, want 5"
n_audit=$(pf_sql "select count(*) from audit where action='diag.request' and target='DG-1'")
n_req=$(pf_sql "select count(*) from diag_requests where serial='DG-1'")
[[ "$n_audit" == "$n_req" && "$n_req" -ge 9 ]] || pf_fail "audit rows $n_audit for $n_req requests"
[[ "$(pf_sql "select group_concat(distinct actor) from audit where action='diag.request'")" == test-support ]] ||
    pf_fail "audit actor"

# --- a diagnostic made while a repair record is open is attached to it --------------------------------------
[[ "$(pf_cli --json diag DG-1 versions | pf_json_get '$.repair_id')" == "" ]] ||
    pf_fail "attached to a repair before any was open"
repair=$(curl -sf -X POST -H "Authorization: Bearer $(cat "$PF_TOKEN_SUPPORT")" \
    --data '{"reason":"screen flickers"}' "$POSFLEET_URL/v1/devices/DG-1/repair" | pf_json_get '$.id') ||
    pf_fail "opening a repair record"
[[ -n "$repair" ]] || pf_fail "no repair id"
[[ "$(pf_cli --json diag DG-1 selftest | pf_json_get '$.repair_id')" == "$repair" ]] ||
    pf_fail "the diagnostic is not attached to repair $repair"

# --- rate limit per terminal (diag.rate_terminal, 20 a minute here) ------------------------------------------
code=""
for _ in $(seq 1 22); do
    code=$(curl -s -o "$PF_TMP/rl.json" -w '%{http_code}' -X POST \
        -H "Authorization: Bearer $(cat "$PF_TOKEN_SUPPORT")" --data '{"command":"versions"}' \
        "$POSFLEET_URL/v1/devices/DG-1/diag")
    [[ "$code" == 429 ]] && break
done
[[ "$code" == 429 ]] || pf_fail "no 429 after 22 requests in a minute"
[[ $(pf_sql "select count(*) from diag_requests where serial='DG-1'") == 20 ]] ||
    pf_fail "$(pf_sql "select count(*) from diag_requests where serial='DG-1'") requests stored, want 20"
grep -q "rate limit: terminal DG-1 already has 20 requests" "$PF_TMP/rl.json" || pf_fail "429 without a reason: $(cat "$PF_TMP/rl.json")"

pf_log "diagnostic commands end to end: ok"
