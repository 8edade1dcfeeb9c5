#!/usr/bin/env bash
# test_rollout_pause.sh - a rollout pauses itself: 30 % of stage 1's terminals fail
# their post-update self-test (posfleet-sim's selftest_fail: the new firmware fails the
# boot self-test, the terminal falls back and reports rolled_back). Stage 1 (20 of 100)
# crosses the rollback threshold, the rollout pauses in stage 1 with the reason and the
# numbers, exactly stage 1's faulty terminals are rolled back, its healthy ones
# installed, stages 2 and 3 are never offered; continue is refused (not gated) and abort
# skips the rest.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"
. "$(dirname "$0")/rollout_lib.sh"

N=100
ro_stack $N RP
fw=$(ro_fw_bundle 2.0.0)

# Planned first (it starts in 30 s): exactly 6 of stage 1's 20 terminals (30 %) get a
# firmware that fails their self-test - the simulator starts again with that list.
start=$(date -u -d '+30 seconds' +%Y-%m-%dT%H:%M:%SZ)
pf_cli --json rollout create "$fw" --stages 20,50%,100% --soak 1s --window 00:00-24:00 \
    --max-concurrent 50 --max-rollback-rate 0.1 --min-sample 5 --start-at "$start" \
    >"$RO_WORK/create.json"
id=$(pf_json_get '$.id' <"$RO_WORK/create.json")
ro_state_is "$id" scheduled || pf_fail "a rollout starting later is $(ro_json "$id" '$.state')"
pf_sql "select serial from rollout_members where rollout = $id and stage = 0 order by serial" |
    head -6 >"$RO_WORK/faulty_list"
pf_kill sim 10
ro_sim_start --fault-list "selftest_fail=$RO_WORK/faulty_list"

pf_wait_for 240 "the rollout to pause itself" ro_state_is "$id" paused
[[ $(ro_json "$id" '$.pause.reason') == rollback_rate ]] ||
    pf_fail "paused for $(ro_json "$id" '$.pause.reason'), not rollback_rate"
detail=$(ro_json "$id" '$.pause.detail')
[[ $detail =~ ^[0-9]+\ of\ [0-9]+\ outcomes\ rolled\ back ]] || pf_fail "pause detail: $detail"
[[ $(ro_json "$id" '$.pause.by') == posfleetd ]] || pf_fail "not paused by posfleetd"
[[ $(ro_json "$id" '$.stage') == 0 ]] || pf_fail "paused outside stage 1"

# Stage 1's members finish what they started; then every faulty one is rolled back and
# every healthy one installed, and nothing of stages 2-3 was ever offered.
stage1_quiet() {
    [[ $(pf_sql "select count(*) from rollout_members where rollout = $id and stage = 0 and
        status in ('offered','downloading','installing','deferred')") == 0 ]]
}
pf_wait_for 120 "stage 1 to finish what it started" stage1_quiet
pf_sql "select serial from rollout_members where rollout = $id and stage = 0" | sort \
    >"$RO_WORK/stage1"
ro_sim_serials selftest_fail >"$RO_WORK/faulty"
comm -12 "$RO_WORK/stage1" "$RO_WORK/faulty" >"$RO_WORK/want_rb"
pf_sql "select serial from rollout_members where rollout = $id and status = 'rolled_back'" |
    sort >"$RO_WORK/got_rb"
diff -u "$RO_WORK/want_rb" "$RO_WORK/got_rb" >&2 ||
    pf_fail "the rolled back terminals are not exactly stage 1's faulty ones"
nfaulty=$(wc -l <"$RO_WORK/want_rb")
[[ $nfaulty == 6 ]] || pf_fail "stage 1 has $nfaulty faulty terminals, want 6"
[[ $(ro_count "$id" installed 1) == $((20 - nfaulty)) ]] ||
    pf_fail "stage 1: $(ro_count "$id" installed 1) installed, want $((20 - nfaulty))"
[[ $(ro_count "$id" pending 2) == 30 && $(ro_count "$id" pending 3) == 50 ]] ||
    pf_fail "stages 2-3 were touched: $(ro_json "$id" '$.totals')"
[[ $(pf_sql "select count(*) from update_offers o join rollout_members m on m.serial = o.serial
    where m.rollout = $id and m.stage > 0") == 0 ]] || pf_fail "a stage 2-3 terminal got an offer"
# The rolled back terminals run the old firmware and report the reason.
for s in $(head -3 "$RO_WORK/want_rb"); do
    [[ $(pf_sql "select fw_version from device_state where serial = '$s'") == 1.0.0 ]] ||
        pf_fail "$s does not run 1.0.0 after its rollback"
done
[[ $(ro_json "$id" '$.failures[0].status') == rolled_back ]] ||
    pf_fail "failure histogram: $(ro_json "$id" '$.failures')"
ro_exact "$id"

# Ops: continue is refused (not gated), abort skips every pending member.
set +e
pf_cli rollout continue "$id" >/dev/null 2>"$RO_WORK/cont.err"
rc=$?
set -e
[[ $rc != 0 ]] && grep -q "is paused: cannot continue it" "$RO_WORK/cont.err" ||
    pf_fail "continue of a paused rollout: rc $rc, $(cat "$RO_WORK/cont.err")"
pf_cli rollout abort "$id" --reason "selftest regressions" >/dev/null
ro_state_is "$id" aborted || pf_fail "abort did not abort"
[[ $(ro_count "$id" skipped) == 80 && $(ro_count "$id" pending) == 0 ]] ||
    pf_fail "abort: $(ro_json "$id" '$.totals')"
ro_exact "$id"
[[ $(pf_sql "select count(*) from audit where action in ('rollout.pause','rollout.abort')") == 2 ]] ||
    pf_fail "the automatic pause and the abort are not both audited"
pf_log "rollout $id paused in stage 1: $detail"
