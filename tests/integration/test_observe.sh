#!/usr/bin/env bash
#
# test_observe.sh - what an operator's tooling sees of posfleet, with the real
# broker and binaries:
#   1. every binary answers --version with "NAME VERSION", the same CMake
#      project version for all six;
#   2. posfleetd's log lines carry a UTC timestamp and the level;
#   3. /metrics is valid Prometheus text (prom_check.py: HELP and TYPE for
#      every sample, histograms well formed) and its counters are there from
#      the start at zero;
#   4. /healthz and /readyz need no token; the HTTP request counters and the
#      latency histogram count requests by route pattern and code, a refused
#      one under route "(refused)"; terminals are counted by lifecycle state;
#   5. /readyz turns 503 (reason: broker) when the broker stops and 200 when it
#      is back, and the reconnect is counted.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

CHECK="$PF_SRC/tests/integration/prom_check.py"

# ---------------------------------------------------------------------------
pf_log "1. --version on every binary"
want=$(sed -n 's/^project(posfleet VERSION \([0-9.]*\).*/\1/p' "$PF_SRC/CMakeLists.txt")
[[ -n "$want" ]] || pf_fail "no project version in CMakeLists.txt"
for bin in server/posfleetd server/cli/posfleet agent/posfleet-agent tests/sim/posfleet-sim \
    packaging/posfleet-pack keys/posfleet-keys; do
    path="$PF_BUILD/$bin"
    [[ -x "$path" ]] || path=$(find "$PF_BUILD" -name "$(basename "$bin")" -type f -perm -u+x | head -1)
    pf_require_bin "$path"
    got=$("$path" --version) || pf_fail "$bin --version failed"
    [[ "$got" == "$(basename "$bin") $want" ]] ||
        pf_fail "$bin --version printed '$got', expected '$(basename "$bin") $want'"
done

# ---------------------------------------------------------------------------
pf_log "2. log lines with timestamp and level"
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
pf_server_start
SLOG=$(pf_log_of posfleetd)
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z posfleetd: info: http: listening on ' \
    "$SLOG" || pf_fail "no stamped 'info' line in posfleetd's log: $(head -3 "$SLOG")"
if grep -Ev '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z posfleetd: (error|warn|info|debug): ' "$SLOG" |
    grep -q .; then
    pf_fail "a log line without timestamp and level: $(grep -Ev '^[0-9]{4}-' "$SLOG" | head -1)"
fi

metrics() { curl -sf "$POSFLEET_URL/metrics"; }
# sample NAME_AND_LABELS: the value of one sample, exactly as rendered.
sample() { metrics | awk -v k="$1" 'index($0, k " ") == 1 { print $2; f = 1 } END { exit !f }'; }

# ---------------------------------------------------------------------------
pf_log "3. /metrics is valid Prometheus text with its counters at zero from the start"
# Before any terminal reports, every posfleet counter is zero but the HTTP
# requests (the harness asked for the summary) and the CPU time.
metrics >"$PF_TMP/m0.txt" || pf_fail "GET /metrics failed"
python3 "$CHECK" --zero posfleet_messages posfleet_store_errors posfleet_update posfleet_bundle \
    posfleet_chunk posfleet_broker_reconnects posfleet_webhook <"$PF_TMP/m0.txt" ||
    pf_fail "/metrics at start is not valid (see above)"
for k in 'posfleet_messages_rejected_total{reason="PARSE"}' \
    'posfleet_http_requests_total{method="POST",route="/v1/bundles",code="201"}' \
    'posfleet_broker_reconnects_total' 'posfleet_update_offers_total'; do
    grep -q "^$k 0$" "$PF_TMP/m0.txt" || pf_fail "counter $k is not present at 0 from the start"
done
for k in process_cpu_seconds_total process_resident_memory_bytes process_open_fds \
    posfleet_broker_connected 'posfleet_terminals{state="active"}' posfleet_repairs_open \
    posfleet_http_request_duration_seconds_count; do
    grep -q "^$k " "$PF_TMP/m0.txt" || pf_fail "no $k in /metrics"
