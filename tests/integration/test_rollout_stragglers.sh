#!/usr/bin/env bash
# test_rollout_stragglers.sh - a rollout over a fleet with the terminals a real fleet
# always has ends, and says honestly how (docs/rollouts.md):
#   - a terminal that never answers (posfleet-sim no_answer) is timed out after the
#     definition's offer_timeout_s (timed_out, code NO_ANSWER), counted in the rates;
#   - a terminal that always defers (battery_low) becomes deferred_out past
#     defer_limit_s, counted apart, and does not hold the stage: the rollout completes;
#   - ops move one member by hand (posfleet rollout member ... retry|skip|cancel), audited
#     with the reason, with clear errors for an unknown member and a wrong status;
#   - a rollout whose deadline passes ends expired (not completed), with the exact counts
#     on the card, in JSON and in the audit; the card says when the window next opens;
#   - an abort's reason is on the card, in JSON and in the audit.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"
. "$(dirname "$0")/rollout_lib.sh"

mkdir -p "$PF_TMP/lists"
echo STR00003 >"$PF_TMP/lists/silent"
echo STR00007 >"$PF_TMP/lists/defer"
ro_stack 10 STR --fault-list "no_answer=$PF_TMP/lists/silent" \
    --fault-list "battery_low=$PF_TMP/lists/defer"
member() { pf_sql "select $3 from rollout_members where rollout = $1 and serial = '$2'"; }

# 1. Silence and persistent deferral: the rollout still completes.
fw2=$(ro_fw_bundle 2.0.0)
cat >"$PF_TMP/def1.json" <<JSON
{"bundle": "$fw2", "stages": ["100%"], "soak_s": 1, "window": {"start": "00:00", "end": "24:00"},
 "criteria": {"max_failure_rate": 0.5, "min_sample": 1}, "retry_s": 10,
 "offer_timeout_s": 12, "max_deferrals": 0, "defer_limit_s": 10}
JSON
r1=$(pf_cli --json rollout create --definition "$PF_TMP/def1.json" | pf_json_get '$.id')
t0=$SECONDS
pf_wait_for 120 "rollout $r1 to complete" ro_state_is "$r1" completed
[[ $(member "$r1" STR00003 status) == timed_out ]] || pf_fail "silent: $(member "$r1" STR00003 status)"
[[ $(member "$r1" STR00003 code) == NO_ANSWER ]] || pf_fail "silent code $(member "$r1" STR00003 code)"
[[ $(member "$r1" STR00007 status) == deferred_out ]] ||
    pf_fail "deferrer: $(member "$r1" STR00007 status)"
[[ $(member "$r1" STR00007 code) == DEFER_LIMIT ]] || pf_fail "code $(member "$r1" STR00007 code)"
(($(member "$r1" STR00007 deferrals) >= 1)) || pf_fail "deferrals $(member "$r1" STR00007 deferrals)"
[[ $(ro_json "$r1" '$.totals.installed') == 8 ]] || pf_fail "installed $(ro_json "$r1" '$.totals.installed')"
[[ $(ro_json "$r1" '$.totals.timed_out') == 1 ]] || pf_fail "timed_out"
[[ $(ro_json "$r1" '$.totals.deferred_out') == 1 ]] || pf_fail "deferred_out"
[[ $(pf_sql "select count(*) from audit where action = 'rollout.pause'") == 0 ]] ||
    pf_fail "the stragglers paused the rollout"
ro_exact "$r1"
pf_cli rollout show "$r1" >"$PF_TMP/card1"
grep -q "^counts .*installed 8, timed_out 1, deferred_out 1" "$PF_TMP/card1" ||
    pf_fail "card: $(cat "$PF_TMP/card1")"
pf_log "rollout $r1 completed in $((SECONDS - t0)) s: 8 installed, 1 timed out, 1 deferred out"

# 2. One member at a time, and a deadline: the window (one minute, twelve hours away)
# never opens before the deadline, so nothing is offered and the rollout expires.
fw3=$(ro_fw_bundle 3.0.0)
start=$(date -u -d '+12 hours' +%H:%M)
end=$(date -u -d '+12 hours +1 minute' +%H:%M)
deadline=$(date -u -d '+25 seconds' +%Y-%m-%dT%H:%M:%SZ)
r2=$(pf_cli --json rollout create "$fw3" --stages 100% --soak 1s --window "$start-$end" \
    --deadline "$deadline" | pf_json_get '$.id')
