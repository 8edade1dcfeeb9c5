#!/usr/bin/env bash
#
# test_acl.sh - broker identity and ACLs, proven against the real Mosquitto:
#   - terminal A cannot publish into B's dev subtree nor into anyone's cmd
#     subtree (posfleetd sees nothing, PUBACK says "not authorized"), while
#     A's own reports do arrive;
#   - A cannot subscribe beyond its own command subtree: every foreign filter
#     (B's subtree, wildcards over other serials, the dev tree, $share, $SYS)
#     gets SUBACK 135 (v5) / 128 (v3.1.1) from the posfleet_acl plugin, while
#     A's own and posfleetd's report subscriptions (plain and $share) are
#     granted; and A cannot read B's commands, retained or live, while A and B
#     receive their own;
#   - the plugin and acl_file re-read the ACL file on SIGHUP; a file the
#     plugin cannot parse leaves the previous policy in force;
#   - a client id other than the certificate CN does not let A take B's
#     session or identity;
#   - no certificate, plain TCP, a certificate from another CA, a broker
#     certificate used as a client, and a revoked certificate are refused;
#     the CRL applies to the running broker and survives a restart.
#
# Negative checks are closed by a marker sent after the forbidden traffic on
# the same connection: once the marker arrives, anything forbidden would have
# arrived before it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKI="$(pf_tmpdir pki)"
pf_pki_init "$PKI"
for s in TA-0001 TB-0002 TR-0003 TC-0004; do
    pf_device_cert "$PKI" "$s"
done
pf_broker_start "$PKI"

A=TA-0001
B=TB-0002

has_line() { grep -qxF -- "$2" "$(pf_log_of "$1")"; }
has_text() { grep -qF -- "$2" "$(pf_log_of "$1")"; }
refute_text() {
    if grep -qF -- "$2" "$(pf_log_of "$1")"; then
        pf_fail "$3 (found '$2' in $1.log)"
    fi
}
# connects, subscribes and leaves; true only if the broker accepted the client.
can_connect() {
    # shellcheck disable=SC2046
    timeout 10 mosquitto_sub $(pf_mqtt_opts "$@") -t "pf/v1/cmd/$1/x" -E -W 5 \
        >/dev/null 2>&1
}

# One identity, one connection: the client id is the CN, so a second
# connection with the same certificate takes the first one's session over. The
# phases below never hold two connections of one identity at a time, and the
# end of the test checks that no takeover happened.

# ---------------------------------------------------------------------------
pf_log "1. publishing: only into one's own dev subtree"

pf_mqtt_sub_spawn observer posfleetd -q 1 -t 'pf/v1/dev/#'
# The observer is subscribed once A's own report reaches it (positive control).
canary() {
    pf_mqtt_pub "$A" -q 1 -t "pf/v1/dev/$A/health" -m canary >/dev/null 2>&1 &&
        has_line observer "pf/v1/dev/$A/health canary"
}
pf_wait_for 15 "posfleetd to receive A's own report" canary

# Forged publishes are retained: had the broker accepted one, a later
# subscriber would still receive it (B checks its command subtree in phase 2).
forge_log="$PF_TMP/logs/forge.log"
forged_topics=("pf/v1/dev/$B/health" "pf/v1/dev/$B" "pf/v1/dev/$B/x/y" "pf/v1/dev/${A}x/health"
    "pf/v1/cmd/$B/ack" "pf/v1/cmd/$A/ack" "pf/v1/dev" "other/topic")
for topic in "${forged_topics[@]}"; do
    # shellcheck disable=SC2046
    timeout 10 mosquitto_pub $(pf_mqtt_opts "$A") -q 1 -r -d -t "$topic" -m "forged-by-A" \
        >>"$forge_log" 2>&1 || true
done
# Mosquitto answers a forbidden QoS 1 publish with PUBACK reason 135 (not authorized).
denied=$(grep -c 'received PUBACK.*RC:135' "$forge_log" || true)
[[ "$denied" == "${#forged_topics[@]}" ]] ||
    pf_fail "expected ${#forged_topics[@]} PUBACKs 'not authorized' for A's forged publishes, got $denied"
