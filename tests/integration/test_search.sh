#!/usr/bin/env bash
# test_search.sh - finding things through the real posfleetd and the CLI, with
# Chinese merchants: merchants by a name fragment of one, two and three or more
# characters, credit code, phone and contact; terminals by merchant id and
# name, region, tag (Chinese), lifecycle state, lock, model, firmware and fee
# table reported by real agents, and open alert; open alerts by kind, merchant
# and age; the audit log by actor, action, target and time; --all across pages;
# an unknown filter and bad values refused naming the parameter (API 400, CLI
# exit 2 before any request).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

command -v curl >/dev/null 2>&1 || pf_fail "curl not found: apt-get install curl"
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
pf_server_start
export LC_ALL=C.UTF-8

# api PATH: GET as the ops token; prints the status, the body goes to $PF_TMP/api.json.
api() {
    curl -sS -o "$PF_TMP/api.json" -w '%{http_code}' \
        -H "Authorization: Bearer $(cat "$PF_TOKEN_OPS")" "$POSFLEET_URL$1"
}
# column JSON-PATH-OF-LIST KEY CLI-ARGS...: the KEY of every row, comma-separated.
column() {
    local list="$1" key="$2"
    shift 2
    pf_cli --json "$@" >"$PF_TMP/col.json" || pf_fail "posfleet $*: $(cat "$PF_TMP/col.json")"
    sqlite3 -batch -noheader :memory: "select group_concat(json_extract(value, '\$.$key'), ',')
        from json_each(json_extract(cast(readfile('$PF_TMP/col.json') as text), '$list'));"
}
expect() { # expect WANT GOT WHAT
    [[ "$2" == "$1" ]] || pf_fail "$3: got '$2', want '$1'"
}

# --- merchants with Chinese names, terminals bound to them ------------------------------
m_args=(--mcc 5812 --address "深圳市南山区" --tz Asia/Shanghai --settlement T1
        --fee-plan fee-2026.11)
pf_cli merchant add M-SZ-1 --name "幸运面馆" --uscc 9144030071526726XG --contact "王芳" \
    --phone 13800000001 --region south "${m_args[@]}" >/dev/null || pf_fail "add M-SZ-1"
pf_cli merchant add M-SZ-2 --name "幸福超市" --uscc 91440300715267261R --contact "李伟" \
    --phone 13800000002 --region south "${m_args[@]}" >/dev/null || pf_fail "add M-SZ-2"
pf_cli merchant add M-XJ-1 --name "天山拉面馆" --uscc 91440300715267262W --contact "王芳" \
    --phone 13800000003 --region west "${m_args[@]}" >/dev/null || pf_fail "add M-XJ-1"
for m in M-SZ-1 M-SZ-2 M-XJ-1; do pf_cli merchant approve $m >/dev/null; done

for s in SR-1 SR-2 SR-3 SR-4 SR-5; do pf_cli device add $s --model PX-500 >/dev/null; done
pf_cli device add SR-7 --model PX-700 >/dev/null
pf_cli bind SR-1 M-SZ-1 >/dev/null
pf_cli bind SR-2 M-SZ-1 >/dev/null
pf_cli bind SR-3 M-SZ-2 >/dev/null
pf_cli bind SR-4 M-XJ-1 >/dev/null
pf_cli bind SR-7 M-XJ-1 >/dev/null
pf_cli tag SR-1 --tags "北区,vip" >/dev/null
pf_cli tag SR-3 --tags "vip" >/dev/null

# Two real agents report firmware and fee-table versions; one runs out of paper.
pf_agent_start SR-1 fw_version=2.1.0 fee_version=2026.11
pf_agent_start SR-4 fw_version=2.0.0 fee_version=2026.08
pf_hal_set SR-4 paper out
has_alert() { [[ "$(column '$.alerts' serial alerts --kind paper_out)" == *"$1"* ]]; }
pf_wait_for 30 "SR-1 online" pf_device_online SR-1
pf_wait_for 30 "SR-4's paper_out alert" has_alert SR-4

# --- merchants ----------------------------------------------------------------------------
expect "M-SZ-1,M-XJ-1" "$(column '$.merchants' id merchants --name 面)" "one character"
expect "M-SZ-1,M-XJ-1" "$(column '$.merchants' id merchants --name 面馆)" "two characters"
expect "M-XJ-1" "$(column '$.merchants' id merchants --name 拉面馆)" "three characters"
expect "M-SZ-2" "$(column '$.merchants' id merchants --name 幸福超市)" "a whole name"
expect "" "$(column '$.merchants' id merchants --name 面包)" "no such fragment"
expect "M-SZ-2" "$(column '$.merchants' id merchants --uscc 91440300715267261r)" "credit code"
expect "M-XJ-1" "$(column '$.merchants' id merchants --phone 13800000003)" "phone"
expect "M-SZ-1,M-XJ-1" "$(column '$.merchants' id merchants --contact 王芳)" "contact"
pf_cli merchants --name 面馆 >"$PF_TMP/m.txt"
grep -q "幸运面馆" "$PF_TMP/m.txt" && grep -q "天山拉面馆" "$PF_TMP/m.txt" &&
    ! grep -q "幸福超市" "$PF_TMP/m.txt" || pf_fail "merchants --name table: $(cat "$PF_TMP/m.txt")"

