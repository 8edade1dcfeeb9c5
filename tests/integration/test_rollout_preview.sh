#!/usr/bin/env bash
# test_rollout_preview.sh - look before you push. `rollout create --dry-run` shows the
# cohort by stage, model, hardware revision, merchant category, region and running
# version, the terminals skipped as already running the bundle's version and when each
# zone's maintenance window next opens, and stores nothing (the same preview twice has
# the same digest). A fee table whose merchant categories do not cover the cohort's
# merchants is refused naming the mismatch, unless forced with a reason, which is
# audited; firmware whose targets do not cover the terminals the filters select likewise.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"

export PF_REPORT_INTERVAL=1
upd_keys_init
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
upd_server_start

merchant() { # ID MCC REGION NAME USCC
    pf_cli merchant add "$1" --name "$4" --uscc "$5" --mcc "$2" \
        --address "1 Market Street" --contact "Li Wei" --phone "+86 138 0000 0000" \
        --tz Asia/Shanghai --settlement T1 --fee-plan fee-2026.11 --region "$3" >/dev/null ||
        pf_fail "merchant add $1"
    pf_cli merchant approve "$1" >/dev/null || pf_fail "merchant approve $1"
}
merchant M-GRO 5411 north "Corner Grocer" 9144030071526726XG
merchant M-EAT 5812 south "Noodle House" 9144030071526727XH
for s in PV-G1 PV-G2 PV-G3; do
    pf_cli device add "$s" --model PX-500 --hw-rev r2 >/dev/null || pf_fail "device add $s"
    pf_cli bind "$s" M-GRO >/dev/null || pf_fail "bind $s"
done
pf_cli device add PV-E1 --model PX-500 --hw-rev r2 >/dev/null || pf_fail "device add PV-E1"
pf_cli bind PV-E1 M-EAT >/dev/null || pf_fail "bind PV-E1"
pf_cli device add PV-A1 --model A920 --hw-rev r2 >/dev/null || pf_fail "device add PV-A1"

# PV-G3 already runs firmware 2.0.0.
pf_agent_start PV-G3 fw_version=2.0.0
pf_wait_for 30 "PV-G3 reports 2.0.0" eval "[[ \$(pf_device_field PV-G3 '\$.fw_version') == 2.0.0 ]]"

head -c 4096 /dev/urandom >"$PF_TMP/fw.img"
upd_pack_fw 2.0.0 "$PF_TMP/fw.img" "$PF_TMP/fw.tar" # targets PX-500 r2 only
fw=$(upd_upload "$PF_TMP/fw.tar")
# A restaurant fee table: MCC 5812 only.
upd_pack_fees 2026.3 "2020-01-01T00:00:00Z" "$PF_TMP/fees.tar.in"
sed -i 's/"mcc": \["5411", "5812"\]/"mcc": ["5812"]/' "$PF_TMP/fees-2026.3.json"
"$PF_PACK" create --kind fee-table --fee-table "$PF_TMP/fees-2026.3.json" --model PX-500 \
    --hw-rev r2 --keyring "$UPD_KEYS" --key "$UPD_KEYS/signing/fees.key" -o "$PF_TMP/fees.tar" \
    >/dev/null || pf_fail "pack the restaurant fee table"
fees=$(upd_upload "$PF_TMP/fees.tar")

rollouts() { pf_sql "select count(*) from rollouts"; }
expect_refusal() { # WHAT PATTERN ARGS...
    local what="$1" pat="$2" rc
    shift 2
    set +e
    pf_cli rollout create "$@" 2>"$PF_TMP/refused.err" >/dev/null
    rc=$?
    set -e
    [[ $rc -eq 1 ]] || pf_fail "$what: exit $rc, want 1"
    grep -q -- "$pat" "$PF_TMP/refused.err" || pf_fail "$what: $(cat "$PF_TMP/refused.err")"
}

# --- the preview of a firmware rollout: by stage and dimension, already, windows -------
pf_cli --json rollout create "$fw" --stages 1,100% --dry-run >"$PF_TMP/pv.json" ||
    pf_fail "dry run"
pv() { pf_json_get "$1" <"$PF_TMP/pv.json"; }
[[ $(pv '$.dry_run') == 1 && $(pv '$.cohort') == 3 ]] || pf_fail "cohort: $(cat "$PF_TMP/pv.json")"
[[ $(pv '$.already') == 1 ]] || pf_fail "already: $(pv '$.already')"
[[ $(pv '$.skipped[0].serial') == PV-G3 && $(pv '$.skipped[0].class') == already ]] ||
    pf_fail "PV-G3 not listed as already"
