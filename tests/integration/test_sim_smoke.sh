#!/usr/bin/env bash
# test_sim_smoke.sh - a few hundred simulated terminals against the real broker and
# posfleetd: the simulator and the server agree on counts (every terminal online),
# on faults (the open alerts are exactly the terminals the sim gave each fault) and on
# reconnects (after a broker restart all come back, never faster than the configured
# connect rate). Registration goes through `posfleet device import`, whose refused
# import must leave nothing behind.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

PF_SIM="$PF_BUILD/tests/sim/posfleet-sim"
N=${PF_SIM_SMOKE_N:-300}
RATE=100
pf_require_bin "$PF_SIM"
# --help documents every option the parser takes.
for opt in $(grep -o '{"[a-z-]*", [a-z_]*_argument' "$PF_SRC/tests/sim/main.c" | cut -d'"' -f2); do
    "$PF_SIM" --help | grep -q -- "--$opt" || pf_fail "posfleet-sim --help lacks --$opt"
done

pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
PF_REPORT_INTERVAL=5 pf_server_start

work=$(pf_tmpdir sim)
# The agents' state (a queue file per report, fsynced) belongs on tmpfs, as on a test rig.
state=$(mktemp -d "$( [[ -w /dev/shm ]] && echo /dev/shm || echo "$PF_TMP")/pf-sim-smoke.XXXXXX")
pf_at_exit "rm -rf '$state'"
export POSFLEET_KEYS="$PF_KEYS"

summary() { pf_cli --json summary | pf_json_get "$1"; }
status() { pf_json_get "$1" <"$work/status.json"; }
# sim_has N [MIN_CONNECTS]: the sim reports N connected (and at least MIN_CONNECTS CONNACKs);
# fails the test at once if the sim has exited.
sim_has() {
    pf_alive sim || pf_fail "posfleet-sim exited"
    [[ -f "$work/status.json" && $(status '$.connected') == "$1" &&
        $(status '$.connects') -ge "${2:-0}" ]]
}

# ---- registration: the fleet's CSV from the simulator, imported in one go -----------------
"$PF_SIM" --count "$N" --prefix SMK --models PX-500:2,A920:1 --seed 7 --emit-csv "$work/fleet.csv"
[[ $(grep -c '^SMK' "$work/fleet.csv") == "$N" ]] || pf_fail "--emit-csv did not write $N rows"

# A bad line refuses the whole file: exit 1, the line named, nothing registered, no files.
sed '5s/,PX-500,/,,/;5s/,A920,/,,/' "$work/fleet.csv" >"$work/bad.csv"
rc=0
pf_cli device import "$work/bad.csv" --pki "$PF_PKI" --credentials-out "$work/bad.creds" \
    2>"$work/bad.err" || rc=$?
[[ $rc == 1 ]] || pf_fail "a refused import exited $rc, not 1"
grep -q 'line 5' "$work/bad.err" || pf_fail "the refusal does not name line 5: $(cat "$work/bad.err")"
[[ ! -e "$work/bad.creds" ]] || pf_fail "a refused import wrote a credentials file"
[[ $(summary '$.total') == 0 ]] || pf_fail "a refused import registered terminals"
[[ ! -e "$PF_PKI/devices/SMK00001.crt" ]] || pf_fail "a refused import issued certificates"

pf_cli device import "$work/fleet.csv" --pki "$PF_PKI" --credentials-out "$work/creds" \
    >"$work/import.out"
grep -q "imported $N terminals" "$work/import.out" || pf_fail "import said: $(cat "$work/import.out")"
[[ $(summary '$.total') == "$N" ]] || pf_fail "posfleetd has $(summary '$.total') terminals, not $N"
[[ $(grep -c '^SMK' "$work/creds") == "$N" ]] || pf_fail "credentials file lacks rows"
[[ $(summary '$.models.A920') == $(grep -c ',A920,' "$work/fleet.csv") ]] ||
    pf_fail "model mix differs between the CSV and posfleetd"

