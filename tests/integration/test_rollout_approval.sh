#!/usr/bin/env bash
# test_rollout_approval.sh - four eyes. With rollout.approval = fee_table, a fee-table
# rollout created by ops waits in awaiting_approval (planned, nothing offered, resume
# refused) until a second identity with the approver role approves it naming the digest
# of its preview; ops may not approve, a wrong digest is refused, and a cohort that
# changed since creation invalidates the approval. Creator and approver are both in the
# audit. Firmware rollouts start at once in this deployment, and the approver role can
# read but not create.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"

export PF_REPORT_INTERVAL=1
upd_keys_init
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
# The tokens, an approver among them, before posfleetd reads the file.
mkdir -p "$PF_TMP/server"
for role in ops support viewer approver; do
    "$PF_KEYS" api-token --name "test-$role" --role "$role" --file "$PF_TMP/server/tokens" \
        >"$PF_TMP/server/$role.token" || pf_fail "cannot create the $role token"
done
APPROVER="$PF_TMP/server/approver.token"
upd_server_start "rollout.approval = fee_table
rollout.tick_ms = 200"

pf_cli merchant add M-GRO --name "Corner Grocer" --uscc 9144030071526726XG --mcc 5411 \
    --address "1 Market Street" --contact "Li Wei" --phone "+86 138 0000 0000" \
    --tz Asia/Shanghai --settlement T1 --fee-plan fee-2026.11 >/dev/null || pf_fail "merchant"
pf_cli merchant approve M-GRO >/dev/null || pf_fail "merchant approve"
for s in AP-1 AP-2 AP-3; do
    pf_cli device add "$s" --model PX-500 --hw-rev r2 >/dev/null || pf_fail "device add $s"
    pf_cli bind "$s" M-GRO >/dev/null || pf_fail "bind $s"
done
for s in AP-1 AP-2 AP-3; do upd_agent_start "$s"; done
for s in AP-1 AP-2 AP-3; do pf_wait_for 30 "$s online" pf_device_online "$s"; done
upd_pack_fees 2026.4 "2020-01-01T00:00:00Z" "$PF_TMP/fees.tar"
fees=$(upd_upload "$PF_TMP/fees.tar")
head -c 4096 /dev/urandom >"$PF_TMP/fw.img"
upd_pack_fw 2.0.0 "$PF_TMP/fw.img" "$PF_TMP/fw.tar"
fw=$(upd_upload "$PF_TMP/fw.tar")

as() { local tok="$1"; shift; PF_CLI_TOKEN="$tok" pf_cli "$@"; }
refused() { # WHAT EXIT PATTERN TOKEN ARGS...
    local what="$1" want="$2" pat="$3" tok="$4" rc
    shift 4
    set +e
    as "$tok" "$@" >/dev/null 2>"$PF_TMP/refused.err"
    rc=$?
    set -e
    [[ $rc -eq $want ]] || pf_fail "$what: exit $rc, want $want ($(cat "$PF_TMP/refused.err"))"
    grep -q -- "$pat" "$PF_TMP/refused.err" || pf_fail "$what: $(cat "$PF_TMP/refused.err")"
}
state() { pf_cli --json rollout show "$1" | pf_json_get '$.state'; }

# Firmware needs no approval here: it is scheduled at once (for next year: nothing offered).
fid=$(pf_cli --json rollout create "$fw" --stages 100% \
    --start-at "$(date -u -d '+1 year' +%Y-%m-%dT%H:%M:%SZ)" | pf_json_get '$.id')
[[ $(state "$fid") == scheduled ]] || pf_fail "firmware rollout: $(state "$fid")"
pf_cli rollout abort "$fid" >/dev/null || pf_fail "abort the firmware rollout"
refused "the approver creating a rollout" 5 "may not do this" "$APPROVER" \
    rollout create "$fees" --stages 100%

# --- created: awaiting approval, planned, nothing offered --------------------------------
id=$(pf_cli --json rollout create "$fees" --stages 100% | pf_json_get '$.id')
[[ $(state "$id") == awaiting_approval ]] || pf_fail "state $(state "$id")"
[[ $(pf_cli --json rollout show "$id" | pf_json_get '$.members') == 3 ]] || pf_fail "not planned"
refused "ops resuming it" 1 "waits for an approver" "$PF_TOKEN_OPS" rollout resume "$id"
pf_cli --json rollout preview "$id" >"$PF_TMP/pv.json" || pf_fail "preview"
digest=$(pf_json_get '$.digest' <"$PF_TMP/pv.json")
[[ $(pf_json_get '$.recorded_digest' <"$PF_TMP/pv.json") == "$digest" ]] ||
    pf_fail "the preview differs from the plan recorded at creation"
[[ $(pf_json_get '$.cohort' <"$PF_TMP/pv.json") == 3 ]] || pf_fail "preview cohort"
refused "ops approving" 5 "may not do this" "$PF_TOKEN_OPS" rollout approve "$id" \
    --digest "$digest"
refused "a wrong digest" 1 "not the plan it was created with" "$APPROVER" \
    rollout approve "$id" --digest "$(printf '0%.0s' {1..64})"
# The scheduler has seen it (its "waiting" line) and offered nothing.
pf_wait_for 10 "the scheduler to pass over the waiting rollout" \
    eval "[[ \$(pf_cli --json rollout show $id | pf_json_get '\$.waiting') == 'paused: approval' ]]"
[[ $(pf_sql "select count(*) from update_offers where bundle = '$fees'") == 0 ]] || pf_fail "an offer went out unapproved"
[[ $(state "$id") == awaiting_approval ]] || pf_fail "a refused approval changed the state"

# --- the cohort changes after creation: the approval no longer holds ------------------------
pf_cli device add AP-4 --model PX-500 --hw-rev r2 >/dev/null || pf_fail "device add AP-4"
pf_cli bind AP-4 M-GRO >/dev/null || pf_fail "bind AP-4"
[[ $(pf_cli --json rollout preview "$id" | pf_json_get '$.digest') != "$digest" ]] ||
    pf_fail "a changed cohort kept its digest"
refused "a changed cohort" 1 "cohort changed since it was created" "$APPROVER" \
    rollout approve "$id" --digest "$digest"
pf_cli rollout abort "$id" --reason "cohort changed" >/dev/null || pf_fail "abort"

# --- created again, approved by the approver: it runs ------------------------------------
id=$(pf_cli --json rollout create "$fees" --stages 100% --window 00:00-24:00 | pf_json_get '$.id')
digest=$(PF_CLI_TOKEN="$PF_TOKEN_VIEWER" pf_cli --json rollout preview "$id" |
    pf_json_get '$.digest')
as "$APPROVER" rollout approve "$id" --digest "$digest" >/dev/null || pf_fail "approve"
[[ $(state "$id") == running ]] || pf_fail "approved rollout: $(state "$id")"
pf_wait_for 20 "offers of the approved rollout" \
    eval "(( \$(pf_sql \"select count(*) from update_offers where bundle = '$fees'\") > 0 ))"
refused "approving twice" 1 "does not wait for an approval" "$APPROVER" \
    rollout approve "$id" --digest "$digest"
[[ $(pf_sql "select actor from audit where action = 'rollout.create' and target = 'rollout/$id'") \
    == test-ops ]] || pf_fail "creator not audited"
pf_sql "select actor || ' ' || after from audit where action = 'rollout.approve' and
    target = 'rollout/$id'" | grep -q "^test-approver .*$digest" || pf_fail "approver not audited"
pf_log "rollout four eyes: OK"
