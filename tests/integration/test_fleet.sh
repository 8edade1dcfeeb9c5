#!/usr/bin/env bash
# test_fleet.sh - the walking skeleton end to end: real Mosquitto with TLS client
# certificates, real posfleetd on SQLite, real agents with the simulated HAL, and
# ops reading the fleet through the posfleet CLI.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

export PF_REPORT_INTERVAL=1
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
pf_server_start

# --- registry and roles ------------------------------------------------------
for s in E2E-OK E2E-PAPER E2E-BATT; do
    pf_cli device add "$s" --model PX-500 --hw-rev r2 >/dev/null || pf_fail "device add $s"
done
set +e
PF_CLI_TOKEN=$PF_TOKEN_VIEWER pf_cli device add E2E-NOPE --model PX-500 2>"$PF_TMP/viewer.err"
rc=$?
set -e
[[ $rc -eq 5 ]] || pf_fail "a viewer registering a terminal: exit $rc, want 5 (forbidden)"
pf_cli --json device E2E-NOPE >/dev/null 2>&1 && pf_fail "the viewer's terminal was registered"
set +e
pf_cli device add E2E-OK --model PX-500 >/dev/null 2>&1
rc=$?
set -e
[[ $rc -eq 1 ]] || pf_fail "registering a serial twice: exit $rc, want 1"

# --- terminals report ----------------------------------------------------------
mkdir -p "$PF_TMP/agents/E2E-PAPER/hal" "$PF_TMP/agents/E2E-BATT/hal"
pf_hal_set E2E-PAPER paper out
pf_hal_set E2E-BATT battery_pct 4
pf_hal_set E2E-BATT charging 0
pf_agent_start E2E-OK
pf_agent_start E2E-PAPER
pf_agent_start E2E-BATT
for s in E2E-OK E2E-PAPER E2E-BATT; do
    pf_wait_for 30 "$s online with a health report" \
        eval "[[ \$(pf_device_field $s '\$.online') == 1 && -n \$(pf_device_field $s '\$.battery_pct') ]]"
done
[[ "$(pf_device_field E2E-BATT '$.battery_pct')" == 4 ]] || pf_fail "battery of E2E-BATT"
[[ "$(pf_device_field E2E-OK '$.fw_version')" == 1.0.0 ]] || pf_fail "firmware of E2E-OK"

has_alert() { pf_cli --json alerts | grep -q "\"serial\": \"$1\",[^}]*\"kind\": \"$2\"" ||
              pf_cli --json alerts | tr -d ' \n' | grep -q "{[^}]*\"serial\":\"$1\"[^}]*\"kind\":\"$2\"\|{[^}]*\"kind\":\"$2\"[^}]*\"serial\":\"$1\""; }
pf_wait_for 20 "paper_out alert for E2E-PAPER" has_alert E2E-PAPER paper_out
pf_wait_for 20 "battery_critical alert for E2E-BATT" has_alert E2E-BATT battery_critical
has_alert E2E-OK paper_out && pf_fail "a healthy terminal has a paper_out alert"

# A live change on the terminal: tamper raises an alert; charging clears the battery one.
pf_hal_set E2E-OK tamper 1
pf_wait_for 20 "tamper alert for E2E-OK" has_alert E2E-OK tamper
pf_hal_set E2E-BATT charging 1
pf_wait_for 20 "battery_critical closes when charging" eval '! has_alert E2E-BATT battery_critical'

# What ops see.
pf_cli devices >"$PF_TMP/devices.txt"
for s in E2E-OK E2E-PAPER E2E-BATT; do grep -q "^$s " "$PF_TMP/devices.txt" || pf_fail "$s missing from 'posfleet devices'"; done
pf_cli summary | grep -qi "online" || pf_fail "summary"

# --- a valid certificate for an unregistered serial is ignored, with an alert ---
pf_agent_start E2E-STRANGER
pf_wait_for 20 "unknown_serial alert for E2E-STRANGER" has_alert E2E-STRANGER unknown_serial
pf_cli devices | grep -q "^E2E-STRANGER " && pf_fail "an unregistered serial was listed"
[[ "$(pf_sql "select count(*) from health where serial='E2E-STRANGER'")" == 0 ]] ||
    pf_fail "health of an unregistered serial was stored"

# --- offline via the last will ---------------------------------------------------
kill -9 "$(pf_pid_of agent-E2E-PAPER)"
pf_wait_for 90 "E2E-PAPER offline after its last will" \
    eval "[[ \$(pf_device_field E2E-PAPER '\$.online') == 0 ]]"

# --- revocation takes effect at once in posfleetd -------------------------------------
pf_cli device revoke E2E-BATT >/dev/null
n0=$(pf_sql "select count(*) from health where serial='E2E-BATT'")
n_ok0=$(pf_sql "select count(*) from health where serial='E2E-OK'")
pf_wait_for 20 "E2E-OK keeps reporting" eval "(( \$(pf_sql \"select count(*) from health where serial='E2E-OK'\") >= $n_ok0 + 3 ))"
[[ "$(pf_sql "select count(*) from health where serial='E2E-BATT'")" == "$n0" ]] ||
    pf_fail "a revoked terminal's reports were stored"
pf_cli --json devices --status revoked | grep -q E2E-BATT || pf_fail "E2E-BATT not listed as revoked"

# --- offline queue: reports measured while the broker is down arrive late, in order ---
pf_broker_stop
pf_wait_for 20 "E2E-OK to queue reports while the broker is down" \
    eval "(( \$(ls '$PF_TMP/agents/E2E-OK/state/queue' 2>/dev/null | wc -l) >= 2 ))"
pf_broker_restart
pf_wait_for 60 "queued reports from E2E-OK stored" \
    eval "(( \$(pf_sql \"select count(*) from health where serial='E2E-OK' and queued=1\") >= 2 ))"
# seq never goes backwards in the stored order of measurement.
bad=$(pf_sql "select count(*) from (select seq, lag(seq) over (order by ts_ms, seq) prev from health where serial='E2E-OK') where prev is not null and seq <= prev")
[[ "$bad" == 0 ]] || pf_fail "health seq not increasing with time ($bad inversions)"

pf_log "fleet end to end: ok"