# ---- the fleet ------------------------------------------------------------------------------
pf_spawn sim "$PF_SIM" --credentials "$work/creds" --broker "127.0.0.1:$PF_BROKER_PORT" \
    --ca "$PF_PKI/ca.crt" --rate "$RATE" --interval 5 --backoff-min 200 --backoff-max 2000 \
    --fault battery_low=5 --fault paper_out=3 --fault tamper=2 --fault selftest_fail=4 \
    --faults-out "$work/faults" --status "$work/status.json" --state-dir "$state" \
    --seed 42 --json
pf_wait_for 120 "the sim to connect all $N" sim_has "$N"
pf_wait_for 30 "posfleetd to see all $N online" eval "[[ \$(summary '\$.online') == $N ]]"

# Faults: exact counts, and exactly the serials the simulator chose.
declare -A kind=([battery_low]=battery_critical [paper_out]=paper_out [tamper]=tamper
    [selftest_fail]=selftest_failed)
declare -A want=([battery_low]=15 [paper_out]=9 [tamper]=6 [selftest_fail]=12)
for f in "${!kind[@]}"; do
    [[ $(grep -c " $f\$" "$work/faults") == "${want[$f]}" ]] ||
        pf_fail "sim gave $f to $(grep -c " $f\$" "$work/faults") terminals, not ${want[$f]}"
done
alerts_of() {
    pf_cli --json alerts >"$work/alerts.json"
    sqlite3 -batch -noheader :memory: "select json_extract(value,'\$.serial')||' '||
        json_extract(value,'\$.kind') from json_each(cast(readfile('$work/alerts.json') as text),
        '\$.alerts') where json_extract(value,'\$.kind') = '$1' order by 1;"
}
faults_as_alerts() { grep " $1\$" "$work/faults" | sed "s/ $1\$/ ${kind[$1]}/" | sort; }
alerts_match() {
    local f
    for f in "${!kind[@]}"; do
        diff <(faults_as_alerts "$f") <(alerts_of "${kind[$f]}") >/dev/null || return 1
    done
}
pf_wait_for 30 "posfleetd's alerts to match the sim's faults" alerts_match
[[ $(summary '$.alerts.silent') == 0 ]] || pf_fail "terminals reported silent"

# ---- broker restart: everyone comes back, paced by the gate ---------------------------------
connects_before=$(status '$.connects')
pf_broker_restart
pf_wait_for 120 "all $N to reconnect after the broker restart" \
    sim_has "$N" $((connects_before + N))
pf_wait_for 30 "posfleetd to see all $N online again" eval "[[ \$(summary '\$.online') == $N ]]"
peak=$(status '$.peak_attempts_per_s')
((peak <= RATE)) || pf_fail "peak connection attempts $peak/s above the configured $RATE/s"
# The broker's own view, in its wall-clock seconds: sessions completing in a second were
# attempted in it (<= RATE) or were in flight at its start (<= RATE/2, the sim's cap).
bpeak=$(awk '/New client connected .* as SMK/ { sub(":", "", $1); n[$1]++ }
    END { m = 0; for (s in n) if (n[s] > m) m = n[s]; print m }' "$(pf_log_of mosquitto)")
((bpeak <= RATE + RATE / 2)) || pf_fail "the broker saw $bpeak connections in one second (rate $RATE)"
[[ $(status '$.reconnects') -ge "$N" ]] || pf_fail "the sim counted fewer than $N reconnects"
pf_wait_for 30 "alerts still matching after the restart" alerts_match

# ---- graceful stop: every terminal goes offline through its will ------------------------------
pf_kill sim 15
grep -q '"terminals": '"$N" "$(pf_log_of sim)" || pf_fail "no JSON summary from the sim"
pf_wait_for 30 "posfleetd to see all offline" eval "[[ \$(summary '\$.online') == 0 ]]"
pf_log "ok: $N terminals, faults and a broker restart agree (peak $peak/s, broker $bpeak/s)"
