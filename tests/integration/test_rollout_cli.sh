#!/usr/bin/env bash
# test_rollout_cli.sh - `posfleet rollout ...` against the real posfleetd: a merchant's
# region (merchant add/update --region) picks the cohort, a bad flag is refused before
# anything is sent, create plans the rollout, show draws its stages and bars, list and
# members agree with the store, pause (with the reason shown) and resume, refused state
# changes exit 1 with posfleetd's reason, a viewer may read but not pause, --watch
# prints frames until the rollout is aborted, a real agent's update fills the bar and
# completes a second rollout, and --json passes the API's answers.
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
    [[ ! -s "$PF_TMP/out" ]] || pf_fail "posfleet $*: refused but printed $(cat "$PF_TMP/out")"
}
rollouts() { pf_sql "select count(*) from rollouts"; }
state_of() { pf_cli --json rollout show "$1" | pf_json_get '$.state'; }

upd_keys_init
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
upd_server_start "rollout.tick_ms = 100"

head -c 200000 /dev/urandom >"$PF_TMP/fw.img"
upd_pack_fw 1.1.0 "$PF_TMP/fw.img" "$PF_TMP/fw.tar"
bundle=$(upd_upload "$PF_TMP/fw.tar")
[[ ${#bundle} == 64 ]] || pf_fail "no bundle id: '$bundle'"

# --- merchants with a region: add sets it, update changes and clears it ---
m_args=(--name "Corner Shop" --address "9 Market St" --contact "Wang Fang" --phone 13800000000
        --settlement T0 --mcc 5411 --tz Europe/Berlin)
pf_cli merchant add M-EU --uscc 9144030071526726XG "${m_args[@]}" --region EU-W >/dev/null ||
    pf_fail "merchant add --region"
pf_cli merchant show M-EU | grep -q "^region         EU-W$" ||
    pf_fail "merchant show lacks the region: $(pf_cli merchant show M-EU)"
pf_cli merchant add M-AS --uscc 9144030071526727XH "${m_args[@]}" >/dev/null ||
    pf_fail "merchant add without a region"
[[ "$(pf_cli --json merchant show M-AS | pf_json_get '$.region')" == "" ]] ||
    pf_fail "a merchant added without --region has one"
pf_cli merchant update M-AS --region AP-E >/dev/null || pf_fail "merchant update --region"
[[ "$(pf_cli --json merchant show M-AS | pf_json_get '$.region')" == AP-E ]] ||
    pf_fail "merchant update --region did not change it"
pf_cli merchant update M-AS --region - >/dev/null || pf_fail "merchant update --region -"
[[ "$(pf_cli --json merchant show M-AS | pf_json_get '$.region')" == "" ]] ||
    pf_fail "merchant update --region - did not clear it"
pf_cli merchant update M-AS --region AP-E >/dev/null
pf_cli merchant approve M-EU >/dev/null
pf_cli merchant approve M-AS >/dev/null

# Four terminals in EU-W, one in AP-E, one unbound: the EU-W cohort is RO1..RO4.
for s in RO1 RO2 RO3 RO4 RO-AS RO-FREE; do
    pf_cli device add "$s" --model PX-500 --hw-rev r2 >/dev/null || pf_fail "device add $s"
done
for s in RO1 RO2 RO3 RO4; do pf_cli bind "$s" M-EU >/dev/null || pf_fail "bind $s"; done
pf_cli bind RO-AS M-AS >/dev/null || pf_fail "bind RO-AS"

# --- bad flags: refused locally with the flag named, nothing created: usage, exit 2 ---
expect_fail 2 "rollout create: --stages: the last stage must be 100%" \
    rollout create "$bundle" --stages 10%,50%
expect_fail 2 "rollout create: --soak: expected a duration" \
    rollout create "$bundle" --stages 100% --soak 1y
expect_fail 2 "rollout create: --cohort: mccs: '54' is not a 4-digit MCC" \
    rollout create "$bundle" --stages 100% --cohort "mccs=54"
expect_fail 2 "rollout create: --max-concurrent: expected a whole number" \
    rollout create "$bundle" --stages 100% --max-concurrent 0
[[ "$(rollouts)" == 0 ]] || pf_fail "a refused create stored a rollout"
# posfleetd's own refusal comes back as its message
expect_fail 1 "bundle 0000000000000000000000000000000000000000000000000000000000000000 is not stored" \
    rollout create "$(printf '0%.0s' {1..64})" --stages 100%
[[ "$(rollouts)" == 0 ]] || pf_fail "a rollout of an unknown bundle was stored"

# --- create: a quarter first, gated, any time of day ---
pf_cli rollout create "$bundle" --name "fw 1.1 EU" --cohort "regions=EU-W;models=PX-500" \
    --stages 1,100% --soak 0 --gate --window 00:00-00:00 --max-concurrent 2 \
    --max-failure-rate 10% --update-timeout 10m --retry 30s >"$PF_TMP/create.txt" ||
    pf_fail "rollout create: $(cat "$PF_TMP/create.txt")"
id=$(pf_sql "select max(id) from rollouts")
[[ -n "$id" && "$(rollouts)" == 1 ]] || pf_fail "create stored $(rollouts) rollouts"
grep -q "^rollout   $id  fw 1.1 EU$" "$PF_TMP/create.txt" || pf_fail "create card: $(cat "$PF_TMP/create.txt")"
grep -q "^bundle    firmware 1.1.0  $bundle$" "$PF_TMP/create.txt" || pf_fail "create card bundle"
grep -q "^planned   4 terminals" "$PF_TMP/create.txt" || pf_fail "create card plan: $(cat "$PF_TMP/create.txt")"

# The definition sent is the one stored (defaults filled in by posfleetd).
def=$(pf_cli --json rollout show "$id")
for kv in '$.definition.soak_s=0' '$.definition.gate=1' '$.definition.max_concurrent=2' \
    '$.definition.timeout_s=600' '$.definition.retry_s=30' '$.definition.criteria.max_failure_rate=0.1' \
    '$.definition.window.start=00:00' '$.definition.cohort.regions[0]=EU-W' '$.members=4' \
    '$.stage_count=2' '$.stages[0].members=1' '$.stages[1].members=3'; do
    got=$(pf_json_get "${kv%%=*}" <<<"$def")
    [[ "$got" == "${kv#*=}" ]] || pf_fail "${kv%%=*} is '$got', want '${kv#*=}'"
done

# --- show: header, one line per stage with a 30-cell bar, totals, legend ---
pf_cli rollout show "$id" >"$PF_TMP/show.txt" || pf_fail "rollout show"
grep -q "^members   4, stage 1/2$" "$PF_TMP/show.txt" || pf_fail "show header: $(cat "$PF_TMP/show.txt")"
grep -Eq '^1 +1 +1  \[[#x>r.-]{30}\]' "$PF_TMP/show.txt" || pf_fail "stage 1 line: $(cat "$PF_TMP/show.txt")"
grep -Eq '^2 +100% +3  \[\.{30}\] +3 ' "$PF_TMP/show.txt" || pf_fail "stage 2 line: $(cat "$PF_TMP/show.txt")"
grep -Eq '^all +- +4  \[' "$PF_TMP/show.txt" || pf_fail "totals line: $(cat "$PF_TMP/show.txt")"
grep -q "^legend: # installed" "$PF_TMP/show.txt" || pf_fail "no legend"
grep -q "^failures: none$" "$PF_TMP/show.txt" || pf_fail "no failure section"
! grep -q $'\e' "$PF_TMP/show.txt" || pf_fail "escape sequences in output that is not a terminal"

# --- list and members agree with the store ---
pf_cli rollout list >"$PF_TMP/list.txt"
grep -Eq "^ *$id +fw 1.1 EU +[a-z_]+ +firmware +1.1.0 +1/2 +4 +0 +0 +0 +0" "$PF_TMP/list.txt" ||
    pf_fail "rollout list: $(cat "$PF_TMP/list.txt")"
pf_cli rollout members "$id" >"$PF_TMP/members.txt"
[[ "$(grep -c '^RO[1-4] ' "$PF_TMP/members.txt")" == 4 ]] || pf_fail "members: $(cat "$PF_TMP/members.txt")"
! grep -q "RO-AS\|RO-FREE" "$PF_TMP/members.txt" || pf_fail "a terminal outside EU-W is a member"
first=$(pf_sql "select serial from rollout_members where rollout=$id and stage=0")
pf_cli rollout members "$id" --stage 1 >"$PF_TMP/stage1.txt"
[[ "$(tail -n +2 "$PF_TMP/stage1.txt" | awk '{print $1 "/" $2}')" == "$first/1" ]] ||
    pf_fail "members --stage 1: $(cat "$PF_TMP/stage1.txt"), store says $first"
pf_cli rollout members "$id" --limit 1 >"$PF_TMP/page.txt" 2>"$PF_TMP/page.err"
[[ "$(wc -l <"$PF_TMP/page.txt")" == 2 ]] && grep -q "use --all" "$PF_TMP/page.err" ||
    pf_fail "members --limit 1: $(cat "$PF_TMP/page.txt" "$PF_TMP/page.err")"
pf_cli rollout members "$id" --limit 1 --all >"$PF_TMP/all.txt"
cmp -s "$PF_TMP/all.txt" "$PF_TMP/members.txt" || pf_fail "members --limit 1 --all differs from one page"

# --- pause with a reason, refused twice, a viewer may not; resume ---
PF_CLI_TOKEN=$PF_TOKEN_VIEWER pf_cli rollout show "$id" >/dev/null || pf_fail "a viewer cannot read"
PF_CLI_TOKEN=$PF_TOKEN_VIEWER expect_fail 5 "permission denied" rollout pause "$id"
pf_cli rollout pause "$id" --reason "waiting for the bank" >"$PF_TMP/pause.txt" || pf_fail "pause"
grep -q "^state     paused$" "$PF_TMP/pause.txt" || pf_fail "pause card: $(cat "$PF_TMP/pause.txt")"
grep -q "^paused    ops: waiting for the bank (by test-ops, " "$PF_TMP/pause.txt" ||
    pf_fail "pause line: $(cat "$PF_TMP/pause.txt")"
[[ "$(state_of "$id")" == paused ]] || pf_fail "not paused in the API"
expect_fail 1 "rollout $id is paused: cannot pause it" rollout pause "$id"
expect_fail 1 "rollout $id is paused: cannot continue it" rollout continue "$id"
[[ "$(state_of "$id")" == paused ]] || pf_fail "a refused change moved the rollout"
pf_cli rollout resume "$id" >"$PF_TMP/resume.txt" || pf_fail "resume"
grep -Eq "^state     (running|gated)$" "$PF_TMP/resume.txt" || pf_fail "resume card: $(cat "$PF_TMP/resume.txt")"
expect_fail 1 "cannot resume it" rollout resume "$id"
[[ "$(pf_sql "select count(*) from audit where action in ('rollout.create','rollout.pause','rollout.resume')")" == 3 ]] ||
    pf_fail "audit rows: $(pf_sql "select action from audit where action like 'rollout.%'")"

# --- a second rollout of the same terminals and kind is refused (409) ---
expect_fail 1 "already in rollout $id" rollout create "$bundle" --stages 100% --cohort "serials=RO2"
[[ "$(rollouts)" == 1 ]] || pf_fail "an overlapping rollout was stored"

# --- --watch without a terminal: frames separated by a blank line, ends when aborted ---
pf_spawn watch "$PF_CLI" --server "$POSFLEET_URL" --token-file "$PF_TOKEN_VIEWER" \
    rollout show "$id" --watch --interval 1
watch_log=$(pf_log_of watch)
pf_wait_for 20 "two frames of --watch" eval "[[ \$(grep -c '^rollout   $id ' '$watch_log') -ge 2 ]]"
pf_cli rollout abort "$id" --reason "test over" >/dev/null || pf_fail "abort"
watch_pid=$(pf_pid_of watch)
pf_wait_for 20 "--watch to end after the abort" eval "! kill -0 $watch_pid 2>/dev/null || [[ \$(ps -o stat= -p $watch_pid) == Z* ]]"
wait "$watch_pid" || pf_fail "--watch exited $?"
grep -q "^state     aborted$" "$watch_log" || pf_fail "the last frame is not the aborted rollout"
frames=$(grep -c "^rollout   $id " "$watch_log")
[[ "$(grep -B1 "^rollout   $id " "$watch_log" | grep -c '^$')" == $((frames - 1)) ]] ||
    pf_fail "frames not separated by one blank line: $(cat "$watch_log")"
! grep -q $'\e' "$watch_log" || pf_fail "--watch cleared a screen that is not a terminal"
[[ "$(state_of "$id")" == aborted ]] || pf_fail "not aborted"
expect_fail 1 "rollout $id is aborted: cannot resume it" rollout resume "$id"

# --- a real update through a rollout: --watch follows it to completed, the bar fills ---
pf_cli rollout create "$bundle" --name "fw 1.1 AP" --cohort "regions=AP-E" --stages 100% \
    --soak 0 --window 00:00-00:00 >/dev/null || pf_fail "create the AP-E rollout"
id2=$(pf_sql "select max(id) from rollouts")
[[ "$id2" != "$id" ]] || pf_fail "no second rollout"
pf_spawn watch2 "$PF_CLI" --server "$POSFLEET_URL" --token-file "$PF_TOKEN_VIEWER" \
    rollout show "$id2" --watch --interval 1
watch2_pid=$PF_SPAWN_PID
upd_agent_start RO-AS
upd_reboot RO-AS 1
pf_wait_for 60 "rollout $id2 to complete" eval "[[ \$(state_of $id2) == completed ]]"
pf_wait_for 20 "--watch to end at completed" eval "! kill -0 $watch2_pid 2>/dev/null || [[ \$(ps -o stat= -p $watch2_pid) == Z* ]]"
wait "$watch2_pid" || pf_fail "--watch of the completed rollout exited $?"
grep -q "^state     completed$" "$(pf_log_of watch2)" || pf_fail "--watch never showed completed"
pf_cli rollout show "$id2" >"$PF_TMP/done.txt"
grep -Eq '^1 +100% +1  \[#{30}\] +0 +0 +0 +1 +0 +0 +0 +0 +0  settled$' "$PF_TMP/done.txt" ||
    pf_fail "completed stage line: $(cat "$PF_TMP/done.txt")"
pf_cli rollout list | grep -Eq "^ *$id2 +fw 1.1 AP +completed +firmware +1.1.0 +1/1 +1 +1 +0 +0 +0" ||
    pf_fail "list after completion: $(pf_cli rollout list)"
pf_cli rollout members "$id2" | grep -Eq '^RO-AS +1 +installed ' ||
    pf_fail "members after completion: $(pf_cli rollout members "$id2")"

# --- --json: the API's object unchanged ---
[[ "$(pf_cli --json rollout list | pf_json_get '$.rollouts[1].id')" == "$id" ]] || pf_fail "--json list (newest first)"
[[ "$(pf_cli --json rollout members "$id" --status skipped | pf_json_get '$.members[0].status')" == skipped ]] ||
    pf_fail "--json members --status skipped: $(pf_cli --json rollout members "$id")"

pf_server_stop
! grep -q "Sanitizer\|runtime error" "$(pf_log_of posfleetd)" ||
    pf_fail "posfleetd: sanitizer report: $(grep -m3 "Sanitizer\|runtime error" "$(pf_log_of posfleetd)")"
pf_log "rollout CLI against posfleetd: ok"
