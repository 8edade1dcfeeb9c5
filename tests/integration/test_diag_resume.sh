#!/usr/bin/env bash
# test_diag_resume.sh - an archive transfer survives its ends going away: the
# terminal answers while posfleetd is down (the broker keeps the answer in
# posfleetd's session), posfleetd asks for the chunks while the terminal is
# frozen, posfleetd restarts in the middle of the transfer, and the transfer
# still completes from the offset stored, digest checked.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/diag_lib.sh"

export PF_REPORT_INTERVAL=1
diag_stack
diag_agent DG-RS
pid=$(pf_pid_of agent-DG-RS)
alog=$(pf_log_of agent-DG-RS)

kill -STOP "$pid"
id=$(diag_post DG-RS archive '{}' 300)
[[ -n "$id" ]] || pf_fail "archive request refused"
pf_server_stop
kill -CONT "$pid"
pf_wait_for 20 "the terminal built the archive" grep -q "diag $id: archive of" "$alog"
kill -STOP "$pid"

pf_server_start
pf_wait_for 20 "the answer stored after the restart" \
    eval "[[ \$(diag_field $id '\$.archive.state') == transferring ]]"
[[ "$(diag_field "$id" '$.archive.received')" == 0 ]] || pf_fail "chunks from a frozen terminal?"
pf_server_stop
pf_server_start
grep -q "diag $id: archive" "$(pf_log_of posfleetd)" && pf_fail "transfer ended before the terminal was back"
kill -CONT "$pid"
pf_wait_for 30 "the transfer to complete" eval "[[ \$(diag_field $id '\$.archive.state') == complete ]]"
[[ "$(diag_field "$id" '$.archive.received')" == "$(diag_field "$id" '$.archive.size')" ]] ||
    pf_fail "received != size"
curl -sf -H "Authorization: Bearer $(cat "$PF_TOKEN_SUPPORT")" -o "$PF_TMP/a.tgz" \
    "$POSFLEET_URL/v1/diag/$id/archive" || pf_fail "download"
tar -tzf "$PF_TMP/a.tgz" >"$PF_TMP/list" || pf_fail "the archive is not a readable .tar.gz"
grep -qx logs.txt "$PF_TMP/list" || pf_fail "no logs.txt in the archive"
[[ "$(b2sum -l 256 "$PF_TMP/a.tgz" | cut -d' ' -f1)" == "$(diag_field "$id" '$.archive.digest')" ]] ||
    pf_fail "digest"

pf_log "archive transfer resumes: ok"
