#!/usr/bin/env bash
# test_update_resume.sh - a download cut by a broker restart resumes where it
# stopped: the broker goes away after the first quarter, comes back, and the
# update ends in success with posfleetd having served well under 1.25 x the bundle
# (a restart from zero would need at least that).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"

export PF_REPORT_INTERVAL=1
upd_keys_init
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
upd_server_start
pf_cli device add RS1 --model PX-500 --hw-rev r2 >/dev/null
# Small chunks, one at a time: the transfer lasts long enough to be cut.
upd_agent_start RS1 update.chunk_kb=1 update.window=1
pf_wait_for 30 "RS1 online" pf_device_online RS1

head -c 12000000 /dev/urandom >"$PF_TMP/fw.img"
upd_pack_fw 1.5.0 "$PF_TMP/fw.img" "$PF_TMP/fw.tar"
size=$(stat -c %s "$PF_TMP/fw.tar")
id=$(upd_upload "$PF_TMP/fw.tar")
upd_offer RS1 "$id"

pf_wait_for 60 "RS1 a quarter downloaded" \
    eval "[[ \$(pf_sql \"select count(*) from update_events where serial='RS1' and status='downloading' and percent>=25\") -ge 1 ]]"
pf_broker_stop
sent=$(curl -s "$POSFLEET_URL/metrics" | awk '/^posfleet_chunk_bytes_total/ {print $2}')
((sent < size)) || pf_fail "the download finished before the broker stopped ($sent of $size bytes)"
pf_log "broker stopped after $sent of $size bytes"
pf_broker_restart
upd_wait_status RS1 success 180
total=$(curl -s "$POSFLEET_URL/metrics" | awk '/^posfleet_chunk_bytes_total/ {print $2}')
pf_log "posfleetd served $total bytes for a $size byte bundle"
((total * 100 < size * 110)) || pf_fail "served $total bytes for $size: the download started over"
[[ "$(upd_events RS1 success)" == 1 ]] || pf_fail "success recorded $(upd_events RS1 success) times"
cmp -n 12000000 "$PF_TMP/fw.img" "$PF_TMP/agents/RS1/slot_b" || pf_fail "slot b does not hold the image"
pf_log "download resumed across a broker restart: ok"
