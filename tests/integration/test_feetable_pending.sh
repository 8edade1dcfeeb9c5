#!/usr/bin/env bash
# test_feetable_pending.sh - fee tables visible per terminal (issue 15, item 8), with
# posfleet-sim terminals: a table offered with a future effective time is staged by the
# terminals, which report it at once as pending (birth and health fee_pending,
# docs/protocol.md); `posfleet device` shows the active table, the pending one and its
# effective time in the CLI user's zone; `posfleet summary` groups the fleet's tables by
# effective date; at that time the terminals switch and the card and summary follow.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"
. "$(dirname "$0")/rollout_lib.sh"

ro_stack 3 FTP
# fees VERSION EFFECTIVE_AT: a fee table for the sim's PX-500/r1 terminals, uploaded; its id.
fees() {
    cat >"$PF_TMP/fees-$1.json" <<JSON
{"schema": 1, "version": "$1", "currency": "CNY", "effective_at": "$2",
 "rates": {"debit_card": {"rate_bp": 90, "cap_minor": 500},
           "credit_card": {"rate_bp": 150, "cap_minor": 1000},
           "qr_code": {"rate_bp": 60, "cap_minor": 300},
           "contactless": {"rate_bp": 80, "cap_minor": 500}},
 "settlement": {"t0_surcharge_bp": 25, "t1_surcharge_bp": 0}, "mcc": ["5411", "5812"]}
JSON
    "$PF_PACK" create --kind fee-table --fee-table "$PF_TMP/fees-$1.json" --model PX-500 \
        --hw-rev r1 --keyring "$UPD_KEYS" --key "$UPD_KEYS/signing/fees.key" \
        -o "$PF_TMP/fees-$1.tar" >/dev/null || pf_fail "posfleet-pack create fee-table $1"
    upd_upload "$PF_TMP/fees-$1.tar"
}
field() { pf_device_field "$1" "$2"; }

# 2026.1 in effect now on two terminals; the third has no table yet.
old=$(fees 2026.1 2020-01-01T00:00:00Z)
for s in FTP00001 FTP00002; do upd_offer "$s" "$old"; done
for s in FTP00001 FTP00002; do upd_wait_status "$s" success 90; done
pf_wait_for 30 "both report fee table 2026.1" eval \
    "[[ \$(field FTP00001 '\$.fee_version') == 2026.1 && \$(field FTP00002 '\$.fee_version') == 2026.1 ]]"
[[ "$(field FTP00001 '$.fee_pending')" == "" ]] || pf_fail "a pending table before any was offered"
pf_cli device FTP00001 | grep -q "^ *fee pending *none$" || pf_fail "card: $(pf_cli device FTP00001)"

# 2026.2 effective in 45 s, offered to all three.
at_s=$(($(date +%s) + 45))
new=$(fees 2026.2 "$(date -u -d "@$at_s" +%Y-%m-%dT%H:%M:%SZ)")
for s in FTP00001 FTP00002 FTP00003; do upd_offer "$s" "$new"; done
for s in FTP00001 FTP00002 FTP00003; do upd_wait_status "$s" success 90; done
# Reported at once as pending (not at the next report interval), before the effective time.
pf_wait_for 20 "all three report 2026.2 pending" eval \
    "[[ \$(pf_sql \"select count(*) from device_state where fee_pending = '2026.2' and fee_pending_at = $at_s\") == 3 ]]"
(($(date +%s) < at_s - 5)) || pf_fail "staging took until the effective time; the test proves nothing"

# The card: the active table, the pending one and its time in the user's zone.
[[ "$(field FTP00001 '$.fee_version')" == 2026.1 ]] || pf_fail "2026.2 reported active early"
[[ "$(field FTP00001 '$.fee_pending.version')" == 2026.2 ]] || pf_fail "JSON fee_pending.version"
[[ "$(field FTP00001 '$.fee_pending.effective_ms')" == "$((at_s * 1000))" ]] ||
    pf_fail "JSON fee_pending.effective_ms: $(field FTP00001 '$.fee_pending.effective_ms')"
local_sh=$(TZ=Asia/Shanghai date -d "@$at_s" '+%Y-%m-%d %H:%M:%S +08:00')
pf_cli --tz Asia/Shanghai device FTP00001 >"$PF_TMP/card.txt" || pf_fail "posfleet device"
grep -q "^ *fee table *2026.1$" "$PF_TMP/card.txt" || pf_fail "card fee table: $(cat "$PF_TMP/card.txt")"
grep -q "^ *fee pending *2026.2 from $local_sh (in [0-9]*[sm])$" "$PF_TMP/card.txt" ||
    pf_fail "card fee pending (want $local_sh): $(grep fee "$PF_TMP/card.txt")"
pf_cli --tz Asia/Shanghai device FTP00003 | grep -q "^ *fee table *-$" ||
    pf_fail "FTP00003 card: $(pf_cli device FTP00003 | grep fee)"

# The summary: the fleet's tables by effective date.
pf_cli --tz Asia/Shanghai summary >"$PF_TMP/summary.txt" || pf_fail "posfleet summary"
sed -n '/^fee tables by effective date$/,$p' "$PF_TMP/summary.txt" >"$PF_TMP/fees.txt"
[[ "$(sed -n 2p "$PF_TMP/fees.txt" | tr -s ' ')" == " in effect 2026.1 2" ]] ||
    pf_fail "summary, in effect: $(cat "$PF_TMP/fees.txt")"
[[ "$(sed -n 3p "$PF_TMP/fees.txt" | tr -s ' ')" == " from $local_sh 2026.2 3" ]] ||
    pf_fail "summary, pending: $(cat "$PF_TMP/fees.txt")"
pf_cli --json summary >"$PF_TMP/summary.json"
for kv in '$.fee_tables[0].version=2026.1' '$.fee_tables[0].state=active' \
    '$.fee_tables[0].terminals=2' '$.fee_tables[1].version=2026.2' \
    '$.fee_tables[1].state=pending' "\$.fee_tables[1].effective_ms=$((at_s * 1000))" \
    '$.fee_tables[1].terminals=3'; do
    got=$(pf_json_get "${kv%%=*}" <"$PF_TMP/summary.json")
    [[ "$got" == "${kv#*=}" ]] || pf_fail "summary ${kv%%=*} is '$got', want '${kv#*=}'"
done

# At its time the table becomes active; the card and the summary follow.
pf_wait_for 90 "all three report 2026.2 active" eval \
    "[[ \$(pf_sql \"select count(*) from device_state where fee_version = '2026.2' and fee_pending is null\") == 3 ]]"
(($(date +%s) >= at_s)) || pf_fail "2026.2 became active before its effective time"
pf_cli device FTP00001 >"$PF_TMP/card2.txt"
grep -q "^ *fee table *2026.2$" "$PF_TMP/card2.txt" && grep -q "^ *fee pending *none$" "$PF_TMP/card2.txt" ||
    pf_fail "card after the effective time: $(grep fee "$PF_TMP/card2.txt")"
pf_cli summary | sed -n '/^fee tables by effective date$/,$p' >"$PF_TMP/fees2.txt"
[[ "$(sed -n '2,$p' "$PF_TMP/fees2.txt" | tr -s ' ')" == " in effect 2026.2 3" ]] ||
    pf_fail "summary after the effective time: $(cat "$PF_TMP/fees2.txt")"
pf_log "fee tables per terminal: pending with its time on the card and in the summary, then active"
