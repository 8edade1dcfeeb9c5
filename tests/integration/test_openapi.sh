#!/usr/bin/env bash
# test_openapi.sh - docs/openapi.yaml cannot drift from posfleetd (openapi_check.py):
#   (a) every route of server/api/api.c's table is an operation of the document and
#       the other way round, each missing one named;
#   (b) a real stack (broker, posfleetd over HTTPS, an update-capable agent, a signed
#       bundle) is driven through every route and every documented status, and every
#       JSON answer is validated against the schema documented for it; every request body
#       the server takes fits its documented schema and every one it refuses (400) does
#       not, each required field left out is refused with 400 naming it, and an unknown
#       field too where the schema says additionalProperties: false.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"

python3 -c 'import yaml, jsonschema' 2>/dev/null ||
    pf_fail "python3-yaml and python3-jsonschema are needed (packaging/scripts/deps.sh)"
check=(python3 "$(dirname "$0")/openapi_check.py" --spec "$PF_SRC/docs/openapi.yaml"
    --table "$PF_SRC/server/api/api.c")

# (a) the route table against the document, before anything runs
"${check[@]}" routes || pf_fail "docs/openapi.yaml and the route table differ (above)"

# (a') the check names a route the document lacks: a table with one more row
fake=$(pf_tmpdir fake)
sed 's|{GET, "/v1/summary",|{GET, "/v1/openapi-probe", VIEWER, NONE, pfs_api_summary, 0},\n        &|' \
    "$PF_SRC/server/api/api.c" >"$fake/api.c"
if python3 "$(dirname "$0")/openapi_check.py" routes --spec "$PF_SRC/docs/openapi.yaml" \
    --table "$fake/api.c" 2>"$fake/err"; then
    pf_fail "an undocumented route passed the check"
fi
grep -qF "undocumented route: GET /v1/openapi-probe" "$fake/err" ||
    pf_fail "the check did not name the undocumented route: $(cat "$fake/err")"

# (b) a real stack
upd_keys_init
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
PF_HTTP_TLS=1 upd_server_start
"$PF_KEYS" api-token --name test-approver --role approver --file "$PF_TMP/server/tokens" \
    >"$PF_TMP/server/approver.token" || pf_fail "approver token"
"$PF_KEYS" api-token --name test-admin --role admin --file "$PF_TMP/server/tokens" \
    >"$PF_TMP/server/admin.token" || pf_fail "admin token"
kill -HUP "$(pf_pid_of posfleetd)"
approver_ok() {
    curl -sS -o /dev/null -w '%{http_code}' --cacert "$PF_PKI/ca.crt" \
        -H "Authorization: Bearer $(cat "$PF_TMP/server/approver.token")" \
        "$POSFLEET_URL/v1/rollouts" | grep -qx 200
}
pf_wait_for 10 "posfleetd to take the approver token" approver_ok
pf_cli device add PF-OA-1 --model PX-500 --hw-rev r2 >/dev/null || pf_fail "device add PF-OA-1"
pf_cli device add PF-OA-2 --model PX-500 --hw-rev r2 >/dev/null || pf_fail "device add PF-OA-2"
upd_agent_start PF-OA-1
pf_wait_for 30 "PF-OA-1 online" pf_device_online PF-OA-1
head -c 4096 /dev/urandom >"$PF_TMP/fw.img"
upd_pack_fw 2.0.0 "$PF_TMP/fw.img" "$PF_TMP/fw.tar"
bundle=$(upd_upload "$PF_TMP/fw.tar")
[[ -n "$bundle" ]] || pf_fail "bundle upload"

"${check[@]}" drive --url "$POSFLEET_URL" --cacert "$PF_PKI/ca.crt" \
    --token "ops=$PF_TOKEN_OPS" --token "support=$PF_TOKEN_SUPPORT" \
    --token "viewer=$PF_TOKEN_VIEWER" --token "approver=$PF_TMP/server/approver.token" \
    --token "admin=$PF_TMP/server/admin.token" \
    --var "bundle=$bundle" --var "broker_pid=$PF_BROKER_PID" ${PF_OPENAPI_INFER:+--infer "$PF_OPENAPI_INFER"} \
    >"$PF_TMP/check.json" 2>"$PF_TMP/check.err" ||
    pf_fail "answers differ from docs/openapi.yaml:
$(cat "$PF_TMP/check.err")"
pf_log "$(cat "$PF_TMP/check.json")"
pf_log "PASS"
