#!/usr/bin/env bash
# test_update_defer.sh - an offer while a sale is in progress (HAL busy) is deferred
# with reason busy and nothing is downloaded; when the sale ends the agent accepts
# by itself and the update ends in success.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"

export PF_REPORT_INTERVAL=1
upd_keys_init
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
upd_server_start
pf_cli device add DF1 --model PX-500 --hw-rev r2 >/dev/null
mkdir -p "$PF_TMP/agents/DF1/hal"
pf_hal_set DF1 busy 1
upd_agent_start DF1
pf_wait_for 30 "DF1 online" pf_device_online DF1

head -c 1000000 /dev/urandom >"$PF_TMP/fw.img"
upd_pack_fw 1.4.0 "$PF_TMP/fw.img" "$PF_TMP/fw.tar"
id=$(upd_upload "$PF_TMP/fw.tar")
upd_offer DF1 "$id"

pf_wait_for 30 "DF1 deferred" eval '[[ $(upd_status DF1) == deferred ]]'
[[ "$(pf_device_json DF1 | pf_json_get '$.update.reason')" == busy ]] || pf_fail "deferral reason is not busy"
# Nothing is downloaded during the sale.
sent0=$(curl -s "$POSFLEET_URL/metrics" | awk '/^posfleet_chunks_sent_total/ {print $2}')
[[ "$sent0" == 0 ]] || pf_fail "$sent0 chunks sent during a sale"
[[ "$(upd_events DF1 downloading)" == 0 ]] || pf_fail "downloading during a sale"

pf_hal_set DF1 busy 0
upd_wait_status DF1 success 90
[[ "$(upd_events DF1 deferred)" -ge 1 ]] || pf_fail "no deferred event recorded"
[[ "$(upd_events DF1 success)" == 1 ]] || pf_fail "success recorded $(upd_events DF1 success) times"
pf_wait_for 30 "DF1 reports 1.4.0" eval "[[ \$(pf_device_field DF1 '\$.fw_version') == 1.4.0 ]]"
pf_log "deferral while busy, then success: ok"
