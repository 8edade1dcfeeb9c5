#!/usr/bin/env bash
# test_rollout_crash.sh - kill -9 of posfleetd during a staged rollout (ctest
# fault_rollout_crash; docs/rollouts.md "Crash safety").
#
# A 4-stage firmware rollout (5 %, 20 %, 50 %, 100 %, soak 2 s, window "any
# time", 100 at once, unanswered offers made again after ROLLOUT_CRASH_RETRY_S,
# default 30) over ROLLOUT_CRASH_N simulated terminals (default 1000).
# While it runs posfleetd is killed with SIGKILL and started again with the same
# configuration ROLLOUT_CRASH_KILLS times (default 6, at least 5): once while
# stage 1 is in progress, once in the middle of a later stage (some installed,
# some still to offer), once during a soak (a stage settled, the next not
# opened), the others after a random 1-6 s. The moments come from $RANDOM
# seeded with ROLLOUT_CRASH_SEED (printed; set it to replay a failure). Then,
# once the rollout completed, from the store:
#   1. no terminal was offered the bundle again after it reported success, none
#      reported success twice, and none refused or failed an offer of it (a
#      second offer while the first one is still being installed ends refused
#      as a downgrade);
#   2. none skipped a stage: every offer of the bundle (not only the member's
#      last) was made after the member's stage opened, each stage opened after
#      the one before settled and soaked, and after every member of the stages
#      before it had reported its success;
#   3. the counts are exact: the counters equal a recount of the members, all N
#      are installed, and as many terminals have update_state success for the
#      bundle;
#   4. every terminal reports the new firmware version;
# and no run of posfleetd logged a store error.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/stack.sh"
. "$(dirname "$0")/../integration/update_lib.sh"
. "$(dirname "$0")/../integration/rollout_lib.sh"

# The rollout's health gate counts silent terminals. This test is about crash
# safety, not silence: on a loaded machine a simulated terminal rebooting into
# the new firmware can take longer than the stack's 6 s to report again, and
# the rollout would pause itself. Silence here means 30 s without a message.
export PF_SILENT_AFTER=15

N=${ROLLOUT_CRASH_N:-1000}
KILLS=${ROLLOUT_CRASH_KILLS:-6}
SEED=${ROLLOUT_CRASH_SEED:-$(( $(date +%s%N) % 32768 ))}
SOAK_S=2
MAXC=100
((KILLS >= 3)) || pf_fail "ROLLOUT_CRASH_KILLS=$KILLS: at least 3 (stage 1, mid-stage, soak)"
pf_log "N=$N kills=$KILLS seed=$SEED (replay: ROLLOUT_CRASH_SEED=$SEED)"

t0=$SECONDS
# A kill between posfleetd's receipt of an event and its commit loses the event: the
# terminal's resend brings it, a few seconds later rather than the agent's 30 s.
ro_stack "$N" RC --resend 2
# Hooks run last-registered first: stop the simulator before rollout_lib.sh
# removes its state directory, or a terminal still writing leaves it behind.
pf_at_exit "pf_kill sim"
pf_log "stack with $N terminals online in $((SECONDS - t0)) s"
fw=$(ro_fw_bundle 2.0.0)
RANDOM=$SEED

q() {
    sqlite3 -batch -noheader -cmd ".timeout 5000" "$PF_STORE" "$1"
}

pf_cli --json rollout create "$fw" --name "crash" --stages 5%,20%,50%,100% --soak ${SOAK_S}s \
    --window 00:00-24:00 --max-concurrent $MAXC --update-timeout 300 --retry "${ROLLOUT_CRASH_RETRY_S:-30}" \
    >"$RO_WORK/create.json"
id=$(pf_json_get '$.id' <"$RO_WORK/create.json")
[[ $(pf_json_get '$.members' <"$RO_WORK/create.json") == "$N" ]] || pf_fail "plan has not $N members"
NST=$(q "select count(*) from rollout_stages where rollout = $id")
t_roll=$SECONDS

state() {
    q "select state from rollouts where id = $id"
}

# The rollout must run: paused (a threshold crossed, e.g. timeouts after a
# restart) or anything else but running/completed fails at once, with why.
check_running() {
    local s
    s=$(state)
    case "$s" in
    running | completed) ;;
    *) pf_fail "rollout $id is $s: $(q "select coalesce(pause_reason,'') || ': ' ||
        coalesce(pause_detail,'') from rollouts where id = $id")" ;;
    esac
}

