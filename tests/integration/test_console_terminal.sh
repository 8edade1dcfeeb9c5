#!/usr/bin/env bash
# test_console_terminal.sh - the back office's terminal page and its neighbours in a real
# browser (docs/console.md): headless Chromium (console_terminal_test.py) logs in as a
# support user, opens a terminal from the list, sees its health charts drawn from the
# simulated agent's reports and the page refresh itself (ETag polls, a change made
# elsewhere shown without a reload), runs a diagnostic and reads its result, locks and
# unlocks payments, swaps the terminal with the wizard, opens a repair, moves a repair on,
# searches and pages the audit log, changes the password, creates and revokes an API token
# and exports the terminals list as CSV (the downloaded file's rows checked); then a viewer
# sees the page without actions and the API refuses the action anyway. Screenshots of
# every page go to the test's artifacts directory. Skipped (77) only when Chromium is not
# installed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/console_lib.sh"

console_need_browser

PW='correct horse battery'
PW2='staple battery horse correct'
# A merchant name a spreadsheet would run as a formula, with a comma and quotes.
SHOP='=HYPERLINK("http://x.invalid","点我, 面馆")'
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
mkdir -p "$PF_TMP/server"
"$PF_KEYS" api-token --name boot-admin --role admin --file "$PF_TMP/server/tokens" \
    >"$PF_TMP/server/admin.token" || pf_fail "cannot create the admin token"
for role in ops support viewer; do
    "$PF_KEYS" api-token --name "test-$role" --role "$role" --file "$PF_TMP/server/tokens" \
        >"$PF_TMP/server/$role.token" || pf_fail "cannot create the $role token"
done
pf_server_start "http.console_dir = $PF_SRC/console"
admin="$PF_TMP/server/admin.token"

# must STATUS METHOD PATH [BODY]: an admin call that must answer STATUS.
must() {
    local got
    got=$(curl -s -o "$PF_TMP/api.body" -w '%{http_code}' -X "$2" \
        -H "Authorization: Bearer $(cat "$admin")" -H 'Content-Type: application/json' \
        ${4:+--data "$4"} "$POSFLEET_URL$3")
    [[ "$got" == "$1" ]] || pf_fail "$2 $3: $got, want $1: $(cat "$PF_TMP/api.body")"
}

must 201 POST /v1/users "{\"name\":\"li.na\",\"role\":\"support\",\"org\":\"headquarters\",\"password\":\"$PW\"}"
must 201 POST /v1/users "{\"name\":\"wang.fang\",\"role\":\"viewer\",\"org\":\"headquarters\",\"password\":\"$PW\"}"
merchant=$(python3 -c 'import json,sys; print(json.dumps({"id":"M-CT","name":sys.argv[1],
"uscc":"9144030071526726XG","mcc":"5812","address":"1 Test Rd","contact_name":"Li Na",
"contact_phone":"13800000000","tz":"Asia/Shanghai","settlement":"T1","fee_plan":["fee-1"]}))' "$SHOP")
must 201 POST /v1/merchants "$merchant"
must 200 POST /v1/merchants/M-CT/approve '{}'
must 200 POST /v1/merchants/M-CT/activate '{}'
pf_cli device add CT-1 --model PX-500 --hw-rev r2 --merchant M-CT >/dev/null || pf_fail "add CT-1"
for s in CT-2 CT-3 CT-4 CT-5; do
    pf_cli device add "$s" --model PX-500 --hw-rev r2 >/dev/null || pf_fail "device add $s"
done
pf_agent_start CT-1
pf_wait_for 30 "CT-1 online" pf_device_online CT-1
# The battery drops to 80 and the paper runs out: the charts and the alerts have something to show.
pf_hal_set CT-1 battery_pct 80
pf_hal_set CT-1 paper out
battery80() { [[ "$(pf_device_field CT-1 '$.battery_pct')" == 80 ]]; }
pf_wait_for 30 "CT-1 to report 80 %" battery80
reports() { [[ "$(pf_sql "SELECT count(*) FROM health WHERE serial = 'CT-1'")" -ge 3 ]]; }
pf_wait_for 30 "three health reports of CT-1" reports
pf_log "stack: CT-1 bound to M-CT and reporting, CT-2..CT-5 in stock; users li.na (support), wang.fang (viewer)"

shots="${PF_ARTIFACTS:-$PF_BUILD/artifacts}/$PF_TEST_NAME"
rm -rf "$shots"
mkdir -p "$shots"
"$PY" "$PF_SRC/tests/integration/console_terminal_test.py" --url "http://localhost:$PF_HTTP_PORT" \
    --user li.na --viewer wang.fang --password "$PW" --password2 "$PW2" --shop "$SHOP" \
    --shots "$shots" --downloads "$(pf_tmpdir downloads)" --admin-token "$admin" \
    --chromium "$CHROME" --driver "$DRIVER" --profile "$(pf_tmpdir chromium)" \
    --serials CT-1,CT-2,CT-3,CT-4,CT-5 >"$PF_TMP/logs/console_terminal_test.log" 2>&1 ||
    pf_fail "console_terminal_test.py failed: $(tail -n 30 "$PF_TMP/logs/console_terminal_test.log")"
for page in terminal terminal-diag terminal-zh swap-wizard repairs audit account terminals-export \
    terminal-viewer; do
    [[ -s "$shots/$page.png" ]] || pf_fail "no screenshot $page.png"
done
# What the browser did is in the store: the audit log names the support user.
for action in terminal.lock terminal.unlock terminal.swap repair.open diag.request; do
    [[ "$(pf_sql "SELECT count(*) FROM audit WHERE action = '$action' AND actor = 'li.na'")" -ge 1 ]] ||
        pf_fail "no audit row $action by li.na"
done
pf_log "browser: charts, live refresh, diagnostic, lock/unlock, swap wizard, repair, audit, account, CSV; viewer refused"
pf_log "PASS"
