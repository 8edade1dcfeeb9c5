#!/usr/bin/env bash
# test_rollout_swap.sh - a swap during an active rollout moves the membership: OLD (a
# stage-2 member, bound to a merchant) is swapped for NEW (in stock, not in the cohort)
# while the rollout waits at its gate after stage 1; OLD's row becomes swapped and is
# never offered, NEW joins the open stage, and after `continue` NEW installs the update
# with the rest. The counters stay exact throughout. Then the rollout is rolled back
# (firmware: only to a re-signed previous release, which every member installs).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"
. "$(dirname "$0")/rollout_lib.sh"

N=12
ro_stack $N RX
fw=$(ro_fw_bundle 2.0.0)
NEW=RX00012
cohort="serials=$(seq -f 'RX%05g' 1 11 | paste -sd, -)"
id=$(pf_cli --json rollout create "$fw" --cohort "$cohort" --stages 2,100% --soak 1s --gate \
    --window 00:00-24:00 | pf_json_get '$.id')
OLD=$(pf_cli --json rollout members "$id" --stage 2 | pf_json_get '$.members[0].serial')
[[ -n "$OLD" ]] || pf_fail "no stage-2 member"
pf_cli merchant add M-SW --uscc 9144030071526726XG --name "Corner Shop" --address "9 Market St" \
    --contact "Wang Fang" --phone 13800000000 --settlement T0 --mcc 5411 --tz UTC >/dev/null
pf_cli merchant approve M-SW >/dev/null
pf_cli bind "$OLD" M-SW >/dev/null

pf_wait_for 120 "stage 1 to finish and wait at its gate" ro_state_is "$id" gated
PF_CLI_TOKEN=$PF_TOKEN_SUPPORT pf_cli swap "$OLD" "$NEW" --yes --reason "card reader dead" >/dev/null ||
    pf_fail "swap"
member() { pf_sql "select $3 from rollout_members where rollout = $id and serial = '$1'"; }
[[ $(member "$OLD" x status) == swapped ]] || pf_fail "OLD is $(member "$OLD" x status), not swapped"
[[ $(member "$NEW" x status) == pending ]] || pf_fail "NEW is not a pending member"
[[ $(member "$NEW" x stage) == 0 ]] || pf_fail "NEW did not join the open stage (1)"
ro_exact "$id"

pf_cli rollout continue "$id" >/dev/null
pf_wait_for 180 "the rollout to complete" ro_state_is "$id" completed
[[ $(member "$NEW" x status) == installed ]] || pf_fail "NEW is $(member "$NEW" x status)"
[[ $(pf_sql "select count(*) from update_offers where serial = '$OLD'") == 0 ]] ||
    pf_fail "OLD was offered the update after it was swapped out"
[[ $(ro_count "$id" installed) == 11 ]] || pf_fail "installed: $(ro_json "$id" '$.totals')"
ro_exact "$id"

# Rollback: terminals refuse older firmware, so a firmware rollback without a re-signed
# previous release is refused with the reason; with one, every installed member gets it.
set +e
pf_cli rollout rollback "$id" >/dev/null 2>"$RO_WORK/rb.err"
rc=$?
set -e
[[ $rc != 0 ]] && grep -q "anti-rollback" "$RO_WORK/rb.err" ||
    pf_fail "firmware rollback without --bundle: rc $rc, $(cat "$RO_WORK/rb.err")"
prev=$(ro_fw_bundle 2.0.1)
pf_cli rollout rollback "$id" --bundle "$prev" --reason "revert 2.0.0" >/dev/null
pf_wait_for 180 "the rollback to finish" ro_state_is "$id" rolled_back
[[ $(ro_count "$id" reverted) == 11 ]] || pf_fail "reverted: $(ro_json "$id" '$.totals')"
pf_wait_for 60 "posfleetd to see the 11 on 2.0.1" eval \
    "[[ \$(pf_sql \"select count(*) from device_state where fw_version = '2.0.1'\") == 11 ]]"
ro_exact "$id"
pf_log "rollout $id: $OLD swapped for $NEW during the rollout, then rolled back"