# --- terminals -----------------------------------------------------------------------------
expect "SR-1,SR-2" "$(column '$.devices' serial devices --merchant M-SZ-1)" "merchant id"
expect "SR-1,SR-2,SR-4,SR-7" "$(column '$.devices' serial devices --merchant-name 面馆)" \
    "merchant name"
expect "SR-4,SR-7" "$(column '$.devices' serial devices --region west)" "region"
expect "SR-1" "$(column '$.devices' serial devices --tag 北区)" "Chinese tag"
expect "SR-1,SR-3" "$(column '$.devices' serial devices --tag vip)" "tag"
expect "SR-5" "$(column '$.devices' serial devices --state in_stock)" "in stock"
expect "SR-7" "$(column '$.devices' serial devices --model PX-700)" "model"
expect "SR-1" "$(column '$.devices' serial devices --fw 2.1.0)" "firmware"
expect "SR-4" "$(column '$.devices' serial devices --fee 2026.08)" "fee table"
expect "SR-4" "$(column '$.devices' serial devices --alert paper_out)" "alert"
expect "SR-1,SR-2,SR-3,SR-4,SR-5,SR-7" "$(column '$.devices' serial devices --lock unlocked)" \
    "unlocked"
expect "" "$(column '$.devices' serial devices --lock locked)" "locked"
expect "SR-2" "$(column '$.devices' serial devices --merchant-name 幸运 --status never)" \
    "merchant name and never seen"
# Pages: one terminal a page, --all follows them; a page's "next" starts the one after.
expect "SR-1,SR-2,SR-3,SR-4,SR-5" \
    "$(column '$.devices' serial devices --model PX-500 --limit 1 --all)" "--all"
expect "SR-3" "$(column '$.devices' serial devices --model PX-500 --limit 1 --after SR-2)" \
    "--after"
pf_cli devices --merchant-name 面馆 --limit 2 >"$PF_TMP/d.txt" 2>"$PF_TMP/d.err"
grep -q "more terminals after SR-2" "$PF_TMP/d.err" || pf_fail "no next-page hint: $(cat "$PF_TMP/d.err")"

# --- alerts --------------------------------------------------------------------------------
expect "SR-4" "$(column '$.alerts' serial alerts --merchant M-XJ-1)" "alerts by merchant"
expect "" "$(column '$.alerts' serial alerts --merchant M-SZ-1)" "no alert at M-SZ-1"
expect "" "$(column '$.alerts' serial alerts --older-than 1d)" "none a day old"
expect "SR-4" "$(column '$.alerts' serial alerts --older-than 0s --kind paper_out)" "age 0"

# --- audit ---------------------------------------------------------------------------------
expect "SR-3,SR-1" "$(column '$.audit' target audit --action terminal.tags)" "audit by action"
expect "merchant.activate,merchant.approve,merchant.add" \
    "$(column '$.audit' action audit --target M-XJ-1 --actor test-ops)" "audit by target and actor"
expect "" "$(column '$.audit' action audit --until 2026-01-01)" "audit until a past date"
[[ -n "$(column '$.audit' action audit --since 2026-01-01T00:00+08:00 --limit 1)" ]] ||
    pf_fail "audit since a date"

# --- refusals ----------------------------------------------------------------------------
st=$(api "/v1/devices?colour=red")
[[ $st == 400 ]] && grep -q '"colour: unknown parameter' "$PF_TMP/api.json" ||
    pf_fail "unknown filter: $st $(cat "$PF_TMP/api.json")"
st=$(api "/v1/devices?state=broken")
[[ $st == 400 ]] && grep -q '"state: must be' "$PF_TMP/api.json" ||
    pf_fail "bad state: $st $(cat "$PF_TMP/api.json")"
st=$(api "/v1/merchants?name=%E9%9D%A2%FF")
[[ $st == 400 ]] && grep -q '"name: invalid UTF-8' "$PF_TMP/api.json" ||
    pf_fail "invalid UTF-8: $st $(cat "$PF_TMP/api.json")"
st=$(api "/v1/alerts?older_than=soon")
[[ $st == 400 ]] && grep -q '"older_than: ' "$PF_TMP/api.json" ||
    pf_fail "bad age: $st $(cat "$PF_TMP/api.json")"
set +e
pf_cli devices --lock maybe >/dev/null 2>"$PF_TMP/err"
rc=$?
set -e
[[ $rc == 2 ]] && grep -q -- "--lock" "$PF_TMP/err" || pf_fail "CLI bad --lock: exit $rc $(cat "$PF_TMP/err")"
set +e
pf_cli merchants --name $'\xe9\x9d' >/dev/null 2>"$PF_TMP/err"
rc=$?
set -e
[[ $rc == 2 ]] && grep -q -- "--name: invalid UTF-8" "$PF_TMP/err" ||
    pf_fail "CLI invalid UTF-8: exit $rc $(cat "$PF_TMP/err")"
pf_log "search: merchants, terminals, alerts and audit found by every filter"
