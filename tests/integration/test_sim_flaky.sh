#!/usr/bin/env bash
# test_sim_flaky.sh - the simulator's flaky-link fault through the real stack: the sim cuts
# exactly the chosen terminals' links (shutdown on the socket) every few seconds; those
# agents reconnect on their own, and posfleetd's view of every terminal's reconnect counter
# says which ones were flaky: > 0 for each of them, 0 for all the others. A stop by signal
# prints the summary with the drops counted.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

PF_SIM="$PF_BUILD/tests/sim/posfleet-sim"
N=40
pf_require_bin "$PF_SIM"
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
PF_REPORT_INTERVAL=1 pf_server_start
work=$(pf_tmpdir sim)
state=$(mktemp -d "$( [[ -w /dev/shm ]] && echo /dev/shm || echo "$PF_TMP")/pf-sim-flaky.XXXXXX")
pf_at_exit "rm -rf '$state'"

"$PF_SIM" --count "$N" --prefix FLK --emit-csv "$work/fleet.csv"
POSFLEET_KEYS="$PF_KEYS" pf_cli device import "$work/fleet.csv" --pki "$PF_PKI" \
    --credentials-out "$work/creds" >/dev/null
pf_spawn sim "$PF_SIM" --credentials "$work/creds" --broker "127.0.0.1:$PF_BROKER_PORT" \
    --ca "$PF_PKI/ca.crt" --rate 50 --interval 1 --backoff-min 100 --backoff-max 500 \
    --fault flaky=25 --flaky-every 2 --faults-out "$work/faults" --status "$work/status.json" \
    --state-dir "$state" --seed 3
status() { pf_json_get "$1" <"$work/status.json"; }
flaky_dropped() {
    pf_alive sim || pf_fail "posfleet-sim exited"
    [[ -f "$work/status.json" && $(status '$.flaky_drops') -ge 20 ]]
}
# The faults file is written before the first status file.
pf_wait_for 30 "the sim's first status" test -f "$work/status.json"
[[ $(wc -l <"$work/faults") == 10 ]] || pf_fail "flaky=25 of $N gave $(wc -l <"$work/faults") terminals"
pf_wait_for 60 "20 links dropped by the flaky fault" flaky_dropped

reconnects_of() { pf_device_field "$1" '$.counters.reconnects'; }
flaky_seen() {
    local s
    for s in $(cut -d' ' -f1 "$work/faults"); do
        [[ $(reconnects_of "$s") -ge 1 ]] || return 1
    done
}
pf_wait_for 60 "posfleetd to see every flaky terminal reconnect" flaky_seen
for s in $(cut -d, -f1 "$work/fleet.csv" | grep '^FLK'); do
    grep -q "^$s " "$work/faults" && continue
    r=$(reconnects_of "$s")
    [[ "$r" == 0 ]] || pf_fail "$s was not flaky but reported $r reconnects"
done

pf_kill sim 15
grep -Eq 'links dropped [0-9]+ times' "$(pf_log_of sim)" || pf_fail "the summary lacks the drops"
grep -q 'flaky 10' "$(pf_log_of sim)" || pf_fail "the summary lacks the flaky count"
