#!/usr/bin/env bash
# test_text_utf8.sh - Chinese text end to end through the real posfleetd: a
# merchant entered with the CLI and one with the API are stored byte for byte
# and shown unchanged, tables line up by display width, a repair reason, note
# and part in Chinese, tags in Chinese; invalid UTF-8 and control characters
# are refused by the CLI and by the API with a reason naming the field, and
# the limits count characters in both. Then local time: times shown in --tz or TZ with the
# offset, merchant zones on the card, --since typed with any offset (the API stays UTC).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

command -v curl >/dev/null 2>&1 || pf_fail "curl not found: apt-get install curl"
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
pf_server_start
export LC_ALL=C.UTF-8

expect_fail() { # expect_fail EXIT PATTERN CLI-ARGS...
    local want="$1" pat="$2" rc
    shift 2
    set +e
    pf_cli "$@" >/dev/null 2>"$PF_TMP/err"
    rc=$?
    set -e
    [[ $rc -eq $want ]] || pf_fail "posfleet $*: exit $rc, want $want ($(cat "$PF_TMP/err"))"
    grep -q -- "$pat" "$PF_TMP/err" || pf_fail "posfleet $*: '$(cat "$PF_TMP/err")' lacks '$pat'"
}
# api METHOD PATH BODY: prints the HTTP status, the body goes to $PF_TMP/api.json.
api() {
    curl -sS -o "$PF_TMP/api.json" -w '%{http_code}' -X "$1" \
        -H "Authorization: Bearer $(cat "${PF_CLI_TOKEN:-$PF_TOKEN_OPS}")" \
        -H 'Content-Type: application/json' --data-binary "$3" "$POSFLEET_URL$2"
}
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

name="幸运面馆"
addr="深圳市南山区南山大道 1 号"
# --- a merchant through the CLI, one through the API --------------------------------
pf_cli merchant add M-ZH --name "$name" --uscc 9144030071526726XG --mcc 5812 \
    --address "$addr" --contact "李伟" --phone "+86 138 0000 0000" --tz Asia/Shanghai \
    --settlement T1 >"$PF_TMP/add.txt" || pf_fail "merchant add with a Chinese name"
grep -q "$name" "$PF_TMP/add.txt" || pf_fail "merchant add output lacks the name: $(cat "$PF_TMP/add.txt")"
st=$(api POST /v1/merchants '{"id":"M-API","name":"老王小吃 Lǎo Wáng","uscc":"91440300715267261R",
  "mcc":"5814","address":"乌鲁木齐市天山区 3 号","contact_name":"王芳",
  "contact_phone":"13800000000","tz":"Asia/Urumqi","settlement":"T0"}')
[[ $st == 201 ]] || pf_fail "API merchant add: $st $(cat "$PF_TMP/api.json")"
pf_cli merchant add M-EN --name "Lucky Noodles" --uscc 91440300715267262W --mcc 5812 \
    --address "1 Nanshan Road" --contact "Li Wei" --phone 13800000000 --tz Asia/Shanghai \
    --settlement T1 >/dev/null

# Stored byte for byte and returned unchanged, by the API and by the CLI.
[[ "$(pf_sql "select hex(name) from merchants where id = 'M-ZH'" | tr 'A-F' 'a-f')" == "$(hex "$name")" ]] ||
    pf_fail "the stored name is not the UTF-8 that was typed"
[[ "$(pf_cli --json merchant show M-ZH | pf_json_get '$.name')" == "$name" ]] || pf_fail "API name"
[[ "$(pf_cli --json merchant show M-ZH | pf_json_get '$.address')" == "$addr" ]] || pf_fail "API address"
pf_cli merchant show M-API >"$PF_TMP/show.txt"
grep -q "^name  *老王小吃 Lǎo Wáng$" "$PF_TMP/show.txt" || pf_fail "merchant show: $(cat "$PF_TMP/show.txt")"
grep -q "^contact  *王芳$" "$PF_TMP/show.txt" || pf_fail "merchant show contact"

# The list lines up by display width: the MCC column starts at one column on every line.
pf_cli merchants >"$PF_TMP/list.txt"
grep -q "$name" "$PF_TMP/list.txt" || pf_fail "merchants lacks the name: $(cat "$PF_TMP/list.txt")"
cols=$(while IFS= read -r line; do
    prefix="${line%%58[01][0-9]  *}"
    [[ "$prefix" != "$line" ]] || prefix="${line%%MCC*}"
    printf '%s\n' "$prefix" | wc -L
done <"$PF_TMP/list.txt" | sort -u | wc -l)
[[ $cols == 1 ]] || pf_fail "merchants table is not aligned:
$(cat "$PF_TMP/list.txt")"

# --- refusals: CLI (exit 2, before any request) and API (400), naming the field -------------
expect_fail 2 "merchant update: --name: invalid UTF-8 at byte 1" merchant update M-ZH --name $'\xe5\xb9'
expect_fail 2 "--address: invalid UTF-8 at byte 1" merchant update M-ZH --address $'\xc0\xaf'
expect_fail 2 "--contact: control character U+001B at character 2" merchant update M-ZH --contact $'王\e[31m'
long=$(printf '面%.0s' $(seq 129))
expect_fail 2 "--name: 129 characters, at most 128" merchant update M-ZH --name "$long"
st=$(api POST /v1/merchants/M-ZH/update "{\"name\":\"$long\"}")
[[ $st == 400 ]] && grep -q "name: 129 characters, at most 128" "$PF_TMP/api.json" ||
    pf_fail "API accepted 129 characters: $st $(cat "$PF_TMP/api.json")"
