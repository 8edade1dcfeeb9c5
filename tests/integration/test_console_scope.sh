#!/usr/bin/env bash
# test_console_scope.sh - organisation scope in the browser (docs/console.md): two agents, a
# merchant user and headquarters each log in to the console and see only what lies beneath
# them: the dashboard's counts (online, never seen, fee-table versions counted by posfleetd,
# the online line of the last 24 h drawn from the server's samples, active rollouts), the
# terminals list and its search, and a guessed terminal of another agent refused.
# console_scope_test.py drives headless Chromium; screenshots go to the artifacts directory.
# Skipped (77) only when Chromium is not installed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"
. "$(dirname "$0")/console_lib.sh"

console_need_browser

PW='correct horse battery'
console_stack_tokens
# The online count sampled every second, so the dashboard's line has points at once.
upd_server_start "http.console_dir = $PF_SRC/console
store.online_sample_s = 1"
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
merchant() { # merchant ID NAME USCC ORG|-
    must 201 "$admin" POST /v1/merchants "{\"id\":\"$1\",\"name\":\"$2\",\"uscc\":\"$3\",
        \"mcc\":\"5812\",\"address\":\"1 Test Rd\",\"contact_name\":\"Li Na\",
        \"contact_phone\":\"13800000000\",\"tz\":\"Asia/Shanghai\",\"settlement\":\"T1\",
        \"fee_plan\":[\"fee-1\"]}"
    must 200 "$admin" POST "/v1/merchants/$1/approve" '{}'
    must 200 "$admin" POST "/v1/merchants/$1/activate" '{}'
    [[ "$4" == - ]] || must 200 "$admin" POST "/v1/merchants/$1/org" "{\"org\":\"$4\"}"
}
user() { # user NAME ROLE ORG [MERCHANT]
    must 201 "$admin" POST /v1/users "{\"name\":\"$1\",\"role\":\"$2\",\"org\":\"$3\",
        \"password\":\"$PW\"${4:+,\"merchant\":\"$4\"}}"
}

# --- the world: agents A and B under headquarters ---
must 201 "$admin" POST /v1/orgs '{"name":"agentA"}'
must 201 "$admin" POST /v1/orgs '{"name":"agentB"}'
merchant MA "甲记茶餐厅" 9144030071526726XG agentA
merchant MA2 "甲二便利店" 9144030071526729XK agentA
merchant MB "乙记面馆" 9144030071526727XH agentB
merchant MH "总部自营店" 9144030071526728XJ -
declare -A fee=([SA-1]=2026.11.1 [SA-3]=2026.11.4 [SB-1]=2026.11.2 [SH-1]=2026.11.3)
for t in SA-1:MA SA-2:MA SA-3:MA2 SB-1:MB SH-1:MH; do
    pf_cli device add "${t%%:*}" --model PX-500 --merchant "${t#*:}" >/dev/null ||
        pf_fail "device add $t"
done
user hq.ops ops headquarters
user ops.a ops agentA
user ops.b ops agentB
user shop.a merchant agentA MA
for s in SA-1 SA-3 SB-1 SH-1; do pf_agent_start "$s" "fee_version=${fee[$s]}"; done
for s in SA-1 SA-3 SB-1 SH-1; do pf_wait_for 30 "$s online" pf_device_online "$s"; done
# A rollout of headquarters for next year: active (scheduled) for headquarters only.
head -c 4096 /dev/urandom >"$PF_TMP/fw.img"
upd_pack_fw 2.0.0 "$PF_TMP/fw.img" "$PF_TMP/fw.tar"
bundle=$(upd_upload "$PF_TMP/fw.tar")
ro=$(pf_cli --json rollout create "$bundle" --name "fw 2.0 all" --stages 100% \
    --start-at "$(date -u -d '+1 year' +%Y-%m-%dT%H:%M:%SZ)" | pf_json_get '$.id')
[[ -n "$ro" ]] || pf_fail "rollout create"
pf_log "world: agents A (MA, MA2) and B (MB), MH of headquarters; 4 of 5 terminals online"

shots="${PF_ARTIFACTS:-$PF_BUILD/artifacts}/$PF_TEST_NAME"
rm -rf "$shots"
mkdir -p "$shots"
"$PY" "$PF_SRC/tests/integration/console_scope_test.py" --url "http://localhost:$PF_HTTP_PORT" \
    --password "$PW" --shots "$shots" --chromium "$CHROME" --driver "$DRIVER" \
    --profile "$(pf_tmpdir chromium)" --rollout "$ro" \
    >"$PF_TMP/logs/console_scope_test.log" 2>&1 ||
    pf_fail "console_scope_test.py failed: $(tail -n 30 "$PF_TMP/logs/console_scope_test.log")"
for u in hq.ops ops.a ops.b shop.a; do
    for page in dashboard terminals refused; do
        [[ -s "$shots/$page-$u.png" ]] || pf_fail "no screenshot $page-$u.png"
    done
done
pf_log "browser: each user's dashboard, online line, fee tables, terminals and search in scope"
pf_log "PASS"
