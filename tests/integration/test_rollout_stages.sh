#!/usr/bin/env bash
# test_rollout_stages.sh - a healthy three-stage firmware rollout over 200 simulated
# terminals completes on its own: each stage is offered only after the one before it
# settled and soaked, never more than max_concurrent at once, every terminal is offered
# exactly once and ends on the new version, the counters stay exact, and a second
# firmware rollout over the same terminals is refused while the first is live.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"
. "$(dirname "$0")/rollout_lib.sh"

N=200
ro_stack $N RS
fw=$(ro_fw_bundle 2.0.0)

# A definition that cannot be planned is refused with its reason, nothing stored.
set +e
pf_cli rollout create "$fw" --stages 0.1%,100% --window 00:00-24:00 >/dev/null 2>"$RO_WORK/zero.err"
rc=$?
set -e
[[ $rc != 0 ]] || pf_fail "a stage rounding to zero was accepted"
grep -q "stage 1 (0.1%) rounds to 0 of $N terminals" "$RO_WORK/zero.err" ||
    pf_fail "refusal does not say why: $(cat "$RO_WORK/zero.err")"
[[ $(pf_sql "select count(*) from rollouts") == 0 ]] || pf_fail "a refused rollout was stored"

pf_cli --json rollout create "$fw" --name "fw 2.0" --stages 10%,50%,100% --soak 2s \
    --window 00:00-24:00 --max-concurrent 40 --update-timeout 120 >"$RO_WORK/create.json"
id=$(pf_json_get '$.id' <"$RO_WORK/create.json")
[[ $(pf_json_get '$.members' <"$RO_WORK/create.json") == $N ]] || pf_fail "plan has not $N members"
for k in 0 1 2; do
    want=(20 80 100)
    got=$(pf_json_get "\$.stages[$k].members" <"$RO_WORK/create.json")
    [[ $got == "${want[$k]}" ]] || pf_fail "stage $((k + 1)) has $got members, want ${want[$k]}"
done

# Overlap: another firmware rollout over the same terminals is refused (409).
set +e
pf_cli rollout create "$fw" --stages 100% --window 00:00-24:00 >/dev/null 2>"$RO_WORK/overlap.err"
rc=$?
set -e
[[ $rc != 0 ]] || pf_fail "an overlapping rollout was accepted"
grep -q "is already in rollout $id" "$RO_WORK/overlap.err" ||
    pf_fail "overlap refusal: $(cat "$RO_WORK/overlap.err")"

# While stage 1 runs, nothing of stages 2 and 3 is offered and the limit holds.
peak=0
stage1_done() {
    local active
    active=$(pf_sql "select count(*) from rollout_members where rollout = $id and status in
        ('offered','downloading','installing')")
    ((active > peak)) && peak=$active
    [[ $(ro_count "$id" pending 2) == 80 && $(ro_count "$id" pending 3) == 100 ]] ||
        [[ $(ro_json "$id" '$.stage') != 0 ]] || pf_fail "stage 2 or 3 offered while stage 1 is open"
    [[ $(ro_json "$id" '$.stage') -ge 1 ]]
}
pf_wait_for 180 "stage 1 to settle, soak and promote" stage1_done
pf_wait_for 300 "the rollout to complete" ro_state_is "$id" completed
((peak <= 40)) || pf_fail "$peak members in progress at once, limit 40"

[[ $(ro_count "$id" installed) == $N ]] ||
    pf_fail "$(ro_count "$id" installed) installed, want $N: $(ro_json "$id" '$.totals')"
ro_exact "$id"
[[ $(pf_sql "select count(*) from (select serial from update_offers group by serial
    having count(*) > 1)") == 0 ]] || pf_fail "a terminal was offered twice"
# No member was offered before its stage opened.
early=$(pf_sql "select count(*) from rollout_members m join update_offers o on o.id = m.offer
    join rollout_stages s on s.rollout = m.rollout and s.idx = m.stage
    where m.rollout = $id and (s.opened_ms = 0 or o.created_ms < s.opened_ms)")
[[ $early == 0 ]] || pf_fail "$early members were offered before their stage opened"
# Stages opened in order, each after the one before settled and soaked (2 s).
bad=$(pf_sql "select count(*) from rollout_stages a join rollout_stages b on
    b.rollout = a.rollout and b.idx = a.idx + 1 where a.rollout = $id and
    (a.settled_ms = 0 or b.opened_ms < a.settled_ms + 2000)")
[[ $bad == 0 ]] || pf_fail "a stage opened before the one before it settled and soaked"
pf_wait_for 60 "posfleetd to see every terminal on 2.0.0" eval \
    "[[ \$(pf_sql \"select count(*) from device_state where fw_version = '2.0.0'\") == $N ]]"
[[ $(pf_sql "select count(*) from audit where action = 'rollout.create'") == 1 ]] ||
    pf_fail "rollout.create not audited once"
pf_log "rollout $id: $N terminals in 3 stages, peak $peak in progress"
