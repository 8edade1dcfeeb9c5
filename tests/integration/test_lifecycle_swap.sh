#!/usr/bin/env bash
# test_lifecycle_swap.sh - merchants through the CLI (validation, review flow,
# roles), bind and activation with real agents, refused swaps (new not in stock,
# another model family, old not bound) that change nothing, then a swap: the
# binding, tags and fee plan move, the new terminal becomes active at its first
# report, the old one goes to repair with its last health and open alerts, and
# history and audit show it from both sides.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

export PF_REPORT_INTERVAL=1
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
pf_server_start

life() { pf_cli --json lifecycle "$1" 2>/dev/null | pf_json_get "$2"; }
state_is() { [[ "$(life "$1" '$.state')" == "$2" ]]; }
has_paper_out() { pf_cli --json alerts | grep -q paper_out; }
reported() { [[ -n "$(pf_device_field "$1" '$.battery_pct')" ]]; }
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

# --- merchants -------------------------------------------------------------------
m_base=(--name "Corner Shop" --address "9 Market St" --contact "Wang Fang"
        --phone 13800000000 --settlement T0 --fee-plan "fee-2026.11,fee-promo")
m_args=("${m_base[@]}" --mcc 5411 --tz Asia/Shanghai)
expect_fail 1 "uscc: check character is 'H', expected 'G'" \
    merchant add M-SW --uscc 9144030071526726XH "${m_args[@]}"
expect_fail 1 "tz: 'Asia/Atlantis' is not an IANA time zone name" \
    merchant add M-SW --uscc 9144030071526726XG "${m_base[@]}" --mcc 5411 --tz Asia/Atlantis
expect_fail 1 "mcc: " merchant add M-SW --uscc 9144030071526726XG "${m_base[@]}" --tz UTC --mcc 54
pf_cli merchants | grep -q "no merchants" || pf_fail "a refused merchant was stored"
PF_CLI_TOKEN=$PF_TOKEN_SUPPORT expect_fail 5 "permission denied" \
    merchant add M-SW --uscc 9144030071526726XG "${m_args[@]}"
pf_cli merchant add M-SW --uscc 9144030071526726XG "${m_args[@]}" >/dev/null || pf_fail "merchant add"
expect_fail 1 "cannot suspend a merchant that is applied" merchant suspend M-SW
pf_cli merchant approve M-SW >/dev/null
PF_CLI_TOKEN=$PF_TOKEN_VIEWER pf_cli merchant show M-SW | grep -q "approved" || pf_fail "viewer reads"

# --- terminals ------------------------------------------------------------------------
pf_cli device add SW-OLD --model PX-500 >/dev/null
pf_cli device add SW-NEW --model PX-500 >/dev/null
pf_cli device add SW-ODD --model QT-100 >/dev/null
pf_cli device add SW-OTHER --model PX-500 >/dev/null
pf_cli bind SW-OLD M-SW >/dev/null || pf_fail "bind"
pf_cli tag SW-OLD --tags "vip,north" >/dev/null || pf_fail "tag"
pf_cli merchant show M-SW | grep -q "active" || pf_fail "the first binding activates the merchant"
expect_fail 1 "bound to merchant M-SW" bind SW-OLD M-SW
mkdir -p "$PF_TMP/agents/SW-OLD/hal"
pf_hal_set SW-OLD paper out
pf_agent_start SW-OLD
pf_agent_start SW-NEW
pf_wait_for 30 "SW-OLD active" state_is SW-OLD active
pf_wait_for 30 "SW-OLD paper_out alert" has_paper_out
pf_wait_for 30 "SW-NEW reports" reported SW-NEW
[[ "$(life SW-NEW '$.state')" == in_stock ]] || pf_fail "an unbound reporting terminal left stock"

# --- refused swaps change nothing --------------------------------------------------------
before="$(pf_cli --json lifecycle SW-OLD)$(pf_cli --json lifecycle SW-NEW)$(pf_cli --json repair list --state all)"
expect_fail 1 "family QT" swap SW-OLD SW-ODD --yes --reason "reader dead"
expect_fail 1 "old SW-NEW" swap SW-NEW SW-OTHER --yes --reason "not bound"
pf_cli bind SW-OTHER M-SW >/dev/null
expect_fail 1 "new SW-OTHER" swap SW-OLD SW-OTHER --yes --reason "not in stock"
PF_CLI_TOKEN=$PF_TOKEN_VIEWER expect_fail 5 "permission denied" swap SW-OLD SW-NEW --yes --reason x
after="$(pf_cli --json lifecycle SW-OLD)$(pf_cli --json lifecycle SW-NEW)$(pf_cli --json repair list --state all)"
[[ "$before" == "$after" ]] || pf_fail "a refused swap changed something"

