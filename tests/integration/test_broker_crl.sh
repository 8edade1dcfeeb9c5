#!/usr/bin/env bash
#
# test_broker_crl.sh - how a CRL reaches a running broker (docs/security.md):
#   - installed into the capath, it refuses new connections of the revoked
#     certificate at once, without a restart and without disconnecting others;
#   - a connection open at that moment survives (TLS checks only handshakes);
#   - pf_broker_apply_crl --restart (same port) cuts it: valid clients come back
#     on their own and get their commands, the revoked one does not;
#   - a capath refuses a CRL not signed by the CA.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKI="$(pf_tmpdir pki)"
pf_pki_init "$PKI"
L=TL-0001 # to be revoked
V=TV-0002 # stays valid
pf_device_cert "$PKI" "$L"
pf_device_cert "$PKI" "$V"
pf_device_cert "$PKI" TP-0003
pf_broker_start "$PKI"
port="$PF_BROKER_PORT"

has_line() { grep -qxF -- "$2" "$(pf_log_of "$1")"; }
subscribed() { [[ "$(grep -c 'Subscribed (mid' "$(pf_log_of "$1")" || true)" -ge "$2" ]]; }
can_connect() {
    # shellcheck disable=SC2046
    timeout 10 mosquitto_sub $(pf_mqtt_opts "$1") -t "pf/v1/cmd/probe/x" -E -W 5 >/dev/null 2>&1
}
command_to() { pf_mqtt_pub posfleetd -q 1 -t "pf/v1/cmd/$1/ping" -m "$2" || pf_fail "posfleetd cannot command $1"; }

pf_mqtt_sub_spawn sub-l "$L" -q 1 -d -t "pf/v1/cmd/$L/#"
pf_mqtt_sub_spawn sub-v "$V" -q 1 -d -t "pf/v1/cmd/$V/#"
pf_wait_for 15 "$L subscribed" subscribed sub-l 1
pf_wait_for 15 "$V subscribed" subscribed sub-v 1

pf_log "revoke $L and apply the CRL to the running broker"
"$PF_KEYS" cert-revoke --dir "$PKI" --serial "$L" >/dev/null || pf_fail "cert-revoke failed"
pf_broker_apply_crl
can_connect TP-0003 || pf_fail "a valid terminal was refused after the CRL"
# The revoked certificate's handshake now fails; its open connection is not touched.
can_connect "$L" && pf_fail "the revoked certificate made a new connection"
command_to "$L" "live-after-crl"
command_to "$V" "v-after-crl"
pf_wait_for 15 "the open connection of $L to stay up" has_line sub-l "pf/v1/cmd/$L/ping live-after-crl"
pf_wait_for 15 "$V's command" has_line sub-v "pf/v1/cmd/$V/ping v-after-crl"
[[ "$(grep -c 'already connected' "$(pf_log_of mosquitto)" || true)" == 0 ]] ||
    pf_fail "applying the CRL cost a session"

pf_log "restart the broker to cut the revoked terminal's open connection"
pf_broker_apply_crl --restart
[[ "$PF_BROKER_PORT" == "$port" ]] || pf_fail "the broker came back on port $PF_BROKER_PORT, not $port"
# Both mosquitto_sub clients try to reconnect; only the valid one gets in.
pf_wait_for 30 "$V to reconnect and subscribe again" subscribed sub-v 2
since_restart() { awk '/^--- start on port/ { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' "$(pf_log_of mosquitto)"; }
refused_since_restart() { since_restart | grep -q 'certificate verify failed'; }
# The revoked client keeps retrying with its backoff; wait for one refusal.
pf_wait_for 30 "the revoked terminal's reconnection to be refused" refused_since_restart
command_to "$L" "after-restart"
command_to "$V" "v-after-restart"
pf_wait_for 15 "$V's command after the restart" has_line sub-v "pf/v1/cmd/$V/ping v-after-restart"
if since_restart | grep -q "as $L "; then
    pf_fail "the revoked terminal reconnected after the restart"
fi
since_restart | grep -q "as $V " || pf_fail "the broker log does not show $V reconnecting"
if has_line sub-l "pf/v1/cmd/$L/ping after-restart"; then
    pf_fail "the revoked terminal received a command after the restart"
fi

pf_log "a CRL from another CA is not installed"
OTHER="$(pf_tmpdir other)"
"$PF_KEYS" ca-init --dir "$OTHER" >/dev/null
FAKE="$(pf_tmpdir fake)"
cp "$PKI/ca.crt" "$FAKE/ca.crt"
cp "$OTHER/crl.pem" "$FAKE/crl.pem"
before="$(ls "$PF_BROKER_DIR/capath")"
"$PF_KEYS" crl --dir "$FAKE" --capath "$PF_BROKER_DIR/capath" --install-only 2>/dev/null &&
    pf_fail "a CRL not signed by the CA was installed"
[[ "$(ls "$PF_BROKER_DIR/capath")" == "$before" ]] || pf_fail "the refused CRL changed the capath"
can_connect TP-0003 || pf_fail "a valid terminal was refused after the refused install"

pf_log "PASS"
