# shellcheck shell=bash
#
# stack.sh - posfleetd, agents and the CLI for integration tests; sourced
# after lib.sh (which provides the broker, the PKI, pf_spawn and pf_wait_for).
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/stack.sh"
#   pf_pki_init "$(pf_tmpdir pki)"; pf_broker_start "$PF_PKI"
#   pf_server_start                  # posfleetd on a free HTTP port, ops/support/viewer tokens
#   pf_cli device add PF1 --model PX-500
#   pf_agent_start PF1               # a real posfleet-agent with the simulated HAL
#   pf_wait_for 20 "PF1 online" pf_device_online PF1

PF_AGENTD="$PF_BUILD/agent/posfleet-agent"
PF_PAN_SCAN="$PF_SRC/tests/integration/pan_scan.py"
PF_PAN_OBSERVER=pf-pan-observer
PF_SERVERD="$PF_BUILD/server/posfleetd"
PF_CLI="$PF_BUILD/server/cli/posfleet"

# pf_server_start [EXTRA_CONF_LINES]: writes $PF_TMP/server/posfleetd.conf and starts
# posfleetd against the test broker. Exports PF_HTTP_PORT, POSFLEET_URL, PF_STORE and
# PF_TOKEN_{OPS,SUPPORT,VIEWER} (token files). Waits until the API answers.
# PF_STORE_BATCH_MS: store.batch_ms (20 unless set; benchmarks use the production default).
# PF_STORE_DSN: a PostgreSQL connection string: store.backend = postgres on it instead of
# the SQLite file (PF_STORE then names no file).
# The API is plain HTTP on loopback (http.tls = off, said explicitly) unless PF_HTTP_TLS=1:
# then HTTPS with a certificate for localhost/127.0.0.1/::1 issued from the test CA
# ($PF_PKI/api.crt), POSFLEET_URL is https://127.0.0.1:PORT and POSFLEET_CACERT the CA.
pf_server_start() {
    local dir="$PF_TMP/server" extra="${1:-}" role
    pf_require_bin "$PF_SERVERD"
    pf_require_bin "$PF_CLI"
    pf__pan_observe
    mkdir -p "$dir"
    if [[ ! -f "$dir/tokens" ]]; then
        for role in ops support viewer; do
            "$PF_KEYS" api-token --name "test-$role" --role "$role" --file "$dir/tokens" \
                >"$dir/$role.token" || pf_fail "cannot create the $role token"
        done
    fi
    export PF_TOKEN_OPS="$dir/ops.token" PF_TOKEN_SUPPORT="$dir/support.token"
    export PF_TOKEN_VIEWER="$dir/viewer.token"
    export PF_STORE="$dir/posfleetd.db"
    PF_HTTP_PORT="${PF_HTTP_PORT:-$(pf_free_port)}"
    local tls="http.tls = off"
    if [[ "${PF_HTTP_TLS:-0}" == 1 ]]; then
        [[ -f "$PF_PKI/api.crt" ]] ||
            "$PF_KEYS" server-cert --dir "$PF_PKI" --cn api --loopback >/dev/null ||
            pf_fail "posfleet-keys server-cert api failed"
        tls="http.tls = on
http.cert = $PF_PKI/api.crt
http.key = $PF_PKI/api.key"
        export PF_HTTP_PORT POSFLEET_URL="https://127.0.0.1:$PF_HTTP_PORT"
        export POSFLEET_CACERT="$PF_PKI/ca.crt"
    else
        export PF_HTTP_PORT POSFLEET_URL="http://127.0.0.1:$PF_HTTP_PORT"
    fi
    # store.path stays in the test's directory on PostgreSQL too: it places the
    # default artifacts directory (never the system's /var/lib/posfleet).
    local store="store.path = $PF_STORE"
    [[ -z "${PF_STORE_DSN:-}" ]] || store="$store
store.backend = postgres
store.dsn = $PF_STORE_DSN"
    read -r crt key < <(pf_cert_of posfleetd)
    cat >"$dir/posfleetd.conf" <<CONF
mqtt.host = 127.0.0.1
mqtt.port = $PF_BROKER_PORT
mqtt.ca = $PF_PKI/ca.crt
mqtt.cert = $crt
mqtt.key = $key
mqtt.reconnect_min_ms = 100
mqtt.reconnect_max_ms = 1000
$store
store.batch_ms = ${PF_STORE_BATCH_MS:-20}
http.addr = 127.0.0.1
http.port = $PF_HTTP_PORT
$tls
http.tokens = $dir/tokens
report_interval_s = ${PF_REPORT_INTERVAL:-2}
silent_after = ${PF_SILENT_AFTER:-3}
log_level = info
$extra
CONF
    pf_spawn posfleetd "$PF_SERVERD" -c "$dir/posfleetd.conf"
    pf_wait_for 20 "posfleetd to answer on $POSFLEET_URL" pf_cli_quiet summary
}

