#!/usr/bin/env bash
# test_init.sh - `posfleetd init`, the first run, from the build tree into a private root
# (--root): it makes the development PKI, the broker's material and configuration (from
# the Mosquitto templates), the API's HTTPS certificate and the CLI's copy of the CA,
# posfleetd.conf (http.tls = on) and the first admin token, printed once and stored only as
# a digest; no private key reaches its output. Mosquitto and posfleetd then start from
# exactly those files (only the ports moved to free loopback ones, the broker's user to
# ours), the CLI verifies the API's certificate, a terminal with a certificate from that CA
# reports, and the admin token works (a backup). --plain-http writes plain HTTP on
# 127.0.0.1 and issues no API certificate. A second run refuses and changes nothing; --force starts over and
# keeps the earlier files aside. With --ca-cert/--ca-key the operator's CA is taken: the
# broker's certificate chains to it, and a key that does not match it is refused.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

root="$PF_TMP/root"
port=$(pf_free_port)
init() {
    "$PF_SERVERD" init --templates "$PF_SRC/packaging/mosquitto" \
        --acl-plugin "$PF_BUILD/packaging/posfleet_acl.so" --broker-host localhost \
        --broker-port "$port" "$@"
}
init --root "$root" >"$PF_TMP/init.out" 2>"$PF_TMP/init.err" || pf_fail "init: $(cat "$PF_TMP/init.err")"
conf="$root/etc/posfleet"
bdir="$root/etc/mosquitto/posfleet"
token=$(grep -A1 '^first admin token for admin' "$PF_TMP/init.out" | tail -1)
[[ ${#token} == 43 ]] || pf_fail "no admin token in the output: $(cat "$PF_TMP/init.out")"
if grep -q "PRIVATE KEY" "$PF_TMP/init.out" "$PF_TMP/init.err"; then pf_fail "a private key was printed"; fi
grep -q "^admin admin [0-9a-f]\{64\}$" "$conf/tokens" || pf_fail "tokens: $(cat "$conf/tokens")"
if grep -qF "$token" "$conf/tokens"; then pf_fail "the token itself is stored"; fi
for f in "600 $conf/pki/ca.key" "640 $conf/pki/posfleetd.key" "640 $bdir/broker.key" \
    "640 $conf/tokens" "640 $conf/posfleetd.conf" "640 $conf/pki/api.key" "644 $conf/api-ca.crt"; do
    set -- $f
    [[ $(stat -c %a "$2") == "$1" ]] || pf_fail "$2 is $(stat -c %a "$2"), not $1"
done
[[ ! -e "$conf/pki/broker.key" ]] || pf_fail "a second copy of the broker's key is left in the PKI"
# The API: HTTPS with a certificate from that CA for the host's names and loopback; the CLI's CA.
for kv in "http.tls = on" "http.cert = $conf/pki/api.crt" "http.key = $conf/pki/api.key"; do
    grep -qxF "$kv" "$conf/posfleetd.conf" || pf_fail "posfleetd.conf lacks '$kv': $(cat "$conf/posfleetd.conf")"
done
openssl verify -CAfile "$conf/api-ca.crt" "$conf/pki/api.crt" >/dev/null || pf_fail "api.crt not from the CA"
openssl x509 -in "$conf/pki/api.crt" -noout -ext subjectAltName >"$PF_TMP/api.san"
grep -q "IP Address:127.0.0.1" "$PF_TMP/api.san" && grep -q "DNS:localhost" "$PF_TMP/api.san" ||
    pf_fail "api.crt names: $(cat "$PF_TMP/api.san")"
grep -q "the CLI verifies it with $conf/api-ca.crt" "$PF_TMP/init.out" || pf_fail "output: $(cat "$PF_TMP/init.out")"
"$PF_SERVERD" -c "$conf/posfleetd.conf" --check-config >/dev/null || pf_fail "written posfleetd.conf"

# Idempotent: a second run refuses and changes nothing.
sums() { find "$root" -type f -print0 | sort -z | xargs -0 sha256sum; }
sums >"$PF_TMP/sums-before"
if init --root "$root" >"$PF_TMP/again.out" 2>&1; then pf_fail "a second init ran"; fi
grep -q "initialised already" "$PF_TMP/again.out" || pf_fail "refusal: $(cat "$PF_TMP/again.out")"
sums | diff -q - "$PF_TMP/sums-before" >/dev/null || pf_fail "a refused init changed files"

# The stack from the files init wrote.
mkdir -p "$root/var/lib/mosquitto"
export PF_BROKER_PORT=$port PF_PKI="$conf/pki"
sed -e "s|^listener $port 0.0.0.0$|listener $port 127.0.0.1|" -e "s|^user mosquitto$|user $(id -un)|" \
    "$bdir/posfleet.conf" >"$PF_TMP/mosquitto.conf"
grep -q "^listener $port 127.0.0.1$" "$PF_TMP/mosquitto.conf" || pf_fail "no listener line"
pf_spawn mosquitto env OPENSSL_CONF="$bdir/openssl.cnf" "$(command -v mosquitto || echo /usr/sbin/mosquitto)" \
    -c "$PF_TMP/mosquitto.conf"
"$PF_KEYS" device-cert --dir "$conf/pki" --serial "$PF_PROBE_ID" >/dev/null
pf_wait_for 20 "the broker to accept TLS" pf__broker_ready
PF_HTTP_PORT=$(pf_free_port)
export POSFLEET_URL="https://127.0.0.1:$PF_HTTP_PORT" PF_STORE="$root/var/lib/posfleet/posfleetd.db"
export POSFLEET_CACERT="$conf/api-ca.crt"
sed -e "s|^http.port = 8080$|http.port = $PF_HTTP_PORT|" "$conf/posfleetd.conf" >"$PF_TMP/posfleetd.conf"
pf_spawn posfleetd "$PF_SERVERD" -c "$PF_TMP/posfleetd.conf"
printf '%s\n' "$token" >"$PF_TMP/admin.token"
export PF_TOKEN_OPS="$PF_TMP/admin.token"
pf_wait_for 20 "posfleetd to answer over HTTPS with the admin token" pf_cli_quiet summary
pf_wait_for 20 "posfleetd to reach the broker" \
    eval "curl -fsS --cacert '$POSFLEET_CACERT' '$POSFLEET_URL/readyz' >/dev/null"
if curl -fsS "http://127.0.0.1:$PF_HTTP_PORT/healthz" >/dev/null 2>&1; then pf_fail "plain HTTP answered"; fi
pf_cli device add INIT-0001 --model PX-500 --hw-rev B >/dev/null
"$PF_KEYS" device-cert --dir "$conf/pki" --serial INIT-0001 >/dev/null
mkdir -p "$PF_TMP/agent"
cat >"$PF_TMP/agent.conf" <<CONF
serial = INIT-0001
model = PX-500
hw_rev = B
broker.host = 127.0.0.1
broker.port = $port
tls.ca = $conf/pki/ca.crt
tls.cert = $conf/pki/devices/INIT-0001.crt
tls.key = $conf/pki/devices/INIT-0001.key
state_dir = $PF_TMP/agent
CONF
timeout 60 "$PF_AGENTD" -c "$PF_TMP/agent.conf" --once >"$PF_TMP/logs/agent.log" 2>&1 ||
    pf_fail "the agent did not deliver a report"
pf_wait_for 20 "INIT-0001's report" eval "pf_cli --json device INIT-0001 | grep -q fw_version"
pf_cli admin backup "$PF_TMP/first.db" >/dev/null || pf_fail "the admin token cannot take a backup"
pf_kill posfleetd
pf_kill mosquitto
pf_log "stack from init's files: broker, posfleetd, INIT-0001 reported, admin backup taken"

# --force starts over; the earlier files stay aside.
init --root "$root" --force >"$PF_TMP/force.out" 2>&1 || pf_fail "init --force: $(cat "$PF_TMP/force.out")"
ls -d "$conf"/pki.replaced-* "$conf"/tokens.replaced-* "$bdir"/broker.key.replaced-* >/dev/null ||
    pf_fail "--force did not keep the earlier files: $(ls "$conf" "$bdir")"
if grep -qF "$(cut -d' ' -f3 "$conf"/tokens.replaced-*)" "$conf/tokens"; then
    pf_fail "--force kept the old admin token valid"
fi
cmp -s "$conf/pki/ca.crt" "$(ls -d "$conf"/pki.replaced-*)/ca.crt" && pf_fail "--force kept the old CA"

# The operator's CA.
"$PF_KEYS" ca-init --dir "$PF_TMP/opca" --name "Acquirer device CA" >/dev/null
"$PF_KEYS" ca-init --dir "$PF_TMP/other" >/dev/null
init --root "$PF_TMP/root2" --ca-cert "$PF_TMP/opca/ca.crt" --ca-key "$PF_TMP/opca/ca.key" \
    >"$PF_TMP/op.out" 2>&1 || pf_fail "init with the operator's CA: $(cat "$PF_TMP/op.out")"
grep -q "the operator's CA" "$PF_TMP/op.out" || pf_fail "output: $(cat "$PF_TMP/op.out")"
openssl verify -CAfile "$PF_TMP/opca/ca.crt" "$PF_TMP/root2/etc/mosquitto/posfleet/broker.crt" \
    "$PF_TMP/root2/etc/posfleet/pki/posfleetd.crt" >/dev/null || pf_fail "certificates not from the operator's CA"
if init --root "$PF_TMP/root3" --ca-cert "$PF_TMP/opca/ca.crt" --ca-key "$PF_TMP/other/ca.key" \
    >"$PF_TMP/bad.out" 2>&1; then
    pf_fail "a CA key that does not match the certificate was taken"
fi
grep -q "does not match" "$PF_TMP/bad.out" || pf_fail "mismatch refusal: $(cat "$PF_TMP/bad.out")"
openssl verify -CAfile "$PF_TMP/opca/ca.crt" "$PF_TMP/root2/etc/posfleet/pki/api.crt" >/dev/null ||
    pf_fail "the API's certificate is not from the operator's CA"
cmp -s "$PF_TMP/opca/ca.crt" "$PF_TMP/root2/etc/posfleet/api-ca.crt" || pf_fail "the CLI's CA is not the operator's"

# Plain HTTP only when asked, and then on loopback, with no certificate for it.
init --root "$PF_TMP/root4" --plain-http >"$PF_TMP/plain.out" 2>&1 || pf_fail "--plain-http: $(cat "$PF_TMP/plain.out")"
for kv in "http.tls = off" "http.addr = 127.0.0.1"; do
    grep -qxF "$kv" "$PF_TMP/root4/etc/posfleet/posfleetd.conf" || pf_fail "--plain-http: no '$kv'"
done
[[ ! -e "$PF_TMP/root4/etc/posfleet/pki/api.crt" ]] || pf_fail "--plain-http issued an API certificate"
"$PF_SERVERD" -c "$PF_TMP/root4/etc/posfleet/posfleetd.conf" --check-config >/dev/null ||
    pf_fail "--plain-http's posfleetd.conf"
pf_log "init: refused twice, --force kept the old files, the operator's CA taken, plain HTTP only when asked"
