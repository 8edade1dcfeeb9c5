#!/usr/bin/env bash
# test_https.sh - posfleetd's API over TLS (docs/security.md, docs/operations.md "HTTPS").
#   - posfleetd serves HTTPS with a posfleet-keys certificate (localhost, 127.0.0.1, ::1);
#     TLS 1.2 and 1.3 only; a cleartext request to the port gets no HTTP answer;
#   - the CLI verifies the certificate with --cacert / POSFLEET_CACERT and works, a large
#     body (a 100-continue import) included; a wrong CA, no CA (system store) or a
#     certificate for another name is refused with a message saying which and exit 3;
#   - plain HTTP is refused at start (and by --check-config) unless http.tls = off is
#     written AND http.addr is loopback; TLS without http.cert/http.key is refused;
#   - 2,000 connections from one address that never finish their TLS handshake: all but the
#     per-address limit's 64 are refused at once, the rest end within http.head_timeout_ms
#     and a sweep, while a second address gets HTTPS answers within 2 s.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

command -v curl >/dev/null 2>&1 || pf_fail "curl not found"
python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.2", 0))' 2>/dev/null ||
    pf_fail "cannot bind 127.0.0.2 (the loopback /8 is needed)"
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
PF_HTTP_TLS=1 pf_server_start "http.max_conns = 4096
http.max_conns_per_ip = 64
http.head_timeout_ms = 3000"
[[ "$POSFLEET_URL" == https://* ]] || pf_fail "the stack did not start HTTPS: $POSFLEET_URL"
grep -q "listening on 127.0.0.1:$PF_HTTP_PORT (HTTPS)" "$(pf_log_of posfleetd)" ||
    pf_fail "posfleetd did not say it serves HTTPS"

# --- handshake: verified by curl against the test CA, by name and by address
for host in localhost 127.0.0.1; do
    code=$(curl -sS --cacert "$PF_PKI/ca.crt" -o /dev/null -w '%{http_code}' \
        --resolve "localhost:$PF_HTTP_PORT:127.0.0.1" "https://$host:$PF_HTTP_PORT/healthz") ||
        pf_fail "curl https://$host: handshake failed"
    [[ "$code" == 200 ]] || pf_fail "curl https://$host/healthz: $code"
done
ver=$(curl -sS --cacert "$PF_PKI/ca.crt" -o /dev/null -w '%{ssl_verify_result} %{scheme}' \
    "https://127.0.0.1:$PF_HTTP_PORT/healthz")
[[ "$ver" == "0 HTTPS" || "$ver" == "0 https" ]] || pf_fail "curl verify result: $ver"
if curl -sS --cacert "$PF_PKI/ca.crt" --tlsv1.0 --tls-max 1.1 -o /dev/null \
    "https://127.0.0.1:$PF_HTTP_PORT/healthz" 2>"$PF_TMP/old-tls.err"; then
    pf_fail "posfleetd accepted TLS 1.1 or older"
fi
# Cleartext on the TLS port: no HTTP answer, and certainly no data.
if out=$(curl -sS --max-time 5 "http://127.0.0.1:$PF_HTTP_PORT/v1/summary" 2>&1) &&
    [[ "$out" == *'"terminals"'* || "$out" == *'"error"'* ]]; then
    pf_fail "a cleartext request to the HTTPS port got an HTTP answer: $out"
fi

# --- the CLI over HTTPS (POSFLEET_CACERT from the stack), a large body included
pf_cli device add HT-1 --model PX-500 >/dev/null || pf_fail "device add over HTTPS"
[[ "$(pf_device_field HT-1 '$.serial')" == HT-1 ]] || pf_fail "device HT-1 not read back"
{
    echo "serial,model,hw_rev"
    for i in $(seq 1 4000); do printf 'HT-IMP-%05d,PX-500,r2\n' "$i"; done
} >"$PF_TMP/import.csv"
(($(stat -c %s "$PF_TMP/import.csv") > 64 * 1024)) || pf_fail "import file too small"
pf_cli device import "$PF_TMP/import.csv" >"$PF_TMP/import.out" 2>&1 ||
    pf_fail "device import over HTTPS: $(cat "$PF_TMP/import.out")"
[[ "$(pf_sql "select count(*) from devices where serial like 'HT-IMP-%'")" == 4000 ]] ||
    pf_fail "import over HTTPS did not register 4000 terminals"
# --cacert wins over the environment.
POSFLEET_CACERT=/nonexistent pf_cli --cacert "$PF_PKI/ca.crt" summary >/dev/null ||
    pf_fail "--cacert did not take precedence over POSFLEET_CACERT"

# --- refusals: exit 3 (cannot reach) with a message that says what is wrong
cli_refused() { # NAME EXPECTED_TEXT ARGS...
    local name="$1" want="$2" rc=0
    shift 2
    "$PF_CLI" --server "$POSFLEET_URL" --token-file "$PF_TOKEN_OPS" "$@" summary \
        >"$PF_TMP/$name.out" 2>"$PF_TMP/$name.err" || rc=$?
    [[ $rc == 3 ]] || pf_fail "$name: exit $rc, expected 3: $(cat "$PF_TMP/$name.err")"
    grep -qF -- "$want" "$PF_TMP/$name.err" ||
        pf_fail "$name: message lacks '$want': $(cat "$PF_TMP/$name.err")"
    [[ ! -s "$PF_TMP/$name.out" ]] || pf_fail "$name: printed an answer"
}
other=$(pf_tmpdir other-ca)
"$PF_KEYS" ca-init --dir "$other" >/dev/null || pf_fail "second CA"
cli_refused wrong-ca "its TLS certificate is not trusted by $other/ca.crt" --cacert "$other/ca.crt"
POSFLEET_CACERT="$other/ca.crt" cli_refused wrong-ca-env "is not trusted by $other/ca.crt"
POSFLEET_CACERT='' cli_refused system-store "not trusted by the system's trusted CAs"
grep -qF -- "--cacert FILE" "$PF_TMP/system-store.err" || pf_fail "no hint to --cacert"
rc=0
"$PF_CLI" --server "$POSFLEET_URL" --cacert "$PF_TMP/missing.crt" summary 2>"$PF_TMP/missing.err" ||
    rc=$?
[[ $rc == 2 ]] && grep -qF "cannot read the CA file" "$PF_TMP/missing.err" ||
    pf_fail "a missing CA file: exit $rc: $(cat "$PF_TMP/missing.err")"

# A second posfleetd whose certificate names another host: the CLI refuses the name.
"$PF_KEYS" server-cert --dir "$PF_PKI" --cn api-elsewhere --dns elsewhere.invalid >/dev/null ||
    pf_fail "server-cert api-elsewhere"
wrong_port=$(pf_free_port)
mkdir -p "$PF_TMP/wrong"
cat >"$PF_TMP/wrong/posfleetd.conf" <<CONF
mqtt.host = 127.0.0.1
mqtt.port = $(pf_free_port)
store.path = $PF_TMP/wrong/posfleetd.db
http.addr = 127.0.0.1
http.port = $wrong_port
http.cert = $PF_PKI/api-elsewhere.crt
http.key = $PF_PKI/api-elsewhere.key
http.tokens = $PF_TMP/server/tokens
CONF
pf_spawn posfleetd-wrong "$PF_SERVERD" -c "$PF_TMP/wrong/posfleetd.conf"
wrong_up() { grep -q "listening on 127.0.0.1:$wrong_port (HTTPS)" "$(pf_log_of posfleetd-wrong)"; }
pf_wait_for 20 "the second posfleetd to listen" wrong_up
POSFLEET_URL="https://127.0.0.1:$wrong_port" cli_refused name-mismatch \
    "its TLS certificate is not valid for this host name"
pf_kill posfleetd-wrong 10

# --- plain HTTP: only when written, only on loopback; TLS needs its files
conf_refused() { # NAME EXPECTED_TEXT CONF_LINES
    local f="$PF_TMP/$1.conf" rc=0
    printf 'store.path = %s\nhttp.port = %s\n%s\n' "$PF_TMP/$1.db" "$(pf_free_port)" "$3" >"$f"
    "$PF_SERVERD" -c "$f" --check-config >"$PF_TMP/$1.check" 2>&1 && pf_fail "$1: --check-config passed"
    timeout 20 "$PF_SERVERD" -c "$f" >"$PF_TMP/$1.start" 2>&1 || rc=$?
    [[ $rc == 1 ]] || pf_fail "$1: posfleetd start exited $rc, expected 1: $(cat "$PF_TMP/$1.start")"
    grep -qF -- "$2" "$PF_TMP/$1.start" || pf_fail "$1: start says: $(cat "$PF_TMP/$1.start")"
    grep -qF -- "$2" "$PF_TMP/$1.check" || pf_fail "$1: --check-config says: $(cat "$PF_TMP/$1.check")"
}
conf_refused plain-any "plain HTTP only on a loopback address, and http.addr is 0.0.0.0" \
    "http.addr = 0.0.0.0
http.tls = off"
conf_refused plain-v6any "plain HTTP only on a loopback address, and http.addr is ::" \
    "http.addr = ::
http.tls = off"
conf_refused plain-lan "plain HTTP only on a loopback address, and http.addr is 192.0.2.10" \
    "http.addr = 192.0.2.10
http.tls = off"
conf_refused tls-no-files "http.cert and http.key: both required while http.tls is on" \
    "http.addr = 0.0.0.0"
conf_refused tls-bad-value "http.tls: 'no' is not on or off" "http.tls = no"
for addr in 127.0.0.1 127.0.0.2 ::1; do
    printf 'store.path = %s\nhttp.addr = %s\nhttp.tls = off\n' "$PF_TMP/lo.db" "$addr" \
        >"$PF_TMP/lo.conf"
    "$PF_SERVERD" -c "$PF_TMP/lo.conf" --check-config >/dev/null 2>&1 ||
        pf_fail "plain HTTP on loopback $addr refused"
done

# --- slow handshakes: bounded like slow request heads (test_http_slow.sh)
# The per-address limit (64) refuses the excess as it does for plain HTTP (it_http_slow): at
# least 2000 - 64 first-round connections end within 1.5 s, half the 3 s head deadline that
# closes the 64 it let in, so a refusal and a deadline cannot be mistaken for each other even
# when a loaded machine stretches "at once".
python3 "$(dirname "$0")/slow_http.py" --port "$PF_HTTP_PORT" --conns 2000 --byte-every 2 \
    --duration 10 --probe-from 127.0.0.2 --path /healthz --probe-max-ms 2000 --per-ip 64 \
    --refused-ms 1500 --head-max-ms 5250 --tls-ca "$PF_PKI/ca.crt" --check >"$PF_TMP/slow.json" \
    2>"$PF_TMP/slow.err" || pf_fail "$(cat "$PF_TMP/slow.json" "$PF_TMP/slow.err")"
pf_log "$(cat "$PF_TMP/slow.json")"
pf_alive posfleetd || pf_fail "posfleetd died"
pf_wait_for 10 "posfleetd to answer over HTTPS again" pf_cli_quiet summary
pf_log "PASS"
