#!/usr/bin/env bash
# test_update_rollback.sh - the new firmware's self-test fails after the reboot
# (HAL screen self-test set to fail while the terminal is "off"): the agent falls
# back to the previous slot, reboots again, and posfleetd records rolled_back with
# the self-test code, once; the terminal keeps running 1.0.0 from slot a.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"

export PF_REPORT_INTERVAL=1
upd_keys_init
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
upd_server_start
pf_cli device add RB1 --model PX-500 --hw-rev r2 >/dev/null
upd_agent_start RB1
pf_wait_for 30 "RB1 online" pf_device_online RB1

head -c 1000000 /dev/urandom >"$PF_TMP/fw.img"
upd_pack_fw 1.2.0 "$PF_TMP/fw.img" "$PF_TMP/fw.tar"
id=$(upd_upload "$PF_TMP/fw.tar")
upd_offer RB1 "$id"

# The first reboot: while the terminal is off, its screen breaks.
pf_wait_for 60 "RB1 to ask for the reboot into the new slot" \
    eval '(( $(upd__reboots RB1) >= 1 )) && upd__exited RB1'
pf_hal_set RB1 screen fail
upd_wait_status RB1 rolled_back 90
[[ "$(upd_boots RB1)" == 2 ]] || pf_fail "RB1 rebooted $(upd_boots RB1) times, want 2"
code=$(pf_device_json RB1 | pf_json_get '$.update.code')
[[ "$code" == SELFTEST* ]] || pf_fail "rolled_back code '$code', want SELFTEST:..."
[[ "$(upd_events RB1 rolled_back)" == 1 ]] || pf_fail "rolled_back recorded $(upd_events RB1 rolled_back) times"
[[ "$(upd_events RB1 success)" == 0 ]] || pf_fail "a success was recorded"
pf_wait_for 30 "RB1 reports 1.0.0 from slot a" \
    eval "[[ \$(pf_device_field RB1 '\$.fw_version') == 1.0.0 && \$(pf_device_field RB1 '\$.fw_slot') == a ]]"
pf_cli device RB1 | grep "rolled_back: SELFTEST" >/dev/null || pf_fail "posfleet device does not show the rollback"
pf_log "self-test failure rolled back: ok"