# --- the swap (support) ----------------------------------------------------------------------
PF_CLI_TOKEN=$PF_TOKEN_SUPPORT pf_cli swap SW-OLD SW-NEW --yes --reason "card reader dead" \
    >"$PF_TMP/swap.txt" || pf_fail "swap"
grep -q "swapped SW-OLD for SW-NEW at merchant M-SW" "$PF_TMP/swap.txt" || pf_fail "swap output"
[[ "$(life SW-OLD '$.state')" == in_repair ]] || pf_fail "SW-OLD not in repair"
[[ -z "$(life SW-OLD '$.merchant_id')" ]] || pf_fail "SW-OLD still bound"
[[ "$(life SW-NEW '$.merchant_id')" == M-SW ]] || pf_fail "binding did not move"
[[ "$(life SW-NEW '$.tags')" == '["vip","north"]' ]] || pf_fail "tags did not move"
[[ "$(life SW-NEW '$.fee_plan')" == '["fee-2026.11","fee-promo"]' ]] || pf_fail "fee plan"
[[ "$(life SW-NEW '$.provision.from')" == SW-OLD ]] || pf_fail "no provisioning intent"
pf_cli lifecycle SW-NEW | grep -q "^provisioning   swap from SW-OLD .*, fee plan fee-2026.11,fee-promo$" ||
    pf_fail "lifecycle card: $(pf_cli lifecycle SW-NEW)"
pf_wait_for 30 "SW-NEW active at its next report" state_is SW-NEW active
rid="$(life SW-OLD '$.repair_id')"
pf_cli --json repair show "$rid" >"$PF_TMP/repair.json"
grep -q '"kind": "paper_out"' "$PF_TMP/repair.json" || pf_fail "repair lacks the open alerts"
grep -q '"battery_pct"' "$PF_TMP/repair.json" || pf_fail "repair lacks the last health"
grep -q '"replaced_by": "SW-NEW"' "$PF_TMP/repair.json" || pf_fail "repair lacks the replacement"
pf_cli merchant show M-SW | grep -q "SW-NEW" || pf_fail "merchant does not list SW-NEW"
# The merchant's fee plan and time zone follow to its terminals; "-" is an empty plan.
pf_cli merchant update M-SW --fee-plan - --tz Asia/Urumqi >/dev/null || pf_fail "merchant update"
[[ "$(life SW-NEW '$.fee_plan')" == '[]' ]] || pf_fail "emptied fee plan did not reach SW-NEW"
[[ "$(life SW-NEW '$.tz')" == Asia/Urumqi ]] || pf_fail "new time zone did not reach SW-NEW"
pf_cli merchant show M-SW | grep -q "SW-OLD" && pf_fail "merchant still lists SW-OLD"

# --- repair flow (support), history, audit ---------------------------------------------------
export PF_CLI_TOKEN=$PF_TOKEN_SUPPORT
pf_cli repair update "$rid" --state received >/dev/null
expect_fail 1 "cannot go back" repair update "$rid" --state received
expect_fail 1 "not a documented fault code" repair update "$rid" --faults GREMLINS
pf_cli repair update "$rid" --state diagnosed --faults CARD_READER --notes "no chip reads" >/dev/null
pf_cli repair close "$rid" --outcome returned_to_stock --parts "card reader" >/dev/null
[[ "$(life SW-OLD '$.state')" == in_stock ]] || pf_fail "repaired terminal not back in stock"
unset PF_CLI_TOKEN
pf_cli repair list --state all | grep -q "returned_to_stock" || pf_fail "repair list"
pf_cli history SW-OLD >"$PF_TMP/hist.txt"
for k in bind activate swap_out repair_receive repair_return; do
    grep -qw "$k" "$PF_TMP/hist.txt" || pf_fail "SW-OLD history lacks $k"
done
pf_cli history SW-NEW | grep -qw swap_in || pf_fail "SW-NEW history lacks swap_in"
pf_cli audit --serial SW-NEW | grep -q "terminal.swap" || pf_fail "audit by the new serial"
pf_cli audit --serial SW-OLD | grep -q "terminal.swap" || pf_fail "audit by the old serial"
pf_cli audit --merchant M-SW | grep -q "merchant.approve" || pf_fail "audit by merchant"
pf_cli audit --since 2000-01-01 | grep -q "repair.close" || pf_fail "audit since"
pf_cli audit --since "$(($(date +%s) + 3600))000" | grep -q "no audit rows" || pf_fail "audit in the future"
PF_CLI_TOKEN=$PF_TOKEN_VIEWER expect_fail 5 "permission denied" audit --serial SW-OLD
pf_log "lifecycle swap: OK"