# The invariants that can be checked while the rollout runs, right after every
# kill and every 2 s until it completes (see watch): nothing offered after a
# success, no offer refused or failed, nothing offered before its stage opened.
check_invariants() {
    local bad
    bad=$(q "select count(*) from update_events e join update_offers o on o.serial = e.serial
        and o.bundle = e.bundle where e.bundle = '$fw' and e.status = 'success' and
        o.created_ms > e.recv_ms")
    [[ $bad == 0 ]] || pf_fail "$bad offers were made after the terminal's success: $(q "select
        e.serial || ' success ' || e.recv_ms || ', offer ' || o.id || ' ' || o.created_ms from
        update_events e join update_offers o on o.serial = e.serial and o.bundle = e.bundle
        where e.bundle = '$fw' and e.status = 'success' and o.created_ms > e.recv_ms limit 5")"
    bad=$(q "select count(*) from update_events where bundle = '$fw' and
        status in ('refused','failed')")
    [[ $bad == 0 ]] || pf_fail "$bad offers of the bundle were refused or failed: $(q "select
        serial || ' ' || offer || ' ' || status || ' ' || coalesce(code,'') from update_events
        where bundle = '$fw' and status in ('refused','failed') limit 5")"
    bad=$(q "select count(*) from rollout_members m join update_offers o on o.serial = m.serial
        and o.bundle = '$fw' join rollout_stages s on s.rollout = m.rollout and s.idx = m.stage
        where m.rollout = $id and (s.opened_ms = 0 or o.created_ms < s.opened_ms)")
    [[ $bad == 0 ]] || pf_fail "$bad offers were made before the member's stage opened"
}

# watch: called while the rollout runs (every 50-200 ms): it must keep running,
# and every 2 s the invariants and the counters hold.
next_check=0
watch() {
    check_running
    if ((SECONDS >= next_check)); then
        check_invariants
        ro_exact "$id"
        next_check=$((SECONDS + 2))
    fi
}

# Phase conditions (read from the store; posfleetd may be starting).
ph_stage1() { # stage 1 open with members in progress
    [[ $(q "select count(*) from rollouts r join rollout_members m on m.rollout = r.id
        where r.id = $id and r.stage = 0 and m.stage = 0 and
        m.status in ('offered','downloading','installing')") -gt 0 ]]
}
ph_mid() { # a later stage open, some of it installed, some still pending
    [[ $(q "select count(*) from rollouts r where r.id = $id and r.stage >= 1 and
        exists (select 1 from rollout_members m where m.rollout = r.id and m.stage = r.stage
            and m.status = 'installed') and
        exists (select 1 from rollout_members m where m.rollout = r.id and m.stage = r.stage
            and m.status = 'pending')") == 1 ]]
}
ph_soak() { # the open stage settled, the next not opened yet
    [[ $(q "select count(*) from rollouts r join rollout_stages s on s.rollout = r.id and
        s.idx = r.stage where r.id = $id and r.state = 'running' and s.settled_ms <> 0 and
        r.stage < $NST - 1") == 1 ]]
}
phase() {
    q "select 'stage ' || (r.stage + 1) || case when s.settled_ms <> 0 then ' settled (soak)'
        else ' open' end || ': ' || (select group_concat(status || '=' || n, ' ') from
        (select status, sum(n) as n from rollout_counts where rollout = $id and n <> 0
        group by status)) from rollouts r join rollout_stages s on s.rollout = r.id and
        s.idx = r.stage where r.id = $id"
}

# wait_phase NAME COND: polls COND (50 ms) until it holds; false if the rollout
# completed first.
wait_phase() {
    local deadline=$((SECONDS + 180))
    while ! "$2"; do
        watch
        [[ $(state) == completed ]] && return 1
        ((SECONDS < deadline)) || pf_fail "timed out waiting for phase $1 ($(phase))"
        sleep 0.05
    done
}

# wait_ms MS: lets the rollout run for MS milliseconds (the random part of a
# kill's moment), watching that it keeps running.
wait_ms() {
    local end=$(($(date +%s%3N) + $1))
    while (($(date +%s%3N) < end)); do
        watch
        sleep 0.1
    done
}

restarts=0
kill_restart() {
    local pid conf="$PF_TMP/server/posfleetd.conf" t
    pid=$(pf_pid_of posfleetd)
    kill -0 "$pid" 2>/dev/null || pf_fail "posfleetd died on its own before kill $((restarts + 1))"
    pf_log "kill $((restarts + 1)) (${1}): $(phase)"
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    # What a restart starts from: the store as the kill left it.
    ro_exact "$id"
    check_invariants
    restarts=$((restarts + 1))
    mv "$(pf_log_of posfleetd)" "$PF_TMP/logs/posfleetd-run$restarts.log"
    t=$(date +%s%3N)
    pf_spawn posfleetd "$PF_SERVERD" -c "$conf"
    pf_wait_for 30 "posfleetd to answer again after kill $restarts" pf_cli_quiet summary
    pf_log "restarted in $(($(date +%s%3N) - t)) ms"
}

# The kill plan: stage 1, then a random moment, mid-stage, soak, random ones.
plan=(stage1 random mid soak)
while ((${#plan[@]} < KILLS)); do plan+=(random); done
for what in "${plan[@]}"; do
    case $what in
    stage1) wait_phase "$what" ph_stage1 || pf_fail "completed before a kill in stage 1"
        wait_ms $((RANDOM % 500)) ;;
    mid) wait_phase "$what" ph_mid || pf_fail "completed before a mid-stage kill"
        wait_ms $((RANDOM % 300)) ;;
    soak) wait_phase "$what" ph_soak || pf_fail "completed before a kill during a soak" ;;
    random) wait_ms $((1000 + RANDOM % 5001)) ;;
    esac
    [[ $(state) == completed ]] &&
        pf_fail "the rollout completed after only $restarts kills (of $KILLS): raise ROLLOUT_CRASH_N"
    kill_restart "$what"
done

# (Not pf_wait_for: it hides the output of check_running's pf_fail.)
deadline=$((SECONDS + ${ROLLOUT_CRASH_WAIT_S:-400}))
until [[ $(state) == completed ]]; do
    watch
    ((SECONDS < deadline)) || pf_fail "rollout $id did not complete after $restarts restarts: $(phase)"
    sleep 0.2
done
pf_log "rollout completed $((SECONDS - t_roll)) s after its creation, $restarts kills"

# 1. Nothing offered after a success (nor refused, nor offered early: 2.); one
# success per terminal.
check_invariants
twice=$(q "select count(*) from (select serial from update_events where bundle = '$fw' and
    status = 'success' group by serial having count(*) > 1)")
[[ $twice == 0 ]] || pf_fail "$twice terminals reported success twice"

# 2. No stage skipped.
bad=$(q "select count(*) from rollout_stages a join rollout_stages b on b.rollout = a.rollout
    and b.idx = a.idx + 1 where a.rollout = $id and
    (a.settled_ms = 0 or b.opened_ms < a.settled_ms + a.soak_s * 1000)")
[[ $bad == 0 ]] || pf_fail "$bad stages opened before the one before settled and soaked:
$(q "select idx, opened_ms, settled_ms from rollout_stages where rollout = $id")"
# Settled means every member of the stage and those before it had its outcome.
unsettled=$(q "select count(*) from rollout_stages s join rollout_members m on m.rollout =
    s.rollout and m.stage <= s.idx join update_events e on e.serial = m.serial and
    e.bundle = '$fw' and e.status = 'success' where s.rollout = $id and e.recv_ms > s.settled_ms")
[[ $unsettled == 0 ]] || pf_fail "$unsettled successes arrived after their stage was marked settled:
$(q "select s.idx + 1, s.settled_ms, count(*), max(e.recv_ms) from rollout_stages s join
    rollout_members m on m.rollout = s.rollout and m.stage <= s.idx join update_events e on
    e.serial = m.serial and e.bundle = '$fw' and e.status = 'success' where s.rollout = $id and
    e.recv_ms > s.settled_ms group by 1")"
late=$(q "select count(*) from rollout_members m join rollout_stages nx on nx.rollout = m.rollout
    and nx.idx > m.stage join update_events e on e.serial = m.serial and e.bundle = '$fw' and
    e.status = 'success' where m.rollout = $id and e.recv_ms > nx.opened_ms")
[[ $late == 0 ]] || pf_fail "$late successes arrived after a later stage had opened"

# 3. Exact counts.
ro_exact "$id"
inst=$(ro_count "$id" installed)
[[ $inst == "$N" ]] || pf_fail "$inst installed, want $N: $(ro_json "$id" '$.totals')"
[[ $(q "select count(*) from rollout_members where rollout = $id") == "$N" ]] ||
    pf_fail "the rollout has not $N members"
[[ $(ro_json "$id" '$.totals.installed') == "$N" ]] ||
    pf_fail "rollout show says $(ro_json "$id" '$.totals.installed') installed, want $N"
ok=$(q "select count(*) from update_state where bundle = '$fw' and status = 'success'")
[[ $ok == "$inst" ]] || pf_fail "$ok terminals have update_state success, $inst members installed"
offers=$(q "select count(*) from update_offers where bundle = '$fw'")

# 4. Every terminal on the new version.
pf_wait_for 60 "posfleetd to see every terminal on 2.0.0" eval \
    "[[ \$(q \"select count(*) from device_state where fw_version = '2.0.0'\") == $N ]]"

# No store error in any run of posfleetd.
errs=$(cat "$PF_TMP"/logs/posfleetd*.log | grep -E 'posfleetd: error: .*(store|rollout)' || true)
[[ -z "$errs" ]] || pf_fail "posfleetd logged store errors: $(head -5 <<<"$errs")"

created=$(q "select created_ms from rollouts where id = $id")
while IFS='|' read -r k o st n avg max; do
    pf_log "stage $k: opened +${o} s, settled +${st} s; $n offer-to-success avg ${avg} s, max ${max} s"
done < <(q "select s.idx + 1, round((s.opened_ms - $created) / 1000.0, 1),
    round((s.settled_ms - $created) / 1000.0, 1), count(*),
    round(avg(e.recv_ms - o.created_ms) / 1000.0, 1), round(max(e.recv_ms - o.created_ms) / 1000.0, 1)
    from rollout_stages s join rollout_members m on m.rollout = s.rollout and m.stage = s.idx
    join update_offers o on o.id = m.offer join update_events e on e.serial = m.serial and
    e.offer = o.id and e.status = 'success' where s.rollout = $id group by s.idx")
pf_log "rollout $id: $N terminals, $NST stages, $restarts kills, $offers offers" \
    "($((offers - N)) made again), completed in $((SECONDS - t_roll)) s, seed $SEED"