done
(($(awk '/^process_resident_memory_bytes /{print $2}' "$PF_TMP/m0.txt") > 0)) ||
    pf_fail "process_resident_memory_bytes is not positive"
(($(awk '/^process_open_fds /{print $2}' "$PF_TMP/m0.txt") > 3)) ||
    pf_fail "process_open_fds counts too few descriptors"

# ---------------------------------------------------------------------------
pf_log "4. probes without a token; requests counted by route and code"
code=$(curl -s -o "$PF_TMP/h.json" -w '%{http_code}' "$POSFLEET_URL/healthz")
[[ "$code" == 200 ]] || pf_fail "/healthz answered $code"
code=$(curl -s -o "$PF_TMP/r.json" -w '%{http_code}' "$POSFLEET_URL/readyz")
[[ "$code" == 200 ]] || pf_fail "/readyz answered $code: $(cat "$PF_TMP/r.json")"
[[ $(pf_json_get "$.broker" <"$PF_TMP/r.json") == connected ]] || pf_fail "readyz: $(cat "$PF_TMP/r.json")"
ok0=$(sample 'posfleet_http_requests_total{method="GET",route="/v1/summary",code="200"}')
no0=$(sample 'posfleet_http_requests_total{method="",route="(refused)",code="401"}')
n0=$(sample posfleet_http_request_duration_seconds_count)
pf_cli summary >/dev/null
pf_cli summary >/dev/null
code=$(curl -s -o /dev/null -w '%{http_code}' "$POSFLEET_URL/v1/summary")
[[ "$code" == 401 ]] || pf_fail "/v1/summary without a token answered $code"
ok1=$(sample 'posfleet_http_requests_total{method="GET",route="/v1/summary",code="200"}')
no1=$(sample 'posfleet_http_requests_total{method="",route="(refused)",code="401"}')
n1=$(sample posfleet_http_request_duration_seconds_count)
((ok1 == ok0 + 2)) || pf_fail "GET /v1/summary 200 counted $ok0 -> $ok1, expected +2"
((no1 == no0 + 1)) || pf_fail "the refused request counted $no0 -> $no1, expected +1"
# The three above and the two GET /metrics in between.
((n1 >= n0 + 4)) || pf_fail "latency histogram counted $n0 -> $n1 requests"
pf_cli device add OB-0001 --model PX-500 >/dev/null
pf_cli device add OB-0002 --model PX-500 >/dev/null
terminals() { metrics | awk '/^posfleet_terminals\{/ { n += $2 } END { print n + 0 }'; }
(($(terminals) == 2)) || pf_fail "posfleet_terminals sums to $(terminals), expected 2"

# ---------------------------------------------------------------------------
pf_log "5. /readyz follows the broker"
readyz_is() { [[ $(curl -s -o "$PF_TMP/r.json" -w '%{http_code}' "$POSFLEET_URL/readyz") == "$1" ]]; }
r0=$(sample posfleet_broker_reconnects_total)
pf_broker_stop
pf_wait_for 20 "/readyz to answer 503 with the broker stopped" readyz_is 503
[[ $(pf_json_get "$.reason" <"$PF_TMP/r.json") == *broker* ]] ||
    pf_fail "/readyz 503 does not name the broker: $(cat "$PF_TMP/r.json")"
[[ $(sample posfleet_broker_connected) == 0 ]] || pf_fail "posfleet_broker_connected is not 0"
code=$(curl -s -o /dev/null -w '%{http_code}' "$POSFLEET_URL/healthz")
[[ "$code" == 200 ]] || pf_fail "/healthz answered $code with the broker down"
pf_broker_start "$PF_PKI" "$PF_BROKER_DIR"
pf_wait_for 30 "/readyz to answer 200 with the broker back" readyz_is 200
[[ $(sample posfleet_broker_connected) == 1 ]] || pf_fail "posfleet_broker_connected is not 1"
r1=$(sample posfleet_broker_reconnects_total)
((r1 == r0 + 1)) || pf_fail "posfleet_broker_reconnects_total went $r0 -> $r1, expected +1"
metrics | python3 "$CHECK" || pf_fail "/metrics after traffic is not valid (see above)"
pf_log "versions, logs, metrics and probes as operators expect"
