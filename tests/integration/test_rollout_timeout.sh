#!/usr/bin/env bash
# test_rollout_timeout.sh - a terminal that goes silent in the middle of a rollout's
# download (its agent frozen with SIGSTOP) is marked timed_out after the rollout's
# timeout_s, counted as a failure (the rollout pauses on the failure rate, the histogram
# says TIMEOUT); when it wakes up past the offer's deadline it abandons the update by
# itself and that outcome (failed DEADLINE) replaces the timeout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"

export PF_REPORT_INTERVAL=1
upd_keys_init
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
upd_server_start "rollout.tick_ms = 200"
pf_cli device add TMO1 --model PX-500 --hw-rev r2 >/dev/null
# 1 KiB chunks, one in flight: the download takes long enough to freeze it midway.
upd_agent_start TMO1 update.chunk_kb=1 update.window=1 update.stall_s=3600
pf_wait_for 30 "TMO1 online" pf_device_online TMO1

head -c 8000000 /dev/urandom >"$PF_TMP/fw.img"
upd_pack_fw 2.0.0 "$PF_TMP/fw.img" "$PF_TMP/fw.tar"
fw=$(upd_upload "$PF_TMP/fw.tar")
id=$(pf_cli --json rollout create "$fw" --stages 100% --window 00:00-24:00 --soak 1s \
    --update-timeout 10s --min-sample 1 | pf_json_get '$.id')
member() { pf_sql "select $1 from rollout_members where rollout = $id and serial = 'TMO1'"; }

pf_wait_for 60 "TMO1 to start downloading" eval "[[ \$(member status) == downloading ]]"
pid=$(pf_pid_of agent-TMO1)
kill -STOP "$pid"
pf_at_exit "kill -CONT $pid 2>/dev/null || true"
t0=$SECONDS
pf_wait_for 40 "the rollout to time TMO1 out" eval "[[ \$(member status) == timed_out ]]"
((SECONDS - t0 >= 8)) || pf_fail "timed out after $((SECONDS - t0)) s, before timeout_s (10 s)"
[[ $(member code) == TIMEOUT ]] || pf_fail "code $(member code)"
pf_wait_for 20 "the rollout to pause on the failure rate" eval \
    "[[ \$(pf_cli --json rollout show $id | pf_json_get '\$.pause.reason') == failure_rate ]]"
pf_cli --json rollout show "$id" >"$PF_TMP/show.json"
[[ $(pf_json_get '$.failures[0].code' <"$PF_TMP/show.json") == TIMEOUT ]] ||
    pf_fail "histogram: $(pf_json_get '$.failures' <"$PF_TMP/show.json")"
[[ $(pf_json_get '$.totals.timed_out' <"$PF_TMP/show.json") == 1 ]] || pf_fail "totals"

# It wakes up after the offer's deadline (which is the rollout's timeout): the terminal
# abandons the update by itself, still on its old firmware, and that outcome replaces
# the timeout. The paused rollout offers nothing more.
kill -CONT "$pid"
pf_wait_for 60 "TMO1's own outcome to replace the timeout" eval "[[ \$(member status) == failed ]]"
[[ $(member code) == DEADLINE ]] || pf_fail "code $(member code), want DEADLINE"
[[ $(pf_device_field TMO1 '$.fw_version') == 1.0.0 ]] || pf_fail "TMO1 left 1.0.0"
[[ $(pf_sql "select count(*) from update_offers where serial = 'TMO1'") == 1 ]] ||
    pf_fail "TMO1 was offered again"
pf_log "TMO1 timed out after $((SECONDS - t0)) s of silence; it then gave up by itself"
