#!/usr/bin/env bash
# test_rollout_text_utf8.sh - a rollout's name and the reasons given to it are text a
# person typed (pf/text.h): Chinese through the CLI and the API, stored byte for byte,
# shown unchanged on the card, in JSON and in the audit; the limits count characters
# (64 for the name, 200 for a reason) the same in posfleet and posfleetd; invalid UTF-8
# and control characters are refused by both with the field named.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"

command -v curl >/dev/null 2>&1 || pf_fail "curl not found: apt-get install curl"
export LC_ALL=C.UTF-8
expect_fail() { # expect_fail EXIT PATTERN CLI-ARGS...
    local want="$1" pat="$2" rc
    shift 2
    set +e
    pf_cli "$@" >"$PF_TMP/out" 2>"$PF_TMP/err"
    rc=$?
    set -e
    [[ $rc -eq $want ]] || pf_fail "posfleet $*: exit $rc, want $want ($(cat "$PF_TMP/err"))"
    grep -q -- "$pat" "$PF_TMP/err" || pf_fail "posfleet $*: '$(cat "$PF_TMP/err")' lacks '$pat'"
}
# api METHOD PATH BODY: prints the HTTP status, the body goes to $PF_TMP/api.json.
api() {
    curl -sS -o "$PF_TMP/api.json" -w '%{http_code}' -X "$1" \
        -H "Authorization: Bearer $(cat "$PF_TOKEN_OPS")" \
        -H 'Content-Type: application/json' --data-binary "$3" "$POSFLEET_URL$2"
}
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
rep() { local s="" i; for ((i = 0; i < $2; i++)); do s+="$1"; done; printf '%s' "$s"; }
rollouts() { pf_sql "select count(*) from rollouts"; }

upd_keys_init
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
upd_server_start "rollout.tick_ms = 100"
head -c 20000 /dev/urandom >"$PF_TMP/fw.img"
upd_pack_fw 1.1.0 "$PF_TMP/fw.img" "$PF_TMP/fw.tar"
bundle=$(upd_upload "$PF_TMP/fw.tar")
for s in RZ1 RZ2 RZ3; do
    pf_cli device add "$s" --model PX-500 --hw-rev r2 >/dev/null || pf_fail "device add $s"
done

# --- the name: 64 Chinese characters (192 bytes) pass, 65 are refused by both ---------------
name64=$(rep "固件升级" 16)
name65="${name64}版"
expect_fail 2 "rollout create: --name: 65 characters, at most 64" \
    rollout create "$bundle" --name "$name65" --stages 100% --cohort "serials=RZ1"
expect_fail 2 "rollout create: --name: control character U+001B" \
    rollout create "$bundle" --name $'新\e[31m版' --stages 100% --cohort "serials=RZ1"
st=$(api POST /v1/rollouts "{\"bundle\":\"$bundle\",\"name\":\"$name65\",\"stages\":[\"100%\"],
    \"cohort\":{\"serials\":[\"RZ1\"]}}")
[[ $st == 400 ]] && grep -q "name: 65 characters, at most 64" "$PF_TMP/api.json" ||
    pf_fail "API: a 65-character name: $st $(cat "$PF_TMP/api.json")"
# Bytes that are not UTF-8 never get past the JSON parser; a bidirectional override would
# reorder what the next person reads.
st=$(api POST /v1/rollouts "$(printf '{"bundle":"%s","name":"\xe6\x96","stages":["100%%"],"cohort":{"serials":["RZ1"]}}' "$bundle")")
[[ $st == 400 ]] || pf_fail "API: a name cut inside a character: $st $(cat "$PF_TMP/api.json")"
st=$(api POST /v1/rollouts "{\"bundle\":\"$bundle\",\"name\":\"价格\\u202e表\",\"stages\":[\"100%\"],
    \"cohort\":{\"serials\":[\"RZ1\"]}}")
[[ $st == 400 ]] && grep -q "name: control character U+202E" "$PF_TMP/api.json" ||
    pf_fail "API: a bidirectional override in a name: $st $(cat "$PF_TMP/api.json")"
[[ "$(rollouts)" == 0 ]] || pf_fail "a refused create stored a rollout"

pf_cli rollout create "$bundle" --name "$name64" --stages 100% --cohort "serials=RZ1,RZ2" \
    --window 00:00-24:00 >"$PF_TMP/create.txt" || pf_fail "create with a Chinese name: $(cat "$PF_TMP/create.txt")"
