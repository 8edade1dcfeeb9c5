#!/usr/bin/env bash
# test_update_tamper.sh - a chunk stream that does not match the signed manifest:
# after a verified upload, bytes of the stored artifact's payload are flipped on the
# server side. The agent refuses the download with DIGEST, reports it (recorded once
# as refused), never switches slots, and keeps running 1.0.0.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"

export PF_REPORT_INTERVAL=1
upd_keys_init
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
upd_server_start
pf_cli device add TM1 --model PX-500 --hw-rev r2 >/dev/null
upd_agent_start TM1
pf_wait_for 30 "TM1 online" pf_device_online TM1

head -c 2000000 /dev/urandom >"$PF_TMP/fw.img"
upd_pack_fw 1.3.0 "$PF_TMP/fw.img" "$PF_TMP/fw.tar"
id=$(upd_upload "$PF_TMP/fw.tar")
art="$PF_TMP/server/artifacts/$id.bundle"
[[ -f "$art" ]] || pf_fail "artifact $art missing"
# The payload is the last tar entry: flip bytes well inside it.
printf '\x00\xff\x00\xff' | dd of="$art" bs=1 seek=$(($(stat -c %s "$art") - 100000)) conv=notrunc status=none
cmp -s "$art" "$PF_TMP/fw.tar" && pf_fail "the artifact was not modified"

upd_offer TM1 "$id"
upd_wait_status TM1 refused 60
code=$(pf_device_json TM1 | pf_json_get '$.update.code')
[[ "$code" == DIGEST ]] || pf_fail "refused with '$code', want DIGEST"
[[ "$(upd_events TM1 refused)" == 1 ]] || pf_fail "refused recorded $(upd_events TM1 refused) times"
for st in installing rebooting success; do
    [[ "$(upd_events TM1 $st)" == 0 ]] || pf_fail "a tampered download reached $st"
done
[[ "$(upd_boots TM1)" == 0 ]] || pf_fail "TM1 rebooted"
[[ "$(pf_device_field TM1 '$.fw_version')" == 1.0.0 ]] || pf_fail "TM1 firmware changed"
[[ "$(pf_device_field TM1 '$.fw_slot')" == a ]] || pf_fail "TM1 slot changed"
pf_log "tampered chunk stream refused: ok"