pf_cli merchant update M-ZH --name "${long#面}" >/dev/null || pf_fail "128 characters refused"
pf_cli merchant update M-ZH --name "$name" >/dev/null
st=$(api POST /v1/merchants/M-ZH/update '{"address":"a\u202eb"}')
[[ $st == 400 ]] && grep -q "address: control character U+202E at character 2" "$PF_TMP/api.json" ||
    pf_fail "API accepted a bidi override: $st $(cat "$PF_TMP/api.json")"
st=$(api POST /v1/merchants/M-ZH/update $'{"address":"\xe5\xb9"}')
[[ $st == 400 ]] || pf_fail "API accepted invalid UTF-8: $st $(cat "$PF_TMP/api.json")"
[[ "$(pf_cli --json merchant show M-ZH | pf_json_get '$.address')" == "$addr" ]] ||
    pf_fail "a refused change changed the address"

# --- tags, a swap and a repair in Chinese ----------------------------------------------------
pf_cli merchant approve M-ZH >/dev/null
pf_cli device add ZH-OLD --model PX-500 >/dev/null
pf_cli device add ZH-NEW --model PX-500 >/dev/null
pf_cli bind ZH-OLD M-ZH >/dev/null
pf_cli tag ZH-OLD --tags "华南,旗舰店" >/dev/null || pf_fail "Chinese tags"
pf_cli --json lifecycle ZH-OLD >"$PF_TMP/life.json"
[[ "$(pf_json_get '$.tags[0]' <"$PF_TMP/life.json")/$(pf_json_get '$.tags[1]' <"$PF_TMP/life.json")" == "华南/旗舰店" ]] ||
    pf_fail "tags: $(cat "$PF_TMP/life.json")"
export PF_CLI_TOKEN=$PF_TOKEN_SUPPORT
expect_fail 2 "--reason: control character U+0007" swap ZH-OLD ZH-NEW --reason $'屏幕\a'
pf_cli swap ZH-OLD ZH-NEW --yes --reason "屏幕碎裂" >/dev/null || pf_fail "swap with a Chinese reason"
rid="$(pf_cli --json lifecycle ZH-OLD | pf_json_get '$.repair_id')"
pf_cli repair update "$rid" --state received --notes "读卡器排线松动" >/dev/null || pf_fail "notes"
pf_cli repair close "$rid" --outcome returned_to_stock --parts "触摸屏,读卡器" \
    --notes "已更换，测试通过" >/dev/null || pf_fail "parts"
pf_cli repair show "$rid" >"$PF_TMP/repair.txt"
grep -q "^reason  *屏幕碎裂$" "$PF_TMP/repair.txt" || pf_fail "repair reason: $(cat "$PF_TMP/repair.txt")"
grep -q "^parts  *触摸屏,读卡器$" "$PF_TMP/repair.txt" || pf_fail "repair parts"
grep -q "^  读卡器排线松动$" "$PF_TMP/repair.txt" || pf_fail "repair note: $(cat "$PF_TMP/repair.txt")"
grep -q "已更换，测试通过" "$PF_TMP/repair.txt" || pf_fail "second repair note"
grep -q '?' "$PF_TMP/repair.txt" && pf_fail "repair card shows '?': $(cat "$PF_TMP/repair.txt")"
st=$(api POST "/v1/repairs/$rid" '{"notes":"x\u001by"}')
[[ $st == 400 ]] && grep -q "notes: control character U+001B at character 2" "$PF_TMP/api.json" ||
    pf_fail "API accepted ESC in notes: $st $(cat "$PF_TMP/api.json")"

# --- local time: shown in the user's zone with the offset, typed with any offset -------------
unset PF_CLI_TOKEN
pf_cli merchant show M-API | grep -q "^time zone  *Asia/Urumqi, UTC+06:00, [0-2][0-9]:[0-5][0-9] there now$" ||
    pf_fail "merchant card lacks its zone: $(pf_cli merchant show M-API)"
PF_CLI_TOKEN=$PF_TOKEN_SUPPORT pf_cli --tz Asia/Shanghai audit --merchant M-ZH >"$PF_TMP/audit.txt"
grep -q " +08:00 " "$PF_TMP/audit.txt" || pf_fail "audit not in +08:00: $(cat "$PF_TMP/audit.txt")"
TZ=Asia/Urumqi PF_CLI_TOKEN=$PF_TOKEN_SUPPORT pf_cli audit --merchant M-ZH | grep -q " +06:00 " ||
    pf_fail "TZ=Asia/Urumqi not used"
PF_CLI_TOKEN=$PF_TOKEN_SUPPORT pf_cli --tz UTC audit --merchant M-ZH | grep -q " UTC " ||
    pf_fail "--tz UTC not used"
# The same instant typed three ways: nothing after an hour from now, everything after 2000.
soon=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M)
for since in "${soon}Z" "$(TZ=Asia/Shanghai date -d '+1 hour' +%Y-%m-%dT%H:%M%z)" \
    "$(TZ=Asia/Shanghai date -d '+1 hour' +%Y-%m-%dT%H:%M:%S%:z)"; do
    PF_CLI_TOKEN=$PF_TOKEN_SUPPORT pf_cli audit --merchant M-ZH --since "$since" |
        grep -q "no audit rows" || pf_fail "audit --since $since shows rows"
done
PF_CLI_TOKEN=$PF_TOKEN_SUPPORT pf_cli --tz Asia/Shanghai audit --merchant M-ZH \
    --since "$(TZ=Asia/Shanghai date -d '-1 hour' '+%Y-%m-%d %H:%M')" | grep -q "merchant.add" ||
    pf_fail "audit --since in the display zone"
expect_fail 2 "--tz Mars/Base: not an installed time zone" --tz Mars/Base summary
expect_fail 2 "--since: expected an ISO 8601 time" audit --since "next tuesday"
pf_log "text utf8: OK"