# B's own report (not retained: terminals never retain, see it_broker_retain;
# A's wildcard subscriptions in phase 2 must not get it either way).
pf_mqtt_pub "$B" -q 1 -t "pf/v1/dev/$B/health" -m "report-of-B" || pf_fail "B cannot publish its report"
pf_mqtt_pub "$A" -q 1 -t "pf/v1/dev/$A/health" -m marker-1 || pf_fail "A cannot publish its own report"
pf_wait_for 15 "B's report at posfleetd" has_line observer "pf/v1/dev/$B/health report-of-B"
pf_wait_for 15 "A's marker at posfleetd" has_line observer "pf/v1/dev/$A/health marker-1"
refute_text observer forged-by-A "A published into a subtree that is not its own"
pf_kill observer

# ---------------------------------------------------------------------------
pf_log "2. reading and subscribing: only one's own cmd subtree"

# Retained commands are stored before anyone subscribes: a subscription
# delivers retained messages at once, so read checks apply to those too.
pf_mqtt_pub posfleetd -q 1 -r -t "pf/v1/cmd/$B/retained" -m "retained-for-B" ||
    pf_fail "posfleetd cannot publish a retained command"
pf_mqtt_sub_spawn sub-b "$B" -i "$B" -q 1 -d -t "pf/v1/cmd/$B/#"
# A's own command subtree first, then every filter that reaches beyond it: the
# SUBACK carries one reason code per filter, in order.
# shellcheck disable=SC2016 # $share is a literal topic prefix
foreign_filters=("pf/v1/cmd/$B/#" "pf/v1/cmd/$B/ping" 'pf/v1/cmd/+/#' 'pf/v1/cmd/+/ping'
    'pf/v1/cmd/#' 'pf/v1/+/+/ping' 'pf/v1/#' '#' '+/+/+/+' 'pf/v1/dev/#' "pf/v1/dev/$B/#"
    "pf/v1/dev/$A/#" "pf/v1/+/$A/#" '$share/g/pf/v1/cmd/#' "\$share/g/pf/v1/cmd/$B/#" '$SYS/#')
foreign_args=()
for f in "${foreign_filters[@]}"; do
    foreign_args+=(-t "$f")
done
pf_mqtt_sub_spawn sub-a-wild "$A" -q 1 -d -t "pf/v1/cmd/$A/#" "${foreign_args[@]}"
pf_wait_for 15 "B's subscription to be acknowledged" has_text sub-b 'Subscribed (mid'
pf_wait_for 15 "A's subscriptions to be acknowledged" has_text sub-a-wild 'Subscribed (mid'
# The posfleet_acl broker plugin refuses each foreign filter: SUBACK reason
# 135 (0x87, not authorized) under MQTT v5, while A's own filter is granted QoS 1.
suback_line() { grep -F 'Subscribed (mid' "$(pf_log_of "$1")" | head -1; }
expected="Subscribed (mid: 1): 1$(printf ', 135%.0s' "${foreign_filters[@]}")"
[[ "$(suback_line sub-a-wild)" == "$expected" ]] ||
    pf_fail "SUBACK for A's filters: got '$(suback_line sub-a-wild)', expected '$expected'"
[[ "$(suback_line sub-b)" == "Subscribed (mid: 1): 1" ]] ||
    pf_fail "B's own subscription was not granted: $(suback_line sub-b)"
pf_log "SUBACK for A's own and ${#foreign_filters[@]} foreign filters: $(suback_line sub-a-wild)"
has_text mosquitto "posfleet_acl: subscription of $A to pf/v1/cmd/+/# refused" ||
    pf_fail "the broker log does not name A's refused subscription"

# posfleetd: every report, shared or not, yes; the command tree or the whole tree, no.
# shellcheck disable=SC2046,SC2016
timeout 10 mosquitto_sub $(pf_mqtt_opts posfleetd) -d -q 1 -t 'pf/v1/dev/+/+' \
    -t '$share/pfs/pf/v1/dev/+/+' -t "pf/v1/dev/$A/#" -t 'pf/v1/cmd/#' -t "pf/v1/cmd/$B/#" \
    -t 'pf/v1/#' -t '#' -E -W 5 >"$PF_TMP/logs/sub-svc.log" 2>&1 ||
    pf_fail "posfleetd's subscription failed"