id=$(pf_sql "select max(id) from rollouts")
[[ "$(pf_sql "select hex(name) from rollouts where id = $id" | tr 'A-F' 'a-f')" == "$(hex "$name64")" ]] ||
    pf_fail "the stored name is not the UTF-8 that was typed"
grep -q "^rollout   $id  $name64$" "$PF_TMP/create.txt" || pf_fail "create card: $(cat "$PF_TMP/create.txt")"
[[ "$(pf_cli --json rollout show "$id" | pf_json_get '$.name')" == "$name64" ]] || pf_fail "JSON name"
# The same through the API.
st=$(api POST /v1/rollouts "{\"bundle\":\"$bundle\",\"name\":\"收银机固件 Février\",\"stages\":[\"100%\"],
    \"cohort\":{\"serials\":[\"RZ3\"]}}")
[[ $st == 201 ]] || pf_fail "API create with a Chinese name: $st $(cat "$PF_TMP/api.json")"
id2=$(pf_json_get '$.id' <"$PF_TMP/api.json")
[[ "$(pf_cli --json rollout show "$id2" | pf_json_get '$.name')" == "收银机固件 Février" ]] ||
    pf_fail "API name not returned unchanged"
# The list shows it in its column (a cell wider than the table's limit is cut, by display width).
pf_cli rollout list >"$PF_TMP/list.txt"
grep -Eq "^ *$id2 +收银机固件 Février +" "$PF_TMP/list.txt" && grep -Eq "^ *$id +固件升级固件升级" "$PF_TMP/list.txt" ||
    pf_fail "rollout list: $(cat "$PF_TMP/list.txt")"

# --- reasons: pause, member, abort; 200 characters pass, 201 are refused by both -----------
reason200=$(rep "银行要求暂停升级" 25)
expect_fail 2 "rollout pause: --reason: 201 characters, at most 200" \
    rollout pause "$id" --reason "${reason200}停"
st=$(api POST "/v1/rollouts/$id/pause" "{\"reason\":\"${reason200}停\"}")
[[ $st == 400 ]] && grep -q "reason: 201 characters, at most 200" "$PF_TMP/api.json" ||
    pf_fail "API: a 201-character reason: $st $(cat "$PF_TMP/api.json")"
st=$(api POST "/v1/rollouts/$id/pause" '{"reason":"停\u0007"}')
[[ $st == 400 ]] && grep -q "reason: control character U+0007" "$PF_TMP/api.json" ||
    pf_fail "API: a control character in a reason: $st $(cat "$PF_TMP/api.json")"
pf_cli rollout pause "$id" --reason "$reason200" >"$PF_TMP/pause.txt" || pf_fail "pause with a Chinese reason"
grep -q "^paused    ops: $reason200 (by test-ops, " "$PF_TMP/pause.txt" ||
    pf_fail "pause card: $(cat "$PF_TMP/pause.txt")"
[[ "$(pf_cli --json rollout show "$id" | pf_json_get '$.pause.detail')" == "$reason200" ]] ||
    pf_fail "JSON pause detail"
pf_sql "select after from audit where action = 'rollout.pause'" | grep -q "$reason200" ||
    pf_fail "the audit lacks the pause reason: $(pf_sql "select after from audit where action = 'rollout.pause'")"

member=$(pf_sql "select serial from rollout_members where rollout = $id order by serial limit 1")
[[ -n "$member" ]] || member=RZ1
pf_cli rollout member "$id" "$member" skip --reason "商户要求：本周不升级" >/dev/null ||
    pf_fail "member skip with a Chinese reason: $(cat "$PF_TMP/err" 2>/dev/null)"
pf_sql "select after from audit where action = 'rollout.member.skip'" | grep -q "商户要求：本周不升级" ||
    pf_fail "the audit lacks the member reason"

pf_cli rollout abort "$id" --reason "费率表有误，停止" >"$PF_TMP/abort.txt" || pf_fail "abort"
grep -q "费率表有误，停止" "$PF_TMP/abort.txt" || pf_fail "abort card: $(cat "$PF_TMP/abort.txt")"
[[ "$(pf_cli --json rollout show "$id" | pf_json_get '$.ended.detail')" == "费率表有误，停止" ]] ||
    pf_fail "JSON abort reason: $(pf_cli --json rollout show "$id")"
pf_sql "select after from audit where action = 'rollout.abort'" | grep -q "费率表有误，停止" ||
    pf_fail "the audit lacks the abort reason"
pf_log "rollout name and reasons in Chinese: stored, shown, audited; limits in characters in CLI and API"
