#!/usr/bin/env bash
# test_update_feetable.sh - a fee table that takes effect in the future: the agent
# downloads and stages it (success recorded once, "pending until effective_at"),
# keeps the current table until then, and activates it at its effective-at time even
# while it is offline (the broker is down then); once back, it reports the new version.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"

export PF_REPORT_INTERVAL=1
upd_keys_init
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
upd_server_start
pf_cli device add FT1 --model PX-500 --hw-rev r2 >/dev/null
upd_agent_start FT1
pf_wait_for 30 "FT1 online" pf_device_online FT1
fees="$PF_TMP/agents/FT1/fees"

# Now: version 2026.1 active at once (effective in the past).
upd_pack_fees 2026.1 "2020-01-01T00:00:00Z" "$PF_TMP/fees1.tar"
id1=$(upd_upload "$PF_TMP/fees1.tar")
upd_offer FT1 "$id1"
upd_wait_status FT1 success 60
pf_wait_for 30 "FT1 reports fee table 2026.1" \
    eval "[[ \$(pf_device_field FT1 '\$.fee_version') == 2026.1 ]]"

# Then: version 2026.2 effective in 12 seconds.
at_s=$(($(date +%s) + 12))
upd_pack_fees 2026.2 "$(date -u -d "@$at_s" +%Y-%m-%dT%H:%M:%SZ)" "$PF_TMP/fees2.tar"
id2=$(upd_upload "$PF_TMP/fees2.tar")
pf_cli bundles | grep "fee-table  2026.2" >/dev/null || pf_fail "posfleet bundles does not list the fee table"
upd_offer FT1 "$id2"
upd_wait_status FT1 success 60
(($(date +%s) < at_s)) || pf_fail "the download took until the effective time; the test proves nothing"
[[ "$(upd_events FT1 success)" == 2 ]] || pf_fail "success events: $(upd_events FT1 success), want 2"
pf_sql "select message from update_events where serial='FT1' and status='success' order by seq desc limit 1" |
    grep -q pending || pf_fail "the success does not say pending"
grep -q '"version": *"2026.1"' "$fees/active.json" || pf_fail "2026.2 became active early"
[[ "$(pf_device_field FT1 '$.fee_version')" == 2026.1 ]] || pf_fail "FT1 reports 2026.2 early"

# Offline at the effective time: the table still switches on time.
pf_broker_stop
pf_wait_for 30 "2026.2 active at its effective time, offline" \
    eval "grep -q '\"version\": *\"2026.2\"' '$fees/active.json'"
(($(date +%s) >= at_s)) || pf_fail "2026.2 became active before its effective time"
grep -q '"version": *"2026.1"' "$fees/previous.json" || pf_fail "the previous table was not kept"
pf_broker_restart
pf_wait_for 60 "FT1 reports fee table 2026.2" \
    eval "[[ \$(pf_device_field FT1 '\$.fee_version') == 2026.2 ]]"
pf_log "fee table activated at its effective time: ok"
