#!/usr/bin/env bash
# bench_https.sh - what TLS costs the API: requests per second over HTTPS against the
# same posfleetd build over plain HTTP (loopback, http.tls = off), measured side by side.
#
#   tests/bench/bench_https.sh          (run.sh calls it so)
#   SMOKE=1 tests/bench/bench_https.sh  a short run (200 requests, one repetition)
#
# Method: one posfleetd per transport, each on an empty store with 100 registered
# terminals (no broker: MQTT retries in the background, the API serves regardless).
# For each repetition, alternating HTTPS then plain HTTP: one curl process sends N
# sequential requests on one kept-alive connection (curl reuses it across the URLs of one
# invocation), timed from start to end: GET /healthz (transport and MHD only) and
# GET /v1/summary with a bearer token (a store read, JSON). A third figure opens a new
# connection per request (TLS handshake each time): N/50 sequential curl invocations. Per
# transport and figure the median over REPS repetitions; the ratio is HTTPS / plain. The
# load average is recorded at the start and end. Rows:
#   ROW|figure|posfleet|baseline|ratio|target|met
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/stack.sh"

if [[ -n "${SMOKE:-}" ]]; then
    N=${N:-200} REPS=${REPS:-1}
fi
N=${N:-5000}
REPS=${REPS:-5}
command -v curl >/dev/null || pf_fail "curl is needed"
load0=$(cut -d' ' -f1-3 /proc/loadavg)

pf_pki_init "$(pf_tmpdir pki)"
"$PF_KEYS" server-cert --dir "$PF_PKI" --cn api --loopback >/dev/null || pf_fail "api certificate"
"$PF_KEYS" api-token --name bench --role viewer --file "$PF_TMP/tokens" >"$PF_TMP/viewer.token"
"$PF_KEYS" api-token --name bench-ops --role ops --file "$PF_TMP/tokens" >"$PF_TMP/ops.token"
dead_port=$(pf_free_port)

start() { # NAME TLS_LINES -> prints the port
    local name="$1" port
    port=$(pf_free_port)
    mkdir -p "$PF_TMP/$name"
    cat >"$PF_TMP/$name/posfleetd.conf" <<CONF
mqtt.host = 127.0.0.1
mqtt.port = $dead_port
mqtt.reconnect_min_ms = 30000
mqtt.reconnect_max_ms = 600000
store.path = $PF_TMP/$name/posfleetd.db
http.addr = 127.0.0.1
http.port = $port
http.tokens = $PF_TMP/tokens
log_level = warn
$2
CONF
    pf_spawn "posfleetd-$name" "$PF_SERVERD" -c "$PF_TMP/$name/posfleetd.conf"
    echo "$port"
}
tls_port=$(start tls "http.cert = $PF_PKI/api.crt
http.key = $PF_PKI/api.key")
plain_port=$(start plain "http.tls = off")
TLS_URL="https://127.0.0.1:$tls_port" PLAIN_URL="http://127.0.0.1:$plain_port"
CA=(--cacert "$PF_PKI/ca.crt")
up() { curl -sf "${CA[@]}" -o /dev/null "$1/healthz"; }
pf_wait_for 20 "posfleetd over HTTPS" up "$TLS_URL"
pf_wait_for 20 "posfleetd over plain HTTP" up "$PLAIN_URL"
seq -f 'BH-%05g,PX-500,r2' 1 100 | sed '1i serial,model,hw_rev' >"$PF_TMP/fleet.csv"
imported() {
    "$PF_CLI" --server "$1" --cacert "$PF_PKI/ca.crt" --token-file "$PF_TMP/ops.token" \
        device import "$PF_TMP/fleet.csv" >/dev/null 2>&1
}
pf_wait_for 20 "the import over HTTPS" imported "$TLS_URL"
pf_wait_for 20 "the import over plain HTTP" imported "$PLAIN_URL"
auth="Authorization: Bearer $(cat "$PF_TMP/viewer.token")"

# rate BASE PATH COUNT: requests per second, COUNT sequential requests on one connection.
rate() {
    local cfg="$PF_TMP/curl.cfg" t0 t1 i
    : >"$cfg"
    for ((i = 0; i < $3; i++)); do printf 'url = "%s%s"\noutput = "/dev/null"\n' "$1" "$2" >>"$cfg"; done
    t0=$(date +%s%N)
    curl -sf "${CA[@]}" -H "$auth" --config "$cfg" || pf_fail "curl $1$2 failed"
    t1=$(date +%s%N)
    echo $(($3 * 1000000000 / (t1 - t0)))
}
# fresh BASE COUNT: requests per second with a new connection (and handshake) for each.
fresh() {
    local t0 t1 i
    t0=$(date +%s%N)
    for ((i = 0; i < $2; i++)); do curl -sf "${CA[@]}" -o /dev/null "$1/healthz" || pf_fail "curl"; done
    t1=$(date +%s%N)
    echo $(($2 * 1000000000 / (t1 - t0)))
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

declare -A res
for ((r = 0; r < REPS; r++)); do
    for t in tls plain; do
        base=$TLS_URL
        [[ $t == plain ]] && base=$PLAIN_URL
        res[$t.healthz]+="$(rate "$base" /healthz "$N") "
        res[$t.summary]+="$(rate "$base" /v1/summary "$N") "
        res[$t.fresh]+="$(fresh "$base" $((N / 50))) "
    done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
pf_log "load average: start $load0, end $load1; N=$N REPS=$REPS"
for f in healthz summary fresh; do
    h=$(tr ' ' '\n' <<<"${res[tls.$f]}" | grep . | median)
    p=$(tr ' ' '\n' <<<"${res[plain.$f]}" | grep . | median)
    ratio=$(awk -v a="$h" -v b="$p" 'BEGIN {printf "%.2f", a / b}')
    case $f in
    healthz) fig="GET /healthz, one kept-alive connection, requests/s (HTTPS vs plain HTTP)" tgt=0.5 ;;
    summary) fig="GET /v1/summary, one kept-alive connection, requests/s (HTTPS vs plain HTTP)" tgt=0.5 ;;
    fresh) fig="GET /healthz, a new connection per request, requests/s (HTTPS vs plain HTTP)" tgt=0.2 ;;
    esac
    met=$(awk -v r="$ratio" -v t="$tgt" 'BEGIN {print (r >= t) ? "yes" : "no"}')
    echo "ROW|$fig; load $load0 → $load1|$h|plain HTTP: $p|$ratio|≥ $tgt|$met"
done
