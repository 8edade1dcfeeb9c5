#!/usr/bin/env bash
#
# test_broker_harness.sh - the harness itself (lib.sh): a child test script
# that spawns processes and a broker leaves nothing behind, pf_wait_for fails
# naming what it waited for, pf_fail prints the collected logs, the temporary
# directory goes away, pf_broker_restart keeps the port and the sessions, and
# the broker sends no TLS session tickets (packaging/mosquitto/openssl.cnf).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LIB="$(cd "$(dirname "$0")" && pwd)/lib.sh"
WORK="$(pf_tmpdir work)"

# A child test: starts a broker and a background process, records what it
# made, then runs the scenario given as $1.
cat >"$WORK/child.sh" <<EOF
set -euo pipefail
. "$LIB"
pf_pki_init "\$(pf_tmpdir pki)"
pf_broker_start "\$PF_PKI"
pf_spawn sleeper sleep 1000
echo "\$PF_TMP \$PF_BROKER_PID \$PF_SPAWN_PID" >"$WORK/made.\$1"
echo "a line from the sleeper's neighbour" >"\$(pf_log_of neighbour)"
case "\$1" in
ok) exit 0 ;;
wait) pf_wait_for 1 "a condition that never holds" false ;;
fail) pf_fail "asked to fail" ;;
errexit) false ;;
esac
EOF

gone() { ! kill -0 "$1" 2>/dev/null; }

for scenario in ok wait fail errexit; do
    rc=0
    bash "$WORK/child.sh" "$scenario" >"$WORK/out.$scenario" 2>&1 || rc=$?
    read -r tmp broker sleeper <"$WORK/made.$scenario"
    if [[ "$scenario" == ok ]]; then
        [[ "$rc" == 0 ]] || pf_fail "child 'ok' exited $rc: $(cat "$WORK/out.ok")"
    else
        [[ "$rc" != 0 ]] || pf_fail "child '$scenario' exited 0"
    fi
    pf_wait_for 10 "the broker of child '$scenario' to be stopped" gone "$broker"
    pf_wait_for 10 "the spawned process of child '$scenario' to be stopped" gone "$sleeper"
    [[ ! -e "$tmp" ]] || pf_fail "child '$scenario' left its temporary directory $tmp"
done
grep -q 'timed out after 1s waiting for: a condition that never holds' "$WORK/out.wait" ||
    pf_fail "pf_wait_for did not name its condition: $(cat "$WORK/out.wait")"
grep -q 'FAIL .*asked to fail' "$WORK/out.fail" || pf_fail "pf_fail did not print its message"
grep -q "a line from the sleeper's neighbour" "$WORK/out.fail" ||
    pf_fail "pf_fail did not print the collected logs"
grep -q "a line from the sleeper's neighbour" "$WORK/out.errexit" ||
    pf_fail "a failing command did not print the collected logs"
if grep -q "a line from the sleeper's neighbour" "$WORK/out.ok"; then
    pf_fail "a passing test printed its logs"
fi

# Restart: same port, and a persistent session survives it.
pf_pki_init "$(pf_tmpdir pki)"
pf_device_cert "$PF_PKI" TS-0001
pf_broker_start "$PF_PKI"
port="$PF_BROKER_PORT"
# A persistent session (clean start off, no expiry) subscribed to its commands.
# shellcheck disable=SC2046
timeout 10 mosquitto_sub $(pf_mqtt_opts TS-0001) -i TS-0001 -c -x 3600 -q 1 -t 'pf/v1/cmd/TS-0001/#' -E \
    >/dev/null 2>&1 || pf_fail "TS-0001 cannot subscribe"
pf_broker_restart
[[ "$PF_BROKER_PORT" == "$port" ]] || pf_fail "restart moved the broker from $port to $PF_BROKER_PORT"
pf_mqtt_pub posfleetd -q 1 -t pf/v1/cmd/TS-0001/ping -m queued-across-restart ||
    pf_fail "posfleetd cannot publish after the restart"
# shellcheck disable=SC2046
got="$(timeout 10 mosquitto_sub $(pf_mqtt_opts TS-0001) -i TS-0001 -c -x 3600 -q 1 \
    -t 'pf/v1/cmd/TS-0001/#' -C 1 -W 5 2>/dev/null || true)"
[[ "$got" == queued-across-restart ]] ||
    pf_fail "the session did not survive the restart (got '$got')"

# The broker runs with packaging/mosquitto/openssl.cnf: a TLS 1.3 handshake
# ends without session tickets (terminals never resume one).
read -r crt key < <(pf_cert_of TS-0001)
hs=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$PF_BROKER_PORT" -tls1_3 \
    -CAfile "$PF_PKI/ca.crt" -cert "$crt" -key "$key" -ign_eof 2>&1 || true)
grep -q "Verify return code: 0" <<<"$hs" || pf_fail "no TLS 1.3 handshake with the broker: $hs"
! grep -q "New Session Ticket" <<<"$hs" ||
    pf_fail "the broker sent $(grep -c "New Session Ticket" <<<"$hs") session tickets"

pf_log "PASS"