# No card data anywhere (docs/security.md): from the first pf_server_start on, a privileged
# observer captures every message on pf/# into logs/pan-observer.log, and when the test exits
# every log in logs/ (posfleetd, agents, broker, that capture) and a dump of posfleetd's
# database are scanned for card numbers (pan_scan.py). A hit fails the test, whatever its own
# result. PF_PAN_SCAN_OFF=1 turns both off; benchmarks (tests/bench/) have it off by default,
# since a capture of everything would load the broker they measure.
[[ "$0" != *tests/bench/* ]] || PF_PAN_SCAN_OFF=${PF_PAN_SCAN_OFF:-1}
pf__pan_observe() {
    [[ -z "${PF_PAN_OBSERVING:-}" && -n "${PF_BROKER_PID:-}" && "${PF_PAN_SCAN_OFF:-0}" != 1 ]] ||
        return 0
    PF_PAN_OBSERVING=1
    [[ -f "$PF_PKI/devices/$PF_PAN_OBSERVER.crt" ]] || pf_device_cert "$PF_PKI" "$PF_PAN_OBSERVER"
    printf '\nuser %s\ntopic read pf/#\n' "$PF_PAN_OBSERVER" >>"$PF_BROKER_DIR/posfleet.acl"
    kill -HUP "$PF_BROKER_PID"
    pf_wait_for 15 "the broker to let the observer read pf/#" pf__pan_granted
    pf_mqtt_sub_spawn pan-observer "$PF_PAN_OBSERVER" -d -t 'pf/#'
    pf_wait_for 15 "the observer to subscribe" pf__pan_subscribed
    pf_at_exit pf__pan_check
}

pf__pan_granted() {
    # shellcheck disable=SC2046
    timeout 5 mosquitto_sub $(pf_mqtt_opts "$PF_PAN_OBSERVER") -d -t 'pf/#' -E -W 4 2>&1 |
        grep -qF 'Subscribed (mid: 1): 0'
}

pf__pan_subscribed() {
    grep -qF 'Subscribed (mid: 1): 0' "$(pf_log_of pan-observer)"
}

# Runs as an exit hook, inside lib.sh's cleanup: a hit sets its exit status (rc).
pf__pan_check() {
    local found="$PF_TMP/pan-found.txt" dump="$PF_TMP/posfleetd-db.sql"
    if [[ -n "${PF_STORE:-}" && -f "$PF_STORE" ]]; then
        sqlite3 -batch "$PF_STORE" .dump >"$dump" 2>/dev/null || true
    fi
    if ! python3 "$PF_PAN_SCAN" "$PF_TMP"/logs/*.log "$dump" >"$found" 2>&1; then
        printf '\nFAIL %s: card numbers in what the run produced:\n' "$PF_TEST_NAME" >&2
        sed "s|$PF_TMP/||" "$found" >&2
        # shellcheck disable=SC2034 # both read by pf__cleanup, which runs this hook
        PF_FAILED=1 rc=1
    fi
}

# pf_server_stop: SIGTERM posfleetd and wait for a clean exit.
pf_server_stop() {
    pf_kill posfleetd 10
}

# pf_cli ARGS...: the posfleet CLI as ops (PF_CLI_TOKEN overrides the token file). Times show
# in UTC unless the test sets TZ (or --tz), whatever the machine's zone.
pf_cli() {
    TZ="${TZ:-UTC}" "$PF_CLI" --server "$POSFLEET_URL" --token-file "${PF_CLI_TOKEN:-$PF_TOKEN_OPS}" "$@"
}

pf_cli_quiet() {
    pf_cli "$@" >/dev/null 2>&1
}

# pf_agent_start SERIAL [KEY=VALUE...]: issues SERIAL's certificate if needed, writes
# its configuration (extra keys override defaults) and starts posfleet-agent.
# The simulated HAL reads $PF_TMP/agents/SERIAL/hal/ (see pf_hal_set).
pf_agent_start() {
    local serial="$1" dir="$PF_TMP/agents/$1" kv
    shift
    pf_require_bin "$PF_AGENTD"
    mkdir -p "$dir/state" "$dir/hal"
    [[ -f "$PF_PKI/devices/$serial.crt" ]] || pf_device_cert "$PF_PKI" "$serial"
    read -r crt key < <(pf_cert_of "$serial")
    {
        echo "serial = $serial"
        echo "broker.host = 127.0.0.1"
        echo "broker.port = $PF_BROKER_PORT"
        echo "tls.ca = $PF_PKI/ca.crt"
        echo "tls.cert = $crt"
        echo "tls.key = $key"
        echo "state_dir = $dir/state"
        echo "hal.dir = $dir/hal"
        echo "backoff_min_ms = 100"
        echo "backoff_max_ms = 2000"
        local have=" "
        for kv in "$@"; do
            echo "${kv%%=*} = ${kv#*=}"
            have+="${kv%%=*} "
        done
        [[ "$have" == *" model "* ]] || echo "model = PX-500"
        [[ "$have" == *" hw_rev "* ]] || echo "hw_rev = r2"
        [[ "$have" == *" fw_version "* ]] || echo "fw_version = 1.0.0"
        [[ "$have" == *" health_interval_s "* ]] || echo "health_interval_s = ${PF_REPORT_INTERVAL:-2}"
    } >"$dir/agent.conf"
    pf_spawn "agent-$serial" "$PF_AGENTD" -c "$dir/agent.conf"
}

# pf_hal_set SERIAL NAME VALUE: sets a simulated HAL value (read at the next report).
pf_hal_set() {
    local f="$PF_TMP/agents/$1/hal/$2"
    printf '%s\n' "$3" >"$f.tmp" && mv "$f.tmp" "$f"
}

# pf_device_json SERIAL: the device as posfleetd's API returns it.
pf_device_json() {
    pf_cli --json device "$1" 2>/dev/null
}

# pf_json_get PATH: prints the value at a JSON path ('$.devices[0].serial') of the JSON
# on stdin, using SQLite's JSON functions (no extra package). Booleans print as 1/0.
pf_json_get() {
    local f
    f=$(mktemp "$PF_TMP/json.XXXXXX")
    cat >"$f"
    sqlite3 -batch -noheader :memory: \
        "select json_extract(cast(readfile('$f') as text), '$1');"
    rm -f "$f"
}

# pf_device_online SERIAL: true when posfleetd shows SERIAL online.
pf_device_online() {
    [[ "$(pf_device_json "$1" | pf_json_get '$.online')" == 1 ]]
}

# pf_device_field SERIAL PATH: prints a field of the device's JSON ('$.battery_pct').
pf_device_field() {
    pf_device_json "$1" | pf_json_get "$2"
}

# pf_sql QUERY: reads posfleetd's store (WAL allows a concurrent reader).
pf_sql() {
    sqlite3 -batch -noheader "$PF_STORE" "$1"
}
