#!/usr/bin/env bash
# test_rollout_already.sh - already installed is success (docs/rollouts.md, "already"):
# a fee table staged for a later date is held by the terminals while they still report the
# table active today, so a second rollout of the same bundle plans them and offers it
# again. The agent answers "refused ALREADY" (docs/protocol.md); each member ends
# `already`, counted with the successes and never against the thresholds: the rollout
# completes instead of pausing on "6 of 6 outcomes failed". And planning: terminals that
# reported the firmware version a rollout brings are members `already` from its creation,
# never offered.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"
. "$(dirname "$0")/rollout_lib.sh"

ro_stack 6 ALR

# A fee table for the sim's PX-500/r1 terminals, effective tomorrow.
cat >"$PF_TMP/fees.json" <<JSON
{"schema": 1, "version": "2027.1", "currency": "EUR",
 "effective_at": "$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)",
 "rates": {"debit_card": {"rate_bp": 90, "cap_minor": 500},
           "credit_card": {"rate_bp": 150, "cap_minor": 1000},
           "qr_code": {"rate_bp": 60, "cap_minor": 300},
           "contactless": {"rate_bp": 80, "cap_minor": 500}},
 "settlement": {"t0_surcharge_bp": 25, "t1_surcharge_bp": 0},
 "mcc": ["5411", "5812"]}
JSON
"$PF_PACK" create --kind fee-table --fee-table "$PF_TMP/fees.json" --model PX-500 --hw-rev r1 \
    --keyring "$UPD_KEYS" --key "$UPD_KEYS/signing/fees.key" -o "$PF_TMP/fees.tar" >/dev/null ||
    pf_fail "posfleet-pack create fee-table"
fees=$(upd_upload "$PF_TMP/fees.tar")
create() {
    pf_cli --json rollout create "$fees" --stages 100% --soak 1s --window 00:00-24:00 |
        pf_json_get '$.id'
}

r1=$(create)
pf_wait_for 120 "rollout $r1 to complete" ro_state_is "$r1" completed
[[ $(ro_json "$r1" '$.totals.installed') == 6 ]] || pf_fail "first rollout: $(pf_cli rollout show "$r1")"
[[ $(pf_device_field ALR00001 '$.fee_version') != 2027.1 ]] ||
    pf_fail "the table became active before its date"

r2=$(create)
pf_wait_for 120 "rollout $r2 to end" eval \
    "ro_state_is $r2 completed || ro_state_is $r2 paused"
pf_cli rollout show "$r2" >"$PF_TMP/card"
ro_state_is "$r2" completed || pf_fail "second rollout: $(cat "$PF_TMP/card")"
[[ $(ro_json "$r2" '$.totals.already') == 6 ]] || pf_fail "already: $(cat "$PF_TMP/card")"
[[ $(ro_json "$r2" '$.totals.failed') == 0 ]] || pf_fail "failed: $(cat "$PF_TMP/card")"
[[ $(pf_sql "select count(*) from rollout_members where rollout = $r2 and code = 'ALREADY'") == 6 ]] ||
    pf_fail "codes: $(pf_sql "select serial, status, code from rollout_members where rollout = $r2")"
[[ $(pf_sql "select count(*) from audit where action = 'rollout.pause'") == 0 ]] ||
    pf_fail "already-installed members paused a rollout"
grep -q "^counts    already 6$" "$PF_TMP/card" || pf_fail "card: $(cat "$PF_TMP/card")"
ro_exact "$r2"
pf_log "a fee table the terminals already hold ends 'already' on all 6, and the rollout completes"

fw=$(ro_fw_bundle 2.0.0)
r3=$(pf_cli --json rollout create "$fw" --cohort "serials=ALR00001,ALR00002" --stages 100% \
    --soak 1s --window 00:00-24:00 | pf_json_get '$.id')
pf_wait_for 120 "rollout $r3 to complete" ro_state_is "$r3" completed
pf_wait_for 60 "ALR00001 and ALR00002 to report 2.0.0" eval \
    "[[ \$(pf_device_field ALR00001 '\$.fw_version') == 2.0.0 &&
        \$(pf_device_field ALR00002 '\$.fw_version') == 2.0.0 ]]"
pf_cli --json rollout create "$fw" --stages 100% --soak 1s --window 00:00-24:00 >"$PF_TMP/r4.json"
r4=$(pf_json_get '$.id' <"$PF_TMP/r4.json")
[[ $(pf_json_get '$.totals.already' <"$PF_TMP/r4.json") == 2 ]] ||
    pf_fail "already at creation: $(cat "$PF_TMP/r4.json")"
[[ $(pf_json_get '$.totals.pending' <"$PF_TMP/r4.json") == 4 ]] || pf_fail "pending at creation"
pf_wait_for 120 "rollout $r4 to complete" ro_state_is "$r4" completed
[[ $(ro_json "$r4" '$.totals.installed') == 4 ]] || pf_fail "installed: $(pf_cli rollout show "$r4")"
[[ $(ro_json "$r4" '$.totals.already') == 2 ]] || pf_fail "already: $(pf_cli rollout show "$r4")"
[[ $(pf_sql "select count(*) from update_offers o where o.actor = 'rollout/$r4' and
    o.serial in ('ALR00001','ALR00002')") == 0 ]] || pf_fail "an already-current terminal was offered"
ro_exact "$r4"
pf_log "planning put the 2 terminals on 2.0.0 as already; the 4 others installed"