has_text sub-svc 'Subscribed (mid: 1): 1, 1, 1, 135, 135, 135, 135' ||
    pf_fail "SUBACK for posfleetd: $(suback_line sub-svc)"

# Traffic A must not see: B's commands, another terminal's commands.
pf_mqtt_pub posfleetd -q 1 -t "pf/v1/cmd/$B/ping" -m "secret-for-B" || pf_fail "posfleetd cannot command B"
pf_mqtt_pub posfleetd -q 1 -t "pf/v1/cmd/TC-0004/ping" -m "secret-for-C" || pf_fail "posfleetd cannot command C"
# Markers: each terminal's own command, sent after everything above.
pf_mqtt_pub posfleetd -q 1 -t "pf/v1/cmd/$A/ping" -m marker-a2 || pf_fail "posfleetd cannot command A"
pf_mqtt_pub posfleetd -q 1 -t "pf/v1/cmd/$B/ping" -m marker-b2 || pf_fail "posfleetd cannot command B"
pf_wait_for 15 "A's own command through its own subscription" \
    has_line sub-a-wild "pf/v1/cmd/$A/ping marker-a2"
pf_wait_for 15 "B's marker at B" has_line sub-b "pf/v1/cmd/$B/ping marker-b2"
has_line sub-b "pf/v1/cmd/$B/ping secret-for-B" || pf_fail "B did not receive its own command"
has_line sub-b "pf/v1/cmd/$B/retained retained-for-B" || pf_fail "B did not receive its retained command"
refute_text sub-a-wild secret-for-B "A received B's command through a foreign subscription"
refute_text sub-a-wild secret-for-C "A received another terminal's command"
refute_text sub-a-wild retained-for-B "A received B's retained command"
refute_text sub-a-wild report-of-B "A received B's retained report"
refute_text sub-b forged-by-A "a command A forged in phase 1 reached B"
pf_kill sub-a-wild

# One connection per identity: these run once sub-a-wild is gone.
# Only foreign filters: nothing granted, mosquitto_sub says so and leaves.
# shellcheck disable=SC2046
timeout 10 mosquitto_sub $(pf_mqtt_opts "$A") -d -t "pf/v1/cmd/$B/#" -t '#' -W 5 \
    >"$PF_TMP/logs/sub-a-denied.log" 2>&1 || true
has_text sub-a-denied 'Subscribed (mid: 1): 135, 135' ||
    pf_fail "A's foreign-only subscription was not refused with 135, 135"
has_text sub-a-denied 'All subscription requests were denied.' ||
    pf_fail "mosquitto_sub did not report the refusal"
# MQTT 3.1.1 has a single failure code, 0x80.
# shellcheck disable=SC2046
timeout 10 mosquitto_sub $(pf_mqtt_opts "$A") -V mqttv311 -d -t "pf/v1/cmd/$A/#" \
    -t "pf/v1/cmd/$B/#" -t 'pf/v1/cmd/+/#' -t '#' -E -W 5 >"$PF_TMP/logs/sub-a-v311.log" 2>&1 ||
    pf_fail "A's MQTT 3.1.1 subscription failed"
has_text sub-a-v311 'Subscribed (mid: 1): 0, 128, 128, 128' ||
    pf_fail "MQTT 3.1.1 SUBACK for A: $(suback_line sub-a-v311)"

# ---------------------------------------------------------------------------
pf_log "3. the client id is the certificate CN: no session takeover, no impersonation"

takeovers() { grep -c 'already connected' "$(pf_log_of mosquitto)" || true; }
[[ "$(takeovers)" == 0 ]] || pf_fail "a session takeover happened before phase 3 (test bug)"
# shellcheck disable=SC2046
timeout 10 mosquitto_pub $(pf_mqtt_opts "$A") -i "$B" -q 1 -r -d -t "pf/v1/dev/$B/id" \
    -m "forged-with-id-B" >"$PF_TMP/logs/impersonate.log" 2>&1 || true
# shellcheck disable=SC2046
timeout 10 mosquitto_pub $(pf_mqtt_opts "$A") -u "$B" -P x -q 1 -r -d -t "pf/v1/dev/$B/user" \
    -m "forged-with-user-B" >>"$PF_TMP/logs/impersonate.log" 2>&1 || true