pf_wait_for 20 "the card to say when the window opens" eval \
    "(( \$(ro_json $r2 '\$.window_opens_ms') > 0 ))"
pf_cli rollout show "$r2" | grep -q "^window    opens next in 1[12]h" ||
    pf_fail "card: $(pf_cli rollout show "$r2")"
pf_cli rollout member "$r2" STR00001 skip --reason "merchant closed for renovation" |
    grep -q "member STR00001: skipped (SKIPPED)" || pf_fail "skip"
pf_cli rollout member "$r2" STR00002 skip --reason "first skip" >/dev/null
pf_cli rollout member "$r2" STR00002 retry --reason "merchant reopened" |
    grep -q "member STR00002: pending" || pf_fail "retry"
if out=$(pf_cli rollout member "$r2" STR00004 cancel --reason "x" 2>&1); then
    pf_fail "cancel of a pending member was accepted"
fi
[[ $out == *"is pending: cannot cancel it"* ]] || pf_fail "wrong-state error: $out"
if out=$(pf_cli rollout member "$r2" NOSUCH1 retry --reason "x" 2>&1); then
    pf_fail "an unknown member was accepted"
fi
[[ $out == *"NOSUCH1 is not a member of rollout $r2"* ]] || pf_fail "unknown-member error: $out"
[[ $(pf_sql "select count(*) from audit where action like 'rollout.member.%' and
    after like '%merchant closed for renovation%' and actor <> ''") == 1 ]] ||
    pf_fail "audit: $(pf_sql "select action, after from audit where action like 'rollout.member.%'")"
[[ $(pf_sql "select count(*) from audit where action = 'rollout.member.retry'") == 1 ]] ||
    pf_fail "retry not audited"
pf_wait_for 60 "rollout $r2 to expire at its deadline" ro_state_is "$r2" expired
pf_cli --json rollout show "$r2" >"$PF_TMP/r2.json"
[[ $(pf_json_get '$.ended.reason' <"$PF_TMP/r2.json") == deadline ]] || pf_fail "ended $(cat "$PF_TMP/r2.json")"
[[ $(pf_json_get '$.totals.skipped' <"$PF_TMP/r2.json") == 10 ]] || pf_fail "skipped"
[[ $(pf_json_get '$.totals.installed' <"$PF_TMP/r2.json") == 0 ]] || pf_fail "installed"
pf_cli rollout show "$r2" >"$PF_TMP/card2"
grep -q "^expired   deadline: the deadline passed at stage 1 of 1: 0 of 10 installed" \
    "$PF_TMP/card2" || pf_fail "card: $(cat "$PF_TMP/card2")"
grep -q "^counts    skipped 10$" "$PF_TMP/card2" || pf_fail "card counts: $(cat "$PF_TMP/card2")"
[[ $(pf_sql "select json_extract(after, '\$.counts.skipped') || '/' ||
    json_extract(after, '\$.counts.installed') from audit where action = 'rollout.expire'") == 10/0 ]] ||
    pf_fail "audit: $(pf_sql "select after from audit where action = 'rollout.expire'")"

# 3. An abort's reason is kept.
r3=$(pf_cli --json rollout create "$fw3" --stages 100% --soak 1s --window "$start-$end" |
    pf_json_get '$.id')
pf_cli rollout abort "$r3" --reason "wrong fee schedule attached" >/dev/null
[[ $(ro_json "$r3" '$.ended.detail') == "wrong fee schedule attached" ]] ||
    pf_fail "abort reason: $(pf_cli --json rollout show "$r3")"
pf_cli rollout show "$r3" | grep -q "^aborted   ops: wrong fee schedule attached (by " ||
    pf_fail "card: $(pf_cli rollout show "$r3")"
[[ $(pf_sql "select json_extract(after, '\$.detail') from audit where action = 'rollout.abort'") == \
    "wrong fee schedule attached" ]] || pf_fail "abort audit"
pf_log "expired and aborted rollouts say why, with their counts"
