#!/usr/bin/env bash
# test_swap_undo.sh - `posfleet swap` asks on a terminal and shows what moves (merchant, fee
# plan, tags, the repair that opens); "n" changes nothing; without a terminal and without
# --yes it refuses with exit 2 naming --yes. `posfleet swap undo OLD NEW --reason` puts a
# mistaken swap back in one audited command: OLD bound again in its state, NEW in stock with
# its own tags, the repair the swap opened gone from the repairs list, a swap_undo line in
# both histories; it is refused once undone, and once NEW was swapped again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

PTY_RUN="$(dirname "$0")/pty_run.py"

pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
pf_server_start

life() { pf_cli --json lifecycle "$1" | pf_json_get "$2"; }
expect_fail() { # expect_fail EXIT PATTERN CLI-ARGS...
    local want="$1" pat="$2" rc
    shift 2
    set +e
    pf_cli "$@" >/dev/null 2>"$PF_TMP/err" </dev/null
    rc=$?
    set -e
    [[ $rc -eq $want ]] || pf_fail "posfleet $*: exit $rc, want $want ($(cat "$PF_TMP/err"))"
    grep -q -- "$pat" "$PF_TMP/err" || pf_fail "posfleet $*: '$(cat "$PF_TMP/err")' lacks '$pat'"
}
on_pty() { # on_pty ANSWER CLI-ARGS...: runs the CLI as support on a pty, answering ANSWER
    local answer="$1"
    shift
    python3 "$PTY_RUN" --answer "$answer" --after "[y/N]" -- env TZ=UTC "$PF_CLI" \
        --server "$POSFLEET_URL" --token-file "$PF_TOKEN_SUPPORT" "$@"
}

m_args=(--name "Corner Shop" --address "9 Market St" --contact "Wang Fang" --phone 13800000000
        --settlement T0 --mcc 5411 --tz Asia/Shanghai --fee-plan fee-2026.11,fee-promo)
pf_cli merchant add M-U --uscc 9144030071526726XG "${m_args[@]}" >/dev/null || pf_fail "merchant add"
pf_cli merchant approve M-U >/dev/null
for s in SU-OLD SU-NEW SU-OTHER; do pf_cli device add "$s" --model PX-500 >/dev/null; done
pf_cli bind SU-OLD M-U >/dev/null || pf_fail "bind"
pf_cli tag SU-OLD --tags "vip,north" >/dev/null || pf_fail "tag SU-OLD"
pf_cli tag SU-NEW --tags "spare" >/dev/null || pf_fail "tag SU-NEW"

# --- confirmation --------------------------------------------------------------------------
PF_CLI_TOKEN=$PF_TOKEN_SUPPORT expect_fail 2 "give --yes to swap SU-OLD for SU-NEW" \
    swap SU-OLD SU-NEW --reason "reader dead"
[[ "$(life SU-OLD '$.state')" == installed ]] || pf_fail "a refused swap changed SU-OLD"

set +e
on_pty n swap SU-OLD SU-NEW --reason "reader dead" >"$PF_TMP/pty.out"
rc=$?
set -e
[[ $rc -eq 1 ]] || pf_fail "swap answered n: exit $rc, want 1: $(cat "$PF_TMP/pty.out")"
for want in "swap SU-OLD (installed) for SU-NEW (in_stock)" "merchant     M-U" \
    "fee plan     fee-2026.11,fee-promo" "tags         vip,north" \
    "SU-OLD goes to repair: a repair record opens (reader dead)" "not confirmed: nothing changed"; do
    grep -qF -- "$want" "$PF_TMP/pty.out" || pf_fail "confirmation lacks '$want': $(cat "$PF_TMP/pty.out")"
done
[[ "$(life SU-OLD '$.state')" == installed ]] || pf_fail "an unconfirmed swap changed SU-OLD"
[[ "$(pf_sql "select count(*) from repairs")" == 0 ]] || pf_fail "an unconfirmed swap opened a repair"

on_pty y swap SU-OLD SU-NEW --reason "reader dead" >"$PF_TMP/pty.out" ||
    pf_fail "confirmed swap: $(cat "$PF_TMP/pty.out")"