[[ $(pv '$.stages[0].members') == 1 && $(pv '$.stages[1].members') == 2 ]] || pf_fail "stages"
[[ $(pv '$.by.model."PX-500"') == 3 && $(pv '$.by.hw_rev.r2') == 3 ]] || pf_fail "by model"
[[ $(pv '$.by.mcc."5411"') == 2 && $(pv '$.by.mcc."5812"') == 1 ]] || pf_fail "by mcc"
[[ $(pv '$.by.region.north') == 2 && $(pv '$.by.region.south') == 1 ]] || pf_fail "by region"
[[ $(pv '$.windows[0].tz') == Asia/Shanghai && $(pv '$.windows[0].terminals') == 3 ]] ||
    pf_fail "windows: $(pv '$.windows')"
next=$(pv '$.windows[0].next_open_ms')
(( next >= $(date +%s)000 - 60000 && next <= $(date +%s)000 + 86400000 )) ||
    pf_fail "the window's next opening is not within a day: $next"
[[ $(pv '$.members[0].window_next_ms') == "$next" ]] || pf_fail "member window"
[[ "$(rollouts)" == 0 ]] || pf_fail "a dry run stored a rollout"
digest=$(pv '$.digest')
[[ $(pf_cli --json rollout create "$fw" --stages 1,100% --dry-run | pf_json_get '$.digest') == \
    "$digest" ]] || pf_fail "the same preview gave another digest"
pf_cli rollout create "$fw" --stages 1,100% --dry-run >"$PF_TMP/pv.txt" || pf_fail "text preview"
for w in "stage 1" "stage 2" "PX-500 3" "5411 2" "north 2" "already run it" "Asia/Shanghai" \
    "PV-G3"; do
    grep -q -- "$w" "$PF_TMP/pv.txt" || pf_fail "text preview lacks '$w': $(cat "$PF_TMP/pv.txt")"
done

# --- firmware that does not target what the filters select --------------------------
expect_refusal "firmware for PX-500 over A920s" "first PV-A1: model A920 r2 is not a target" \
    "$fw" --stages 100% --cohort "models=PX-500,A920"
[[ "$(rollouts)" == 0 ]] || pf_fail "a refused creation stored a rollout"

# --- a restaurant fee table for grocers ----------------------------------------------
pf_cli --json rollout create "$fees" --stages 100% --dry-run >"$PF_TMP/pv.json" ||
    pf_fail "fee dry run"
[[ $(pv '$.mcc_uncovered') == 3 ]] || pf_fail "uncovered: $(cat "$PF_TMP/pv.json")"
pv '$.refused' | grep -q "MCC 5411 is not in the fee table" || pf_fail "preview: $(pv '$.refused')"
expect_refusal "a 5812 table for 5411 grocers" "MCC 5411 is not in the fee table" \
    "$fees" --stages 100% --cohort "mccs=5411"
[[ "$(rollouts)" == 0 ]] || pf_fail "a refused creation stored a rollout"
# Only restaurants: covered, created without force.
pf_cli --json rollout create "$fees" --stages 100% --cohort "mccs=5812" >"$PF_TMP/ok.json" ||
    pf_fail "a covered fee table was refused"
pf_cli rollout abort "$(pf_json_get '$.id' <"$PF_TMP/ok.json")" >/dev/null || pf_fail "abort"
# Forced with a reason: created, the grocers are members, the reason is audited.
pf_cli --json rollout create "$fees" --stages 100% --cohort "mccs=5411" \
    --force-reason "grocers pilot the restaurant rates (risk ticket 77)" >"$PF_TMP/forced.json" ||
    pf_fail "forced creation"
id=$(pf_json_get '$.id' <"$PF_TMP/forced.json")
[[ $(pf_json_get '$.members' <"$PF_TMP/forced.json") == 3 ]] || pf_fail "forced members"
pf_json_get '$.forced.reason' <"$PF_TMP/forced.json" | grep -q "risk ticket 77" ||
    pf_fail "the answer does not carry the reason"
pf_sql "select after from audit where action = 'rollout.force' and target = 'rollout/$id'" |
    grep -q "risk ticket 77.*MCC 5411\|MCC 5411.*risk ticket 77" || pf_fail "no rollout.force audit row"
pf_log "rollout preview and coverage: OK"
