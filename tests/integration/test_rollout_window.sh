#!/usr/bin/env bash
# test_rollout_window.sh - a rollout waits for each terminal's maintenance window, in
# the terminal's local time: with a window two hours ahead of UTC, the unbound terminals
# (rollout.default_tz UTC) are not offered anything and the rollout says why, while the
# one terminal bound to a merchant in UTC+2 (Etc/GMT-2) is inside its window and updates.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"
. "$(dirname "$0")/rollout_lib.sh"

N=10
ro_stack $N RW
fw=$(ro_fw_bundle 2.0.0)
pf_cli merchant add M-EAST --uscc 9144030071526726XG --name "East Shop" --address "1 Quay" \
    --contact "Li Lei" --phone 13800000000 --settlement T1 --mcc 5411 --tz Etc/GMT-2 >/dev/null
pf_cli merchant approve M-EAST >/dev/null
pf_cli bind RW00003 M-EAST >/dev/null

# One hour starting two hours from now, UTC: now in UTC+2.
start=$(date -u -d '+2 hours' +%H:%M)
end=$(date -u -d '+3 hours' +%H:%M)
id=$(pf_cli --json rollout create "$fw" --stages 100% --soak 1s --window "$start-$end" |
    pf_json_get '$.id')

waiting_outside() {
    [[ "$(ro_json "$id" '$.waiting')" == "outside maintenance window: $((N - 1)) terminals" ]]
}
pf_wait_for 60 "the rollout to say the others are outside their window" waiting_outside
pf_wait_for 120 "RW00003 (UTC+2, inside its window) to install" eval \
    "[[ \$(pf_sql \"select status from rollout_members where rollout = $id and serial = 'RW00003'\") == installed ]]"
# A few more scheduler passes: still nobody else offered.
ticks=$(($(pf_sql "select count(*) from audit") + 0))
for _ in 1 2 3; do waiting_outside || pf_fail "waiting: $(ro_json "$id" '$.waiting')"; done
[[ $(pf_sql "select count(*) from update_offers") == 1 ]] ||
    pf_fail "$(pf_sql "select count(*) from update_offers") offers; only RW00003 is inside its window"
[[ $(ro_count "$id" pending) == $((N - 1)) ]] || pf_fail "pending: $(ro_count "$id" pending)"
ro_state_is "$id" running || pf_fail "state $(ro_json "$id" '$.state')"
ro_exact "$id"
pf_log "window $start-$end UTC: 1 terminal in UTC+2 updated, $((N - 1)) wait ($ticks audit rows)"
