#!/usr/bin/env bash
#
# test_flood.sh - a flooding terminal cannot starve the rest, with the real
# broker: FL-1 (mosquitto_pub with its own certificate) publishes thousands of
# state messages as fast as the broker takes them while QT-1 (a real agent)
# reports. posfleetd drops FL-1's excess over ingest.rate_per_s before decoding
# it, counts it posfleet_messages_rejected_total{reason="RATE"}, logs it once per
# terminal per 10 s, and QT-1's next report is committed all the same.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
pf_server_start "ingest.rate_per_s = 20
ingest.burst = 40"
F=FL-1
Q=QT-1
for s in "$F" "$Q"; do
    pf_cli_quiet device add "$s" --model PX-500 || pf_fail "device add $s"
done
pf_device_cert "$PF_PKI" "$F"
pf_agent_start "$Q"
pf_wait_for 30 "$Q online" pf_device_online "$Q"
LOG="$(pf_log_of posfleetd)"

rejected() {
    curl -s "$POSFLEET_URL/metrics" |
        awk -v r="$1" '$1 == "posfleet_messages_rejected_total{reason=\"" r "\"}" {print $2}'
}
accepted_state() {
    curl -s "$POSFLEET_URL/metrics" |
        awk '$1 == "posfleet_messages_accepted_total{type=\"state\"}" {print $2}'
}
q_seq() { pf_sql "select max(seq) from health where serial='$Q'"; }

N=5000
seq_before=$(q_seq)
state_before=$(accepted_state)
pf_log "FL-1 publishes $N messages at QoS 0 as fast as the broker takes them"
t0=$(date +%s)
# shellcheck disable=SC2046
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) print "{\"v\":1,\"state\":\"online\"}" }' |
    timeout 60 mosquitto_pub $(pf_mqtt_opts "$F") -q 0 -t "pf/v1/dev/$F/state" -l ||
    pf_fail "the flood could not be published"
t1=$(date +%s)

# Every flood message reaches posfleetd (QoS 0 on loopback may lose a few under load):
# taken or dropped RATE, and the taken ones are within the bucket.
flood_seen() { (($(rejected RATE) + $(accepted_state) - state_before >= N * 9 / 10)); }
pf_wait_for 60 "the flood to reach posfleetd" flood_seen
took=$(($(accepted_state) - state_before))
limit=$((40 + 20 * (t1 - t0 + 2) + 5))
((took <= limit)) || pf_fail "$took flood messages taken, more than the bucket allows ($limit)"
(($(rejected RATE) > N / 2)) || pf_fail "only $(rejected RATE) of $N counted RATE"

# Logged once per terminal per 10 s, with the count.
lines=$(grep -c "ingest: $F: over its rate of 20 messages/s (burst 40)" "$LOG" || true)
max_lines=$(((t1 - t0) / 10 + 2))
((lines >= 1 && lines <= max_lines)) ||
    pf_fail "$lines rate lines for $F in $((t1 - t0)) s (want 1..$max_lines)"

# The other terminal was not starved: its next report is committed.
q_newer() { [[ "$(q_seq)" -gt "$seq_before" ]]; }
pf_wait_for 20 "a report of $Q committed after the flood began" q_newer
grep -q "ingest: $Q: over its rate" "$LOG" && pf_fail "$Q was rate limited"
[[ "$(pf_device_field "$Q" '$.online')" == 1 ]] || pf_fail "$Q not online"
pf_log "OK: $took of $N taken, $(rejected RATE) dropped RATE, $lines log line(s)"