denied=$(grep -c 'received PUBACK.*RC:135' "$PF_TMP/logs/impersonate.log" || true)
[[ "$denied" == 2 ]] ||
    pf_fail "A, asking for client id or username '$B', was allowed to publish as B ($denied/2 denied)"
[[ "$(takeovers)" == 0 ]] || pf_fail "a client asking for B's client id took B's session over"
if grep -q "as $B (.*u'$A')" "$(pf_log_of mosquitto)"; then
    pf_fail "the broker let A's certificate use client id '$B'"
fi
grep -q "as $A (.*u'$A')" "$(pf_log_of mosquitto)" ||
    pf_fail "the broker log does not show A connected under its own client id"
pf_mqtt_pub posfleetd -q 1 -t "pf/v1/cmd/$B/ping" -m marker-b3 || pf_fail "posfleetd cannot command B"
pf_wait_for 15 "B still subscribed after A asked for its client id" \
    has_line sub-b "pf/v1/cmd/$B/ping marker-b3"
pf_kill sub-b
# A retained forgery would be delivered to posfleetd now.
pf_mqtt_sub_spawn observer2 posfleetd -q 1 -d -t "pf/v1/dev/$B/#" -t "pf/v1/dev/$A/#"
pf_wait_for 15 "posfleetd's subscription" has_text observer2 'Subscribed (mid'
pf_mqtt_pub "$A" -q 1 -t "pf/v1/dev/$A/health" -m marker-3 || pf_fail "A cannot publish its own report"
pf_wait_for 15 "A's marker at posfleetd" has_line observer2 "pf/v1/dev/$A/health marker-3"
refute_text observer2 report-of-B "the broker kept a terminal's report as retained"
refute_text observer2 forged "a forged publish was retained by the broker"
pf_kill observer2

# ---------------------------------------------------------------------------
pf_log "4. connections without a valid certificate of the device CA are refused"

can_connect "$A" || pf_fail "positive control: A cannot connect"
# No client certificate (TLS, server verified).
timeout 10 mosquitto_sub -h 127.0.0.1 -p "$PF_BROKER_PORT" --cafile "$PKI/ca.crt" -V mqttv5 \
    -t 'pf/v1/cmd/x/y' -E -W 5 >/dev/null 2>&1 && pf_fail "a client without a certificate connected"
timeout 10 mosquitto_sub -h 127.0.0.1 -p "$PF_BROKER_PORT" --cafile "$PKI/ca.crt" -V mqttv5 \
    -u posfleetd -P x -t 'pf/v1/dev/#' -E -W 5 >/dev/null 2>&1 &&
    pf_fail "a client with a username but no certificate connected"
# Plain MQTT on the TLS port.
timeout 10 mosquitto_sub -h 127.0.0.1 -p "$PF_BROKER_PORT" -V mqttv5 -t '#' -E -W 3 \
    >/dev/null 2>&1 && pf_fail "a plain-TCP client connected"
# Another CA, same names (a terminal serial and the service name).
OTHER="$(pf_tmpdir other-ca)"
"$PF_KEYS" ca-init --dir "$OTHER" >/dev/null
"$PF_KEYS" server-cert --dir "$OTHER" --cn posfleetd >/dev/null
pf_device_cert "$OTHER" "$B"
# shellcheck disable=SC2046
can_connect "$B" "$OTHER" && pf_fail "a terminal certificate from another CA was accepted"
can_connect posfleetd "$OTHER" && pf_fail "a posfleetd certificate from another CA was accepted"
# The broker's own certificate is a server certificate (serverAuth only).
can_connect broker && pf_fail "the broker certificate was accepted as a client certificate"

# ---------------------------------------------------------------------------
pf_log "5. revocation applies to the running broker and after a restart"