grep -q "swapped SU-OLD for SU-NEW at merchant M-U" "$PF_TMP/pty.out" || pf_fail "swap: $(cat "$PF_TMP/pty.out")"
[[ "$(life SU-NEW '$.merchant_id')" == M-U ]] || pf_fail "the swap did not move the binding"
rid=$(life SU-OLD '$.repair_id')
[[ -n "$rid" ]] || pf_fail "the swap opened no repair"

# --- undo ------------------------------------------------------------------------------------
PF_CLI_TOKEN=$PF_TOKEN_VIEWER expect_fail 5 "permission denied" swap undo SU-OLD SU-NEW --reason x
PF_CLI_TOKEN=$PF_TOKEN_SUPPORT pf_cli swap undo SU-OLD SU-NEW --reason "wrong terminal picked" \
    >"$PF_TMP/undo.txt" || pf_fail "swap undo"
grep -q "undid the swap of SU-OLD for SU-NEW" "$PF_TMP/undo.txt" || pf_fail "undo: $(cat "$PF_TMP/undo.txt")"
grep -q "repair $rid that the swap opened is removed" "$PF_TMP/undo.txt" || pf_fail "undo: $(cat "$PF_TMP/undo.txt")"
# The cards: OLD bound and installed with its tags, NEW in stock with its own.
[[ "$(life SU-OLD '$.state')" == installed ]] || pf_fail "SU-OLD is $(life SU-OLD '$.state')"
[[ "$(life SU-OLD '$.merchant_id')" == M-U ]] || pf_fail "SU-OLD not bound to M-U"
[[ "$(life SU-OLD '$.tags[1]')" == north ]] || pf_fail "SU-OLD lost its tags"
[[ -z "$(life SU-OLD '$.repair_id')" ]] || pf_fail "SU-OLD still has an open repair"
[[ "$(life SU-NEW '$.state')" == in_stock ]] || pf_fail "SU-NEW is $(life SU-NEW '$.state')"
[[ -z "$(life SU-NEW '$.merchant_id')" ]] || pf_fail "SU-NEW is still bound"
[[ "$(life SU-NEW '$.tags[0]')" == spare ]] || pf_fail "SU-NEW did not get its own tags back"
[[ -z "$(life SU-NEW '$.provision')" ]] || pf_fail "SU-NEW keeps the swap's provision"
pf_cli lifecycle SU-OLD | grep -q "^merchant *M-U" || pf_fail "card: $(pf_cli lifecycle SU-OLD)"
# No bogus repair: not in the open list, not in all.
pf_cli repair list --state all | grep -q "no repairs" || pf_fail "repairs: $(pf_cli repair list --state all)"
# History on both sides and one audit row with before and after.
pf_cli history SU-OLD | grep -q "swap_undo .*in_repair *installed *M-U *SU-NEW" ||
    pf_fail "SU-OLD history: $(pf_cli history SU-OLD)"
pf_cli history SU-NEW | grep -qw swap_undo || pf_fail "SU-NEW history lacks swap_undo"
pf_cli audit --serial SU-NEW | grep -q "terminal.swap_undo" || pf_fail "audit by the new serial"
pf_cli --json audit --serial SU-OLD | pf_json_get '$.audit[0].before.repair.id' | grep -qx "$rid" ||
    pf_fail "the undo's audit row lacks the repair it removed"
[[ "$(pf_sql "select actor from audit where action='terminal.swap_undo'")" == test-support ]] ||
    pf_fail "the undo is not audited with its actor"
expect_fail 1 "was undone already" swap undo SU-OLD SU-NEW --reason "again"

# --- refused once NEW was swapped again -----------------------------------------------------
PF_CLI_TOKEN=$PF_TOKEN_SUPPORT pf_cli swap SU-OLD SU-NEW --yes --reason "reader dead" >/dev/null ||
    pf_fail "second swap"
PF_CLI_TOKEN=$PF_TOKEN_SUPPORT pf_cli swap SU-NEW SU-OTHER --yes --reason "screen" >/dev/null ||
    pf_fail "swap of the new terminal"
before=$(pf_sql "select count(*) from terminal_events")
expect_fail 1 "SU-NEW changed since the swap (swap_out)" swap undo SU-OLD SU-NEW --reason "late"
[[ "$(pf_sql "select count(*) from terminal_events")" == "$before" ]] || pf_fail "a refused undo wrote history"
expect_fail 1 "no swap of SU-OTHER for SU-OLD is recorded" swap undo SU-OTHER SU-OLD --reason "x"
pf_log "swap confirmation and undo: ok"
