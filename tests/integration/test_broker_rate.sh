#!/usr/bin/env bash
#
# test_broker_rate.sh - the posfleet_acl plugin limits each terminal's publish
# rate in the broker, against the real Mosquitto (issue 14, item 8):
#   - a terminal flooding its health leaf at QoS 1 gets its burst and its rate
#     through, and nothing more reaches a privileged subscriber: the excess is
#     refused (PUBACK 135) and never forwarded;
#   - another terminal's publishes, during and after the flood, are delivered;
#   - the flooder's chunk requests have a bucket of their own and still pass;
#   - a privileged identity (a `user` block, as posfleetd) is never limited;
#   - the broker logs the refusals once per terminal per 10 s.
#
# Negative checks are closed by a marker sent after the flood: the flooder's
# mosquitto_pub exits once every PUBACK is in, so the broker has judged every
# flood message before the marker.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

RATE=5
BURST=20
N=300 # flood messages, far above BURST + RATE × the seconds they take
PKI="$(pf_tmpdir pki)"
pf_pki_init "$PKI"
F=TF-0001 # the flooder
Q=TQ-0002 # a quiet terminal
OPS=pf-rate-ops # a privileged identity of this test: reads every report
SVC=pf-rate-svc # another, that writes reports (a second OPS connection would take over)
for s in "$F" "$Q" "$OPS" "$SVC"; do
    pf_device_cert "$PKI" "$s"
done
PF_BROKER_PUB_RATE=$RATE PF_BROKER_PUB_BURST=$BURST pf_broker_start "$PKI"
grep -qF "terminal publishes limited to $RATE/s (burst $BURST)" "$(pf_log_of mosquitto)" ||
    pf_fail "the plugin did not report its publish limit"

acl="$PF_BROKER_DIR/posfleet.acl"
printf '\nuser %s\ntopic read pf/v1/dev/#\n\nuser %s\ntopic write pf/v1/dev/#\n' "$OPS" "$SVC" >>"$acl"
kill -HUP "$PF_BROKER_PID"
ops_can_read() {
    # shellcheck disable=SC2046
    timeout 10 mosquitto_sub $(pf_mqtt_opts "$OPS") -d -t "pf/v1/dev/$F/#" -E -W 5 2>&1 |
        grep -qF 'Subscribed (mid: 1): 0'
}
pf_wait_for 15 "the reloaded ACL to let $OPS read the reports" ops_can_read

pf_mqtt_sub_spawn observer "$OPS" -q 1 -t 'pf/v1/dev/#'
has_line() { grep -qxF -- "$1" "$(pf_log_of observer)"; }
count_of() { grep -c -- "$1" "$(pf_log_of observer)" || true; }
observer_ready() {
    pf_mqtt_pub "$Q" -q 1 -t "pf/v1/dev/$Q/health" -m ready >/dev/null 2>&1 || return 1
    has_line "pf/v1/dev/$Q/health ready"
}
pf_wait_for 15 "the observer to subscribe" observer_ready

pf_log "1. $F floods $N health reports at QoS 1"
t0=$(date +%s%N)
seq 1 "$N" | sed 's/^/flood-/' |
    pf_mqtt_pub "$F" -q 1 -t "pf/v1/dev/$F/health" -l >"$PF_TMP/logs/flooder.log" 2>&1 || true
t1=$(date +%s%N)
pf_mqtt_pub "$Q" -q 1 -t "pf/v1/dev/$Q/health" -m marker-1
pf_wait_for 15 "$Q's marker" has_line "pf/v1/dev/$Q/health marker-1"
got=$(count_of "^pf/v1/dev/$F/health flood-")
secs=$(((t1 - t0 + 999999999) / 1000000000))
max=$((BURST + RATE * (secs + 1)))
pf_log "$got of $N flood reports delivered in about $secs s (at most $max allowed)"
((got >= BURST)) || pf_fail "only $got of the burst of $BURST got through"
((got <= max)) || pf_fail "$got flood reports delivered, more than $BURST + $RATE × $secs s"
# The first BURST are the first sent.
for i in $(seq 1 "$BURST"); do
    has_line "pf/v1/dev/$F/health flood-$i" || pf_fail "flood-$i (within the burst) was refused"
done

pf_log "2. the flooder's chunk requests have their own bucket"
pf_mqtt_pub "$F" -q 1 -t "pf/v1/dev/$F/chunkreq" -m chunk-1
pf_wait_for 15 "$F's chunk request" has_line "pf/v1/dev/$F/chunkreq chunk-1"

pf_log "3. a privileged identity is never limited"
seq 1 "$N" | sed 's/^/ops-/' | pf_mqtt_pub "$SVC" -q 1 -t "pf/v1/dev/$Q/event" -l
ops_all() { [[ "$(count_of "^pf/v1/dev/$Q/event ops-")" -eq "$N" ]]; }
pf_wait_for 30 "all $N of $SVC's publishes" ops_all

pf_log "4. the refusals are logged once, with the count"
lines=$(grep -c "posfleet_acl: $F over its publish rate ($RATE/s, burst $BURST" \
    "$(pf_log_of mosquitto)" || true)
((lines >= 1 && lines <= secs / 10 + 1)) || pf_fail "$lines rate log lines for $F in $secs s"
grep -q "posfleet_acl: $Q over its publish rate" "$(pf_log_of mosquitto)" &&
    pf_fail "$Q was rate limited"
grep -q "posfleet_acl: $SVC over its publish rate" "$(pf_log_of mosquitto)" &&
    pf_fail "$SVC was rate limited"
pf_kill observer

pf_log "PASS"
