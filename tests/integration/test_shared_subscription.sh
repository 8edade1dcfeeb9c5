#!/usr/bin/env bash
# test_shared_subscription.sh - two posfleetd instances share the device topics
# through an MQTT v5 shared subscription (mqtt.shared_group = posfleetd) on the
# real broker:
#   - each instance has its own identity: posfleetd and posfleetd-2, each a
#     client certificate from posfleet-keys (the broker takes the client id
#     from the CN, so two instances with one certificate would take over each
#     other's session);
#   - the ACL decides: before posfleetd-2 has its `user` block, its shared
#     subscription gets SUBACK 135 from the posfleet_acl plugin; after the
#     block is added and the broker re-reads the file (SIGHUP) it is granted;
#   - 30 simulated terminals report every second for 12 s; every report the
#     broker acknowledged is stored by exactly one instance: no (serial, seq)
#     in both databases or twice in one, at least as many rows as
#     acknowledged reports, no more than were made, and both instances take
#     a share.
# Each instance keeps its own SQLite file here (two posfleetd cannot share
# one; the PostgreSQL store is what several instances will share), so both
# registries hold the fleet.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

PF_SIM="$PF_BUILD/tests/sim/posfleet-sim"
N=30
pf_require_bin "$PF_SIM"
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
"$PF_KEYS" server-cert --dir "$PF_PKI" --cn posfleetd-2 >/dev/null ||
    pf_fail "posfleet-keys server-cert posfleetd-2 failed"
# shellcheck disable=SC2016 # $share is a literal topic prefix
SHARED='$share/posfleetd/pf/v1/dev/+/+'

suback() {
    # shellcheck disable=SC2046
    timeout 10 mosquitto_sub $(pf_mqtt_opts posfleetd-2) -d -q 1 -t "$SHARED" -E -W 5 2>&1 |
        grep -F 'Subscribed (mid' | head -1
}
got="$(suback)"
[[ "$got" == "Subscribed (mid: 1): 135" ]] ||
    pf_fail "posfleetd-2 without an ACL block: expected SUBACK 135, got '$got'"
cat >>"$PF_BROKER_DIR/posfleet.acl" <<'ACL'

# A second posfleetd instance (docs/operations.md, "Several instances").
user posfleetd-2
topic read pf/v1/dev/#
topic write pf/v1/cmd/#
ACL
kill -HUP "$PF_BROKER_PID"
granted() { [[ "$(suback)" == "Subscribed (mid: 1): 1" ]]; }
pf_wait_for 20 "posfleetd-2's shared subscription to be granted after SIGHUP" granted
pf_log "posfleetd-2: refused without its ACL block, granted with it"

# Instance 1 through the harness, instance 2 beside it.
PF_REPORT_INTERVAL=1 pf_server_start "mqtt.shared_group = posfleetd
mqtt.client_id = posfleetd"
URL1="$POSFLEET_URL"
STORE1="$PF_STORE"
dir2="$(pf_tmpdir server2)"
PORT2="$(pf_free_port)"
STORE2="$dir2/posfleetd.db"
read -r crt2 key2 < <(pf_cert_of posfleetd-2)
sed -e "s|^mqtt.cert = .*|mqtt.cert = $crt2|" -e "s|^mqtt.key = .*|mqtt.key = $key2|" \
    -e "s|^mqtt.client_id = .*|mqtt.client_id = posfleetd-2|" \
    -e "s|^store.path = .*|store.path = $STORE2|" -e "s|^http.port = .*|http.port = $PORT2|" \
    "$PF_TMP/server/posfleetd.conf" >"$dir2/posfleetd.conf"
pf_spawn posfleetd2 "$PF_SERVERD" -c "$dir2/posfleetd.conf"
URL2="http://127.0.0.1:$PORT2"
POSFLEET_URL="$URL2" pf_wait_for 20 "posfleetd-2 to answer" pf_cli_quiet summary
for log in posfleetd posfleetd2; do
    pf_wait_for 20 "$log to subscribe to $SHARED" grep -qF "mqtt: subscribed to $SHARED (QoS 1)" \
        "$(pf_log_of "$log")"
