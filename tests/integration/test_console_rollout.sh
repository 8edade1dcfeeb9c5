#!/usr/bin/env bash
# test_console_rollout.sh - the merchants, bundles, rollouts and admin pages of the back
# office in headless Chromium (console_rollout_test.py, docs/console.md) against a real
# stack: 20 simulated terminals with the update engine, half of which fail the new
# firmware's self-test (posfleet-sim --fault selftest_fail=50), four eyes on firmware.
# In the browser: an ops user onboards a merchant with a Chinese name (the credit code's
# check character refused as it is typed, then a right one), approves and activates it and
# binds a terminal; uploads a signed bundle (the verdict) and a tampered one (the
# verifier's refusal); previews and creates a staged rollout; cannot approve it (its
# creator); an approver approves it; the rollout page follows it without a reload until it
# pauses itself with the failures by code; a member is skipped with a reason; an admin
# adds an organisation and a user. Screenshots of each page go to the artifacts directory.
# Skipped (77) only when Chromium is not installed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"
. "$(dirname "$0")/console_lib.sh"
. "$(dirname "$0")/rollout_lib.sh"

console_need_browser

PW='correct horse battery'
mkdir -p "$PF_TMP/server"
for role in admin ops support viewer; do
    "$PF_KEYS" api-token --name "test-$role" --role "$role" --file "$PF_TMP/server/tokens" \
        >"$PF_TMP/server/$role.token" || pf_fail "cannot create the $role token"
done
admin="$PF_TMP/server/admin.token"
RO_SERVER_CONF="http.console_dir = $PF_SRC/console
rollout.approval = firmware"
ro_stack 20 CR --fault selftest_fail=50

api() { # api TOKEN_FILE METHOD PATH [BODY]: the status, the body into $PF_TMP/api.body
    curl -s -o "$PF_TMP/api.body" -w '%{http_code}' -X "$2" -H "Authorization: Bearer $(cat "$1")" \
        -H 'Content-Type: application/json' ${4:+--data "$4"} "$POSFLEET_URL$3"
}
must() { # must STATUS TOKEN METHOD PATH [BODY]
    local got
    got=$(api "${@:2}")
    [[ "$got" == "$1" ]] || pf_fail "$3 $4: $got, want $1: $(cat "$PF_TMP/api.body")"
}
for u in ops.li:ops approver.wang:approver admin.zhao:admin; do
    must 201 "$admin" POST /v1/users \
        "{\"name\":\"${u%%:*}\",\"role\":\"${u#*:}\",\"org\":\"headquarters\",\"password\":\"$PW\"}"
done

# The bundle the browser uploads, and a copy with one byte of its payload changed.
head -c 65536 /dev/urandom >"$RO_WORK/fw.img"
"$PF_PACK" create --kind firmware --version 2.0.0 --model PX-500 --hw-rev r1 \
    --keyring "$UPD_KEYS" --key "$UPD_KEYS/signing/fw.key" -o "$RO_WORK/fw-2.0.0.tar" \
    "$RO_WORK/fw.img" >/dev/null || pf_fail "posfleet-pack create"
cp "$RO_WORK/fw-2.0.0.tar" "$RO_WORK/fw-tampered.tar"
pf_flip_byte "$RO_WORK/fw-tampered.tar" 40000
serial=$(pf_sql "select serial from devices order by serial limit 1")
pf_log "stack: 20 terminals, half failing the new firmware's self-test; users ops, approver, admin"

# ETag on the rollout (what the page polls): 304 without a body while unchanged.
shots="${PF_ARTIFACTS:-$PF_BUILD/artifacts}/$PF_TEST_NAME"
rm -rf "$shots"
mkdir -p "$shots"
"$PY" "$PF_SRC/tests/integration/console_rollout_test.py" --url "http://localhost:$PF_HTTP_PORT" \
    --password "$PW" --ops ops.li --approver approver.wang --admin admin.zhao \
    --serial "$serial" --bundle "$RO_WORK/fw-2.0.0.tar" --tampered "$RO_WORK/fw-tampered.tar" \
    --shots "$shots" --chromium "$CHROME" --driver "$DRIVER" --profile "$(pf_tmpdir chromium)" \
    >"$PF_TMP/logs/console_rollout_test.log" 2>&1 ||
    pf_fail "console_rollout_test.py failed: $(tail -n 30 "$PF_TMP/logs/console_rollout_test.log")"
grep '^id ' "$PF_TMP/logs/console_rollout_test.log" >"$RO_WORK/ids" || pf_fail "no rollout id printed"
ro=$(awk '{print $2}' "$RO_WORK/ids")

