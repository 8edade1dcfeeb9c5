#!/usr/bin/env bash
#
# test_broker_retain.sh - terminals cannot retain, and posfleetd ignores what
# is retained, against the real Mosquitto with the posfleet_acl plugin:
#   - a terminal's retained publishes (40 of 900 kB, on its documented leaves) get
#     PUBACK 135; a fresh subscriber receives none of them, and neither the
#     broker's RSS nor mosquitto.db grows (a privileged client's retained
#     message of the same size does grow mosquitto.db: the measure works);
#   - a terminal's publish to an undocumented leaf of its own subtree is
#     refused, while every documented leaf passes;
#   - a retained message put on a device topic by a privileged client is
#     delivered to posfleetd as retained when it subscribes, and posfleetd
#     refuses it (RETAINED) instead of taking a stale "online" for the truth.
#
# Negative checks are closed by a marker sent after the forbidden traffic.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

PKI="$(pf_tmpdir pki)"
pf_pki_init "$PKI"
T=TR-0001
OPS=pf-retain-ops # a privileged identity of this test: writes and reads every report
# The dev/ leaves of docs/protocol.md (enum pf_dev_leaf).
documented=(health birth state event chunkreq diag diagchunk lock)
for s in "$T" "$OPS"; do
    pf_device_cert "$PKI" "$s"
done
pf_broker_start "$PKI"