done

work="$(pf_tmpdir sim)"
"$PF_SIM" --count "$N" --prefix SHR --emit-csv "$work/fleet.csv"
POSFLEET_KEYS="$PF_KEYS" POSFLEET_URL="$URL1" pf_cli device import "$work/fleet.csv" \
    --pki "$PF_PKI" --credentials-out "$work/creds" >/dev/null
POSFLEET_URL="$URL2" pf_cli device import "$work/fleet.csv" >/dev/null
state="$(pf_tmpdir sim-state)"
"$PF_SIM" --credentials "$work/creds" --broker "127.0.0.1:$PF_BROKER_PORT" --ca "$PF_PKI/ca.crt" \
    --rate 50 --interval 1 --jitter 0 --backoff-min 100 --backoff-max 500 --duration 12 \
    --state-dir "$state" --json --quiet >"$work/summary.json" 2>"$(pf_log_of sim)" ||
    pf_fail "posfleet-sim failed"
made="$(pf_json_get '$.reports_made' <"$work/summary.json")"
acked="$(pf_json_get '$.reports_acked' <"$work/summary.json")"
((acked >= N * 5)) || pf_fail "only $acked reports acknowledged by the broker"

rows() { sqlite3 -batch -noheader "$1" "SELECT serial || ' ' || seq FROM health"; }
stored_all() {
    local n1 n2
    n1="$(rows "$STORE1" | wc -l)"
    n2="$(rows "$STORE2" | wc -l)"
    ((n1 + n2 >= acked))
}
pf_wait_for 30 "the instances to store the $acked acknowledged reports" stored_all
# Late batches: both instances flush within store.batch_ms; wait for the counts to settle.
settled() {
    local a b
    a="$(rows "$STORE1" | wc -l) $(rows "$STORE2" | wc -l)"
    sleep 0.3
    b="$(rows "$STORE1" | wc -l) $(rows "$STORE2" | wc -l)"
    [[ "$a" == "$b" ]]
}
pf_wait_for 10 "the stores to settle" settled
rows "$STORE1" | sort >"$work/rows1"
rows "$STORE2" | sort >"$work/rows2"
n1="$(wc -l <"$work/rows1")"
n2="$(wc -l <"$work/rows2")"
dup_in="$(sort "$work/rows1" "$work/rows2" | uniq -d | wc -l)"
both="$(comm -12 "$work/rows1" "$work/rows2" | wc -l)"
pf_log "reports made $made, acknowledged $acked; stored by posfleetd $n1, by posfleetd-2 $n2; in both $both, doubled $dup_in"
((both == 0)) || pf_fail "$both reports were stored by both instances"
((dup_in == 0)) || pf_fail "$dup_in reports stored twice"
((n1 + n2 >= acked)) || pf_fail "lost: $((acked - n1 - n2)) acknowledged reports in neither store"
((n1 + n2 <= made)) || pf_fail "$((n1 + n2)) rows for $made reports made"
# Mosquitto hands a shared subscription's messages round-robin: both work.
((n1 * 5 >= n1 + n2 && n2 * 5 >= n1 + n2)) ||
    pf_fail "one instance took almost nothing: $n1 / $n2"
# Every terminal reached the fleet view of at least one instance.
seen1="$(sqlite3 -batch -noheader "$STORE1" "SELECT serial FROM device_state" | sort)"
seen2="$(sqlite3 -batch -noheader "$STORE2" "SELECT serial FROM device_state" | sort)"
seen="$(printf '%s\n%s\n' "$seen1" "$seen2" | grep -c . || true)"
union="$(printf '%s\n%s\n' "$seen1" "$seen2" | sort -u | grep -c '^SHR' || true)"
((union == N)) || pf_fail "only $union of $N terminals reached an instance ($seen rows)"
pf_log "PASS"