# What the browser did, as the API and the audit saw it.
must 200 "$admin" GET "/v1/devices/$serial"
grep -q '"merchant_id": *"M-CN-1"' "$PF_TMP/api.body" || pf_fail "$serial not bound: $(cat "$PF_TMP/api.body")"
must 200 "$admin" GET "/v1/merchants/M-CN-1"
grep -q '深圳市福田区老王茶餐厅' "$PF_TMP/api.body" || pf_fail "the merchant's Chinese name: $(cat "$PF_TMP/api.body")"
ro_state_is "$ro" paused || pf_fail "rollout $ro is $(ro_json "$ro" '$.state'), want paused"
[[ $(ro_json "$ro" '$.actor') == ops.li ]] || pf_fail "rollout $ro created by $(ro_json "$ro" '$.actor')"
must 200 "$admin" GET "/v1/audit?action=rollout.approve"
grep -q 'approver.wang' "$PF_TMP/api.body" || pf_fail "no approval by approver.wang: $(cat "$PF_TMP/api.body")"
must 200 "$admin" GET /v1/orgs
grep -q '"agent-shenzhen"' "$PF_TMP/api.body" || pf_fail "the organisation: $(cat "$PF_TMP/api.body")"
must 200 "$admin" GET /v1/users
python3 -c 'import json,sys; u=[u for u in json.load(open(sys.argv[1]))["users"] if u["name"]=="agent.chen"]
sys.exit(0 if u and u[0]["role"]=="support" and u[0]["org"]=="agent-shenzhen" and u[0]["disabled_ms"]>0 else 1)' \
    "$PF_TMP/api.body" || pf_fail "the user: $(cat "$PF_TMP/api.body")"
code=$(curl -s -o "$PF_TMP/login.body" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data '{"user":"agent.chen","password":"another long password"}' "$POSFLEET_URL/v1/login")
[[ $code == 401 ]] && grep -q disabled "$PF_TMP/login.body" ||
    pf_fail "a disabled user logged in: $code $(cat "$PF_TMP/login.body")"
ro_exact "$ro"
# The page's polls cost no body while a rollout soaks: its answer (waiting "soak until
# TIME", not a countdown) and so its ETag stay the same for the whole soak.
must 200 "$admin" POST "/v1/rollouts/$ro/abort" '{"reason":"make room"}'
ro2=$(pf_cli --json rollout create "$(pf_sql "select id from bundles limit 1")" --stages 2,100% \
    --soak 1h --window 00:00-24:00 --max-rollback-rate 1 --max-failure-rate 1 --min-sample 1 |
    pf_json_get '$.id')
[[ -n "$ro2" ]] || pf_fail "the second rollout"
# four eyes: the approver's session approves the preview's digest
curl -s -H 'Content-Type: application/json' --data "{\"user\":\"approver.wang\",\"password\":\"$PW\"}" \
    "$POSFLEET_URL/v1/login" | pf_json_get '$.token' >"$PF_TMP/approver.session"
must 200 "$PF_TMP/approver.session" GET "/v1/rollouts/$ro2/preview"
digest=$(pf_json_get '$.digest' <"$PF_TMP/api.body")
must 200 "$PF_TMP/approver.session" POST "/v1/rollouts/$ro2/approve" "{\"digest\":\"$digest\"}"
# (the soak's own text, "soak until 2026-…Z", not "soak until stage 1 settles" before it)
soaking() { [[ "$(ro_json "$ro2" '$.waiting')" == "soak until "[0-9]* ]]; }
pf_wait_for 120 "rollout $ro2 to soak" soaking
etag=$(curl -s -o "$PF_TMP/soak1.body" -D - -H "Authorization: Bearer $(cat "$admin")" "$POSFLEET_URL/v1/rollouts/$ro2" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "etag" {print $2}')
[[ -n "$etag" ]] || pf_fail "no ETag on GET /v1/rollouts/$ro2"
second_passed() { [[ $(date +%s%N) -gt $(($1 + 1500000000)) ]]; }
t0=$(date +%s%N)
pf_wait_for 5 "a second and a half" second_passed "$t0"
rm -f "$PF_TMP/api.body" # curl writes no file for an answer without a body
code=$(curl -s -o "$PF_TMP/api.body" -w '%{http_code}' -H "Authorization: Bearer $(cat "$admin")" \
    -H "If-None-Match: $etag" "$POSFLEET_URL/v1/rollouts/$ro2")
[[ $code == 304 && ! -s "$PF_TMP/api.body" ]] ||
    pf_fail "a soaking rollout polled with its ETag: $code; the answer changed:" \
        "$(diff <(tr ',' '\n' <"$PF_TMP/soak1.body") <(tr ',' '\n' <"$PF_TMP/api.body") | head -20)"
pf_log "rollout $ro2 soaking: 304 without a body for its ETag"
for page in merchants-uscc-wrong merchants bundles-verdict bundles-refused rollouts-preview \
    rollout-own rollout-awaiting rollout-paused rollout-paused-zh admin; do
    [[ -s "$shots/$page.png" ]] || pf_fail "no screenshot $page.png"
done
pf_log "browser: onboard + bind, upload verdicts, preview, four eyes, live pause, admin"
pf_log "PASS"
