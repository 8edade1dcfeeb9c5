#!/usr/bin/env bash
# test_console_filters.sh - the terminals list's search in the browser (docs/console.md,
# "Terminals"): each filter GET /v1/devices offers, set in the page's form, narrows the list
# to exactly the expected terminals; the search lives in the URL's fragment (a reload or a
# shared link shows the same list, the same page); the CSV export of a filtered list carries
# exactly the rows the list shows. console_filters_test.py drives headless Chromium;
# screenshots go to the artifacts directory. Skipped (77) only when Chromium is not installed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"
. "$(dirname "$0")/console_lib.sh"

console_need_browser

PW='correct horse battery'
console_stack_tokens
upd_server_start "http.console_dir = $PF_SRC/console"
admin="$PF_TMP/server/admin.token"

api() { # api TOKEN_FILE METHOD PATH [BODY]: the status, the body into $PF_TMP/api.body.
    curl -s -o "$PF_TMP/api.body" -w '%{http_code}' -X "$2" -H "Authorization: Bearer $(cat "$1")" \
        -H 'Content-Type: application/json' ${4:+--data "$4"} "$POSFLEET_URL$3"
}
must() { # must STATUS TOKEN METHOD PATH [BODY]
    local got
    got=$(api "${@:2}")
    [[ "$got" == "$1" ]] || pf_fail "$3 $4: $got, want $1: $(cat "$PF_TMP/api.body")"
}
merchant() { # merchant ID NAME USCC REGION
    must 201 "$admin" POST /v1/merchants "{\"id\":\"$1\",\"name\":\"$2\",\"uscc\":\"$3\",
        \"mcc\":\"5812\",\"address\":\"1 Test Rd\",\"contact_name\":\"Li Na\",
        \"contact_phone\":\"13800000000\",\"tz\":\"Asia/Shanghai\",\"settlement\":\"T1\",
        \"region\":\"$4\",\"fee_plan\":[\"fee-1\"]}"
    must 200 "$admin" POST "/v1/merchants/$1/approve" '{}'
    must 200 "$admin" POST "/v1/merchants/$1/activate" '{}'
}

# --- the world: six terminals, each filter picking a different set ---
#   FL-1 A920   MA (south)  online  fw 1.0.0 fee 2026.11.1  locked by hand
#   FL-2 A920   MB (north)  online  fw 1.1.0 fee 2026.11.2  paper out
#   FL-3 PX-500 MA          never                           tag 旗舰店
#   FL-4 PX-500 in stock    never
#   FL-5 A920   MA          never                           tag 旗舰店
#   FL-6 A920   MB          never
merchant MA "甲记茶餐厅" 9144030071526726XG south
merchant MB "乙记面馆" 9144030071526727XH north
for t in FL-1:A920:MA FL-2:A920:MB FL-3:PX-500:MA FL-4:PX-500:- FL-5:A920:MA FL-6:A920:MB; do
    IFS=: read -r s m mid <<<"$t"
    if [[ "$mid" == - ]]; then
        pf_cli device add "$s" --model "$m" >/dev/null || pf_fail "device add $s"
    else
        pf_cli device add "$s" --model "$m" --merchant "$mid" >/dev/null || pf_fail "device add $s"
    fi
done
must 200 "$admin" POST /v1/devices/FL-3/tags '{"tags":["旗舰店"]}'
must 200 "$admin" POST /v1/devices/FL-5/tags '{"tags":["旗舰店","vip"]}'
pf_agent_start FL-1 model=A920 fw_version=1.0.0 fee_version=2026.11.1
pf_agent_start FL-2 model=A920 fw_version=1.1.0 fee_version=2026.11.2
pf_hal_set FL-2 paper out
for s in FL-1 FL-2; do pf_wait_for 30 "$s online" pf_device_online "$s"; done
paper_out() { pf_device_json FL-2 | grep -q '"paper_out"'; }
pf_wait_for 30 "FL-2's paper_out alert" paper_out
must 200 "$admin" POST /v1/devices/FL-1/lock '{"reason":"chargeback investigation"}'
must 201 "$admin" POST /v1/users "{\"name\":\"li.na\",\"role\":\"support\",\"org\":\"headquarters\",\"password\":\"$PW\"}"
pf_log "world: six terminals, two merchants in two regions, two online"

shots="${PF_ARTIFACTS:-$PF_BUILD/artifacts}/$PF_TEST_NAME"
rm -rf "$shots"
mkdir -p "$shots"
"$PY" "$PF_SRC/tests/integration/console_filters_test.py" --url "http://localhost:$PF_HTTP_PORT" \
    --user li.na --password "$PW" --shots "$shots" --chromium "$CHROME" --driver "$DRIVER" \
    --profile "$(pf_tmpdir chromium)" >"$PF_TMP/logs/console_filters_test.log" 2>&1 ||
    pf_fail "console_filters_test.py failed: $(tail -n 30 "$PF_TMP/logs/console_filters_test.log")"
for page in terminals-filtered terminals-filtered-zh terminals-reloaded; do
    [[ -s "$shots/$page.png" ]] || pf_fail "no screenshot $page.png"
done
pf_log "browser: each filter narrows the list exactly; the fragment keeps the search; the export matches"
pf_log "PASS"