has_line() { grep -qxF -- "$2" "$(pf_log_of "$1")"; }
has_text() { grep -qF -- "$2" "$(pf_log_of "$1")"; }
refute_text() {
    if grep -qF -- "$2" "$(pf_log_of "$1")"; then
        pf_fail "$3 (found '$2' in $1.log)"
    fi
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$PF_BROKER_PID/status"; }
db_bytes() { stat -c %s "$PF_BROKER_DIR/data/mosquitto.db" 2>/dev/null || echo 0; }
saves() { grep -c 'Saving in-memory database' "$(pf_log_of mosquitto)" || true; }
# Makes the broker write mosquitto.db now (SIGUSR1) and waits until it has.
save_db() {
    local before
    before=$(saves)
    kill -USR1 "$PF_BROKER_PID"
    pf_wait_for 15 "the broker to save its database" saved_since "$before"
}
saved_since() { [[ "$(saves)" -gt "$1" ]]; }

# The privileged identity: a named user block, as an operator would add one.
acl="$PF_BROKER_DIR/posfleet.acl"
printf '\nuser %s\ntopic readwrite pf/v1/dev/#\n' "$OPS" >>"$acl"
kill -HUP "$PF_BROKER_PID"
ops_can_read() {
    # shellcheck disable=SC2046
    timeout 10 mosquitto_sub $(pf_mqtt_opts "$OPS") -d -t "pf/v1/dev/$T/#" -E -W 5 2>&1 |
        grep -qF 'Subscribed (mid: 1): 0'
}
pf_wait_for 15 "the reloaded ACL to let $OPS read the reports" ops_can_read

# ---------------------------------------------------------------------------
pf_log "1. a privileged client's retained report, before posfleetd ever connects"

# A stale "online": had posfleetd taken it, the terminal would show online.
pf_mqtt_pub "$OPS" -q 1 -r -t "pf/v1/dev/$T/state" -m '{"v":1,"state":"online"}' ||
    pf_fail "$OPS cannot retain a report"

# ---------------------------------------------------------------------------
pf_log "2. posfleetd refuses the retained message it receives when it subscribes"

pf_server_start
pf_cli_quiet device add "$T" --model PX-500 || pf_fail "cannot register $T"
rejected() {
    curl -s "$POSFLEET_URL/metrics" |
        awk -v r="$1" '$1 == "posfleet_messages_rejected_total{reason=\"" r "\"}" {print $2}'
}
# posfleetd subscribed before $T was registered; a restart subscribes again
# and the broker hands the retained message over once more, now for a
# registered terminal.
pf_server_stop
pf_server_start
retained_counted() { [[ -n "$(rejected RETAINED)" ]]; }
pf_wait_for 20 "posfleetd to count the retained message as RETAINED" retained_counted
has_text posfleetd "$T: rejected RETAINED: leaf 'state'" ||
    pf_fail "posfleetd's log does not name the retained message"
pf_device_online "$T" && pf_fail "posfleetd took a retained 'online' for the terminal's state"
# Positive control: the same payload, published by the terminal itself, counts.
pf_mqtt_pub "$T" -q 1 -t "pf/v1/dev/$T/state" -m '{"v":1,"state":"online"}' ||
    pf_fail "$T cannot publish its state"
pf_wait_for 20 "$T online from its own, not retained, state" pf_device_online "$T"
[[ "$(rejected RETAINED)" == 1 ]] ||
    pf_fail "RETAINED count after the terminal's own state: $(rejected RETAINED), expected 1"
# Clear the injected message (an empty retained payload) before measuring below.
pf_mqtt_pub "$OPS" -q 1 -r -n -t "pf/v1/dev/$T/state" || pf_fail "$OPS cannot clear its retained report"

# ---------------------------------------------------------------------------
pf_log "3. a terminal's retained publishes are refused and stored nowhere"

big="$PF_TMP/big.bin"
head -c 900000 /dev/zero | tr '\0' 'R' >"$big"
save_db
db0=$(db_bytes)
rss0=$(rss_kib)
pub_log="$PF_TMP/logs/retain-pub.log"
for i in $(seq 0 39); do
    # shellcheck disable=SC2046
    timeout 10 mosquitto_pub $(pf_mqtt_opts "$T") -q 1 -r -d \
        -t "pf/v1/dev/$T/${documented[i % ${#documented[@]}]}" -f "$big" >>"$pub_log" 2>&1 || true
done
# A retained empty message would clear one a privileged client left: refused too.
# shellcheck disable=SC2046
timeout 10 mosquitto_pub $(pf_mqtt_opts "$T") -q 1 -r -n -d -t "pf/v1/dev/$T/event" \
    >>"$pub_log" 2>&1 || true
denied=$(grep -c 'received PUBACK.*RC:135' "$pub_log" || true)
[[ "$denied" == 41 ]] || pf_fail "expected 41 PUBACKs 'not authorized' for retained publishes, got $denied"
save_db
db1=$(db_bytes)
rss1=$(rss_kib)
pf_log "36 MB of refused retained publishes: mosquitto.db $db0 -> $db1 bytes, broker RSS $rss0 -> $rss1 KiB"
((db1 - db0 < 65536)) || pf_fail "mosquitto.db grew from $db0 to $db1 bytes"
((rss1 - rss0 < 8192)) || pf_fail "the broker's RSS grew from $rss0 to $rss1 KiB"

# A fresh subscriber gets no retained message from the terminal.
pf_mqtt_sub_spawn fresh "$OPS" -q 1 -d -t "pf/v1/dev/$T/#"
pf_wait_for 15 "the fresh subscription" has_text fresh 'Subscribed (mid'
pf_mqtt_pub "$T" -q 1 -t "pf/v1/dev/$T/health" -m marker-1 || pf_fail "$T cannot publish a report"
pf_wait_for 15 "the marker at the fresh subscriber" has_line fresh "pf/v1/dev/$T/health marker-1"
refute_text fresh RRRRRRRR "the broker kept a terminal's retained publish"
grep -q "PUBLISH (.*r1," "$(pf_log_of fresh)" && pf_fail "the fresh subscriber received a retained message"
pf_kill fresh

# Positive control of the measure: a privileged client's retained message of
# the same size is stored, and mosquitto.db grows by it.
pf_mqtt_pub "$OPS" -q 1 -r -t "pf/v1/dev/$T/health" -f "$big" || pf_fail "$OPS cannot retain"
save_db
db2=$(db_bytes)
((db2 - db1 >= 900000)) || pf_fail "a stored retained message did not grow mosquitto.db ($db1 -> $db2)"
pf_mqtt_pub "$OPS" -q 1 -r -n -t "pf/v1/dev/$T/health" || pf_fail "$OPS cannot clear its retained report"

# ---------------------------------------------------------------------------
pf_log "4. only the documented leaves of one's own subtree"

pf_mqtt_sub_spawn observer "$OPS" -q 1 -t "pf/v1/dev/$T/#"
observer_ready() {
    pf_mqtt_pub "$T" -q 1 -t "pf/v1/dev/$T/health" -m canary >/dev/null 2>&1 &&
        has_line observer "pf/v1/dev/$T/health canary"
}
pf_wait_for 15 "the observer's subscription" observer_ready
leaf_log="$PF_TMP/logs/leaf-pub.log"
undocumented=(x health/x "" Health healthx ack offer chunk diag/result)
for leaf in "${undocumented[@]}"; do
    topic="pf/v1/dev/$T/$leaf"
    # shellcheck disable=SC2046
    timeout 10 mosquitto_pub $(pf_mqtt_opts "$T") -q 1 -d -t "$topic" -m "undocumented-$leaf" \
        >>"$leaf_log" 2>&1 || true
done
# shellcheck disable=SC2046
timeout 10 mosquitto_pub $(pf_mqtt_opts "$T") -q 1 -d -t "pf/v1/dev/$T" -m "undocumented-root" \
    >>"$leaf_log" 2>&1 || true
denied=$(grep -c 'received PUBACK.*RC:135' "$leaf_log" || true)
[[ "$denied" == $((${#undocumented[@]} + 1)) ]] ||
    pf_fail "expected $((${#undocumented[@]} + 1)) refusals for undocumented leaves, got $denied"
for leaf in "${documented[@]}"; do
    pf_mqtt_pub "$T" -q 1 -t "pf/v1/dev/$T/$leaf" -m "documented-$leaf" ||
        pf_fail "$T cannot publish to its documented leaf $leaf"
done
for leaf in "${documented[@]}"; do
    pf_wait_for 15 "leaf $leaf at the observer" has_line observer "pf/v1/dev/$T/$leaf documented-$leaf"
done
refute_text observer undocumented- "a publish to an undocumented leaf was delivered"
pf_kill observer

pf_log "PASS"
