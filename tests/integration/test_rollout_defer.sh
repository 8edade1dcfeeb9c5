#!/usr/bin/env bash
# test_rollout_defer.sh - a rollout re-offers after a deferral: a terminal in the middle
# of sales (HAL busy) defers the rollout's offer; it does not hold a download slot (a
# second terminal is offered at once with max_concurrent 1), and when the offer's
# deadline (timeout_s) passes - the terminal drops it, failed DEADLINE, which is not a
# failure of the update - posfleetd offers it again; once the sale is over the terminal
# installs. Nothing is downloaded while it is busy, and the rollout never pauses.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"

export PF_REPORT_INTERVAL=1
upd_keys_init
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
upd_server_start "rollout.tick_ms = 200"
for s in RDF1 RDF2; do
    pf_cli device add "$s" --model PX-500 --hw-rev r2 >/dev/null
    mkdir -p "$PF_TMP/agents/$s/hal"
done
pf_hal_set RDF1 busy 1
upd_agent_start RDF1
upd_agent_start RDF2
pf_wait_for 30 "both online" eval "pf_device_online RDF1 && pf_device_online RDF2"

head -c 200000 /dev/urandom >"$PF_TMP/fw.img"
upd_pack_fw 2.0.0 "$PF_TMP/fw.img" "$PF_TMP/fw.tar"
fw=$(upd_upload "$PF_TMP/fw.tar")
id=$(pf_cli --json rollout create "$fw" --cohort "serials=RDF1,RDF2" --stages 100% \
    --window 00:00-24:00 --soak 1s --max-concurrent 1 --update-timeout 20s --retry 20s |
    pf_json_get '$.id')
member() { pf_sql "select $2 from rollout_members where rollout = $id and serial = '$1'"; }

# RDF1 or RDF2 first (hash order); either way RDF1 defers and RDF2 still gets its turn.
pf_wait_for 60 "RDF1 to defer" eval "[[ \$(member RDF1 status) == deferred ]]"
[[ $(member RDF1 code) == busy ]] || pf_fail "deferral code $(member RDF1 code)"
upd_wait_status RDF2 success 60 # restarting RDF2's agent for its reboot
pf_wait_for 20 "RDF2's member to be installed" eval "[[ \$(member RDF2 status) == installed ]]"
[[ $(member RDF1 status) =~ ^(deferred|pending|offered)$ ]] ||
    pf_fail "RDF1 is $(member RDF1 status) while still busy"
pf_wait_for 60 "posfleetd to offer RDF1 again after the deadline" eval \
    "[[ \$(member RDF1 attempts) -ge 2 ]]"
[[ $(upd_events RDF1 downloading) == 0 ]] || pf_fail "RDF1 downloaded during a sale"
pf_hal_set RDF1 busy 0
upd_wait_status RDF1 success 120
pf_wait_for 30 "the rollout to complete" eval \
    "[[ \$(pf_cli --json rollout show $id | pf_json_get '\$.state') == completed ]]"
[[ $(upd_events RDF1 success) == 1 ]] || pf_fail "success recorded $(upd_events RDF1 success) times"
[[ $(pf_sql "select count(*) from audit where action = 'rollout.pause'") == 0 ]] ||
    pf_fail "a deferral paused the rollout"
pf_log "RDF1 deferred, was offered $(member RDF1 attempts) times, installed after the sale"
