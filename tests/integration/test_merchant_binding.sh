#!/usr/bin/env bash
# test_merchant_binding.sh - a terminal's merchant is its binding and nothing else:
# `device add --merchant` with a merchant that does not exist, or is not active, is
# refused with the merchant named and registers nothing; with an active merchant the
# terminal is registered bound (installed, audited as terminal.bind); the import binds
# the same way and refuses a whole file for one bad merchant; unbinding clears the
# merchant `device` shows; a rollout cohort by merchant follows the binding. A
# rejection needs a reason, which the merchant and its audit row keep.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"

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
merchant_of() { pf_cli --json device "$1" | pf_json_get '$.merchant_id'; }
state_of() { pf_cli --json lifecycle "$1" | pf_json_get '$.state'; }
registered() { [[ "$(pf_sql "select count(*) from devices where serial='$1'")" == 1 ]]; }

upd_keys_init
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
upd_server_start "rollout.tick_ms = 100"

m_args=(--name "Corner Shop" --address "9 Market St" --contact "Wang Fang" --phone 13800000000
        --settlement T0 --mcc 5411 --tz Asia/Shanghai --fee-plan fee-2026.11)
pf_cli merchant add M-ONE --uscc 9144030071526726XG "${m_args[@]}" >/dev/null || pf_fail "add M-ONE"
pf_cli merchant approve M-ONE >/dev/null || pf_fail "approve M-ONE"
pf_cli merchant add M-APP --uscc 9144030071526727XH "${m_args[@]}" >/dev/null || pf_fail "add M-APP"
pf_cli merchant approve M-APP >/dev/null || pf_fail "approve M-APP"

# --- registration with a merchant that does not exist, or is not active: refused ---
expect_fail 1 "merchant M-NOPE: no such merchant" device add MB-0 --model PX-500 --merchant M-NOPE
registered MB-0 && pf_fail "a refused add registered MB-0"
expect_fail 1 "merchant M-ONE is approved" device add MB-0 --model PX-500 --merchant M-ONE
registered MB-0 && pf_fail "an add with an approved merchant registered MB-0"
pf_cli merchant activate M-ONE >/dev/null || pf_fail "activate M-ONE"

# --- with an active merchant: registered and bound, as `bind` would ---
pf_cli device add MB-1 --model PX-500 --merchant M-ONE >/dev/null || pf_fail "device add --merchant"
pf_cli device add MB-2 --model PX-500 >/dev/null || pf_fail "device add MB-2"
[[ "$(merchant_of MB-1)" == M-ONE ]] || pf_fail "device MB-1 shows merchant '$(merchant_of MB-1)'"
pf_cli device MB-1 | grep -q "M-ONE" || pf_fail "device card lacks the merchant: $(pf_cli device MB-1)"
[[ "$(state_of MB-1)" == installed ]] || pf_fail "MB-1 is $(state_of MB-1), want installed"
[[ "$(pf_cli --json lifecycle MB-1 | pf_json_get '$.tz')" == Asia/Shanghai ]] ||
    pf_fail "the binding at registration did not set the time zone"
pf_cli audit --merchant M-ONE | grep -q "terminal.bind" || pf_fail "no terminal.bind audit row"
[[ "$(merchant_of MB-2)" == "" ]] || pf_fail "an unbound terminal shows a merchant"

# --- import: a merchant column binds; one bad merchant refuses the whole file ---
printf 'serial,model,hw_rev,merchant_id\nMB-3,PX-500,r2,M-ONE\nMB-4,PX-500,r2,M-NOPE\n' \
    >"$PF_TMP/bad.csv"
expect_fail 1 "line 3: merchant M-NOPE: no such merchant" device import "$PF_TMP/bad.csv"
registered MB-3 && pf_fail "a refused import registered MB-3"
printf 'MB-3,PX-500,r2,M-ONE\nMB-4,PX-500\n' >"$PF_TMP/ok.csv"
pf_cli device import "$PF_TMP/ok.csv" >/dev/null || pf_fail "import with a merchant column"
[[ "$(merchant_of MB-3)" == M-ONE && "$(state_of MB-3)" == installed ]] ||
    pf_fail "imported MB-3: merchant '$(merchant_of MB-3)', state $(state_of MB-3)"
[[ "$(merchant_of MB-4)" == "" ]] || pf_fail "MB-4 imported without a merchant shows one"

head -c 100000 /dev/urandom >"$PF_TMP/fw.img"
upd_pack_fw 1.1.0 "$PF_TMP/fw.img" "$PF_TMP/fw.tar"
bundle=$(upd_upload "$PF_TMP/fw.tar")
members() { pf_cli --json rollout show "$1" | pf_json_get '$.members'; }

# --- a cohort by merchant: the bound terminals, MB-1 and MB-3 ---
pf_cli rollout create "$bundle" --cohort "merchants=M-ONE" --stages 100% >/dev/null ||
    pf_fail "rollout create by merchant"
id=$(pf_sql "select max(id) from rollouts")
[[ "$(members "$id")" == 2 ]] || pf_fail "cohort by merchant has $(members "$id") members, want 2"
pf_cli rollout abort "$id" --reason "cohort checked" >/dev/null || pf_fail "abort"

# --- unbinding clears the merchant; the cohort follows the binding ---
pf_cli unbind MB-1 >/dev/null || pf_fail "unbind MB-1"
[[ "$(merchant_of MB-1)" == "" ]] || pf_fail "unbound MB-1 still shows '$(merchant_of MB-1)'"
pf_cli bind MB-2 M-ONE >/dev/null || pf_fail "bind MB-2"
pf_cli rollout create "$bundle" --cohort "merchants=M-ONE" --stages 100% >/dev/null ||
    pf_fail "second rollout create by merchant"
id=$(pf_sql "select max(id) from rollouts")
got=$(pf_sql "select group_concat(serial) from (select serial from rollout_members
              where rollout=$id order by serial)")
[[ "$(members "$id")" == 2 ]] || pf_fail "second cohort has $(members "$id") members, want 2"
[[ -z "$got" || "$got" == "MB-2,MB-3" ]] || pf_fail "second cohort members: $got, want MB-2,MB-3"

# --- a review says why: a rejection without a reason is refused, with one it is kept ---
pf_cli merchant add M-REJ --uscc 9144030071526728XJ "${m_args[@]}" >/dev/null || pf_fail "add M-REJ"
expect_fail 2 "reason" merchant reject M-REJ
[[ "$(pf_cli --json merchant show M-REJ | pf_json_get '$.status')" == applied ]] ||
    pf_fail "a refused rejection changed M-REJ"
pf_cli merchant reject M-REJ --reason "营业执照已过期" >/dev/null || pf_fail "reject M-REJ"
pf_cli merchant show M-REJ | grep -q "^review  *营业执照已过期$" ||
    pf_fail "merchant show lacks the rejection's reason: $(pf_cli merchant show M-REJ)"
[[ "$(pf_cli --json merchant show M-REJ | pf_json_get '$.review_reason')" == "营业执照已过期" ]] ||
    pf_fail "the API does not return the rejection's reason"
pf_cli --json audit --target M-REJ --action merchant.reject |
    python3 -c 'import json, sys; a = json.load(sys.stdin)["audit"]
sys.exit(0 if len(a) == 1 and "营业执照已过期" in json.dumps(a[0], ensure_ascii=False) else 1)' ||
    pf_fail "the audit's merchant.reject row lacks the rejection's reason"
pf_log "merchant is the binding: ok"