R=TR-0003
can_connect "$R" || pf_fail "positive control: $R cannot connect before revocation"
# A live connection across the CRL change: applying a CRL disconnects nobody.
pf_mqtt_sub_spawn svc posfleetd -q 1 -d -t "pf/v1/dev/$A/#"
pf_wait_for 15 "posfleetd's subscription" has_text svc 'Subscribed (mid'
"$PF_KEYS" cert-revoke --dir "$PKI" --serial "$R" >/dev/null || pf_fail "cert-revoke failed"
can_connect "$R" || pf_fail "the CRL applied before pf_broker_apply_crl (test setup is wrong)"
pf_broker_apply_crl
can_connect "$R" && pf_fail "a revoked certificate connected after pf_broker_apply_crl"
can_connect "$A" || pf_fail "a valid terminal was refused after the CRL was applied"
pf_mqtt_pub "$A" -q 1 -t "pf/v1/dev/$A/health" -m marker-5 || pf_fail "A cannot publish after the CRL"
pf_wait_for 15 "posfleetd's connection to survive the CRL" has_line svc "pf/v1/dev/$A/health marker-5"
pf_kill svc
can_connect posfleetd || pf_fail "posfleetd was refused after the CRL was applied"
pf_broker_restart
can_connect "$R" && pf_fail "a revoked certificate connected after a broker restart"
can_connect "$A" || pf_fail "a valid terminal was refused after a broker restart"

# A second revocation in the same run also applies (newer HASH.rN wins).
"$PF_KEYS" cert-revoke --dir "$PKI" --serial TC-0004 >/dev/null || pf_fail "cert-revoke failed"
can_connect TC-0004 || pf_fail "TC-0004 refused before its CRL was applied"
pf_broker_apply_crl
can_connect TC-0004 && pf_fail "a certificate revoked by a second CRL connected"
can_connect "$B" || pf_fail "a valid terminal was refused after the second CRL"

# ---------------------------------------------------------------------------
pf_log "6. SIGHUP: the plugin and acl_file re-read the ACL file"

extra="pf/v1/extra/$A/#"
# The first SUBACK line of a one-filter subscription as NAME.
suback_of() {
    # shellcheck disable=SC2046
    timeout 10 mosquitto_sub $(pf_mqtt_opts "$1") -d -t "$2" -E -W 5 2>&1 |
        grep -F 'Subscribed (mid' | head -1
}
suback_is() { [[ "$(suback_of "$A" "$extra")" == "Subscribed (mid: 1): $1" ]]; }
suback_is 135 || pf_fail "A may subscribe to $extra before any rule allows it"
acl="$PF_BROKER_DIR/posfleet.acl"
printf '\nuser %s\ntopic read pf/v1/extra/%s/#\nuser %s\ntopic write pf/v1/extra/%s/#\n' \
    "$A" "$A" "$B" "$A" >>"$acl"
kill -HUP "$PF_BROKER_PID"
pf_wait_for 15 "the reloaded ACL to let A subscribe to $extra" suback_is 0
# Delivery needs acl_file's new rules too (B writes, A reads).
pf_mqtt_sub_spawn sub-extra "$A" -q 1 -d -t "$extra"
pf_wait_for 15 "A's subscription to $extra" has_text sub-extra 'Subscribed (mid: 1): 1'
pf_mqtt_pub "$B" -q 1 -t "pf/v1/extra/$A/x" -m extra-1 || pf_fail "B cannot publish under the new rule"
pf_wait_for 15 "B's message through the reloaded rules" has_line sub-extra "pf/v1/extra/$A/x extra-1"
pf_kill sub-extra
# A file the plugin refuses (deny rules) leaves its previous policy in force:
# the extra rule is gone from the file but A may still subscribe.
cp "$PF_SRC/packaging/mosquitto/posfleet.acl" "$acl.tmp"
printf '\nuser %s\ntopic deny pf/v1/dev/%s/secret\n' "$B" "$B" >>"$acl.tmp"
mv "$acl.tmp" "$acl"
kill -HUP "$PF_BROKER_PID"
pf_wait_for 15 "the plugin to refuse the new ACL file" \
    has_text mosquitto "deny rules are not supported; keeping the previous ACL"
suback_is 0 || pf_fail "the plugin dropped its previous policy for a file it cannot parse"
cp "$PF_SRC/packaging/mosquitto/posfleet.acl" "$acl.tmp"
mv "$acl.tmp" "$acl"
kill -HUP "$PF_BROKER_PID"
pf_wait_for 15 "the restored ACL to refuse $extra again" suback_is 135

[[ "$(takeovers)" == 0 ]] || pf_fail "a session takeover happened (two connections of one identity)"
pf_log "PASS"
