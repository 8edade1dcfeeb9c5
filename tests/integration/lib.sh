# shellcheck shell=bash
#
# lib.sh - the harness every integration test sources.
#
#   set -euo pipefail
#   . "$(dirname "$0")/lib.sh"
#
# It gives each test a private temporary directory, free loopback ports, a
# development PKI, a real Mosquitto broker with the project's configuration,
# background processes whose logs are printed when the test fails, and polling
# with deadlines (no fixed sleeps anywhere). Everything a test starts through
# these functions is stopped by the EXIT trap installed here; a test that needs
# more cleanup registers it with pf_at_exit.
#
# Binaries come from $POSFLEET_BUILD (ctest sets it; default build/ in the
# source tree), sources from $POSFLEET_SRC. PF_KEEP_TMP=1 keeps the temporary
# directory of a failed test.

if [[ -n "${PF_LIB_LOADED:-}" ]]; then
    return 0
fi
PF_LIB_LOADED=1

PF_SRC="${POSFLEET_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
PF_BUILD="${POSFLEET_BUILD:-$PF_SRC/build}"
PF_KEYS="$PF_BUILD/keys/posfleet-keys"
PF_TEST_NAME="$(basename "${0%.sh}")"

PF_TMP="$(mktemp -d "${TMPDIR:-/tmp}/pf-${PF_TEST_NAME}.XXXXXX")"
mkdir -p "$PF_TMP/logs"
chmod 700 "$PF_TMP"

PF_SPAWN_NAMES=()
PF_SPAWN_PIDS=()
PF_EXIT_HOOKS=()
PF_FAILED=0
PF_LOGS_SHOWN=0

# ---------------------------------------------------------------------------
# Messages, failure, cleanup

pf_log() {
    printf '[%s %s] %s\n' "$PF_TEST_NAME" "$(date +%H:%M:%S.%N | cut -c1-12)" "$*" >&2
}

# Prints the last lines of every log the harness collected.
pf_show_logs() {
    local f
    [[ "$PF_LOGS_SHOWN" == 1 ]] && return 0
    PF_LOGS_SHOWN=1
    for f in "$PF_TMP"/logs/*.log; do
        [[ -e "$f" ]] || continue
        printf '\n----- %s (last 60 lines) -----\n' "${f#"$PF_TMP"/}" >&2
        tail -n 60 "$f" >&2 || true
    done
    printf -- '----- end of logs -----\n' >&2
}

# pf_fail MSG...: fails the test with a message and the collected logs.
pf_fail() {
    PF_FAILED=1
    printf '\nFAIL %s: %s\n' "$PF_TEST_NAME" "$*" >&2
    pf_show_logs
    exit 1
}

# pf_at_exit CMD...: runs CMD (a string, eval'ed) when the test exits, before
# the harness stops its own processes. Hooks run in reverse order.
pf_at_exit() {
    PF_EXIT_HOOKS+=("$*")
}

# pf_stop_pid PID [TIMEOUT_S]: SIGTERM, wait up to TIMEOUT_S (default 5), then SIGKILL.
pf_stop_pid() {
    local pid="$1" timeout="${2:-5}" deadline
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + timeout))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        # A child of this shell: wait reaps it as soon as it exits.
        if ! sleep 0.05; then break; fi
    done
    wait "$pid" 2>/dev/null || true
}

pf__cleanup() {
    local rc=$? i
    set +e
    trap - EXIT INT TERM
    for ((i = ${#PF_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
        eval "${PF_EXIT_HOOKS[$i]}"
    done
    for ((i = ${#PF_SPAWN_PIDS[@]} - 1; i >= 0; i--)); do
        pf_stop_pid "${PF_SPAWN_PIDS[$i]}" 5
    done
    if [[ -n "${PF_BROKER_PID:-}" ]]; then
        pf_stop_pid "$PF_BROKER_PID" 5
    fi
    # A sanitizer report from any process of the run (posfleetd, agents, sims, the CLI's
    # logs) fails the test, whatever the process's exit status was: under the test
    # suite's ASan+UBSan build a leak or a runtime error is a defect.
    if compgen -G "$PF_TMP/logs/*.log" >/dev/null &&
        grep -lE '(ERROR|SUMMARY): (Address|Leak|Undefined)Sanitizer|: runtime error: ' \
            "$PF_TMP"/logs/*.log >"$PF_TMP/sanitizer-hits" 2>/dev/null; then
        printf '\nFAIL %s: sanitizer reports in %s\n' "$PF_TEST_NAME" \
            "$(sed "s|$PF_TMP/||" "$PF_TMP/sanitizer-hits" | tr '\n' ' ')" >&2
        PF_FAILED=1 rc=1
    fi
    if ((rc != 0)) || [[ "$PF_FAILED" == 1 ]]; then
        pf_show_logs
        if [[ "${PF_KEEP_TMP:-0}" == 1 ]]; then
            printf 'kept %s\n' "$PF_TMP" >&2
            exit "$rc"
        fi
    fi
    rm -rf "$PF_TMP"
    exit "$rc"
}
trap pf__cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# pf_tmpdir [NAME]: creates and prints a fresh directory inside the test's
# temporary directory (removed on exit).
pf_tmpdir() {
    local d
    if [[ $# -gt 0 ]]; then
        d="$PF_TMP/$1"
        mkdir -p "$d"
    else
        d="$(mktemp -d "$PF_TMP/d.XXXXXX")"
    fi
    printf '%s\n' "$d"
}

# pf_require_bin PATH: fails clearly when a binary the test needs was not built.
pf_require_bin() {
    [[ -x "$1" ]] || pf_fail "$1 is missing: build the tree first (POSFLEET_BUILD=$PF_BUILD)"
}

# ---------------------------------------------------------------------------
# Polling and processes

# pf_wait_for TIMEOUT_S DESCRIPTION CMD...: runs CMD every 50 ms until it
# succeeds; fails the test naming DESCRIPTION when TIMEOUT_S has passed.
pf_wait_for() {
    local timeout="$1" what="$2" start now
    shift 2
    start="$(date +%s%N)"
    while true; do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        now="$(date +%s%N)"
        if (((now - start) / 1000000 >= timeout * 1000)); then
            pf_fail "timed out after ${timeout}s waiting for: $what"
        fi
        sleep 0.05
    done
}

# pf_spawn NAME CMD...: starts CMD in the background, stdout and stderr in
# $PF_TMP/logs/NAME.log; sets PF_SPAWN_PID. Stopped at exit or by pf_kill NAME.
pf_spawn() {
    local name="$1"
    shift
    "$@" >"$PF_TMP/logs/$name.log" 2>&1 </dev/null &
    PF_SPAWN_PID=$!
    PF_SPAWN_NAMES+=("$name")
    PF_SPAWN_PIDS+=("$PF_SPAWN_PID")
}

# pf_log_of NAME: path of a spawned process's log.
pf_log_of() {
    printf '%s\n' "$PF_TMP/logs/$1.log"
}

# pf_pid_of NAME: pid of the most recent process spawned under NAME.
pf_pid_of() {
    local i
    for ((i = ${#PF_SPAWN_NAMES[@]} - 1; i >= 0; i--)); do
        if [[ "${PF_SPAWN_NAMES[$i]}" == "$1" ]]; then
            printf '%s\n' "${PF_SPAWN_PIDS[$i]}"
            return 0
        fi
    done
    return 1
}

# pf_kill NAME [TIMEOUT_S]: stops a spawned process (SIGTERM, then SIGKILL).
pf_kill() {
    local pid
    pid="$(pf_pid_of "$1")" || pf_fail "pf_kill: nothing spawned as $1"
    pf_stop_pid "$pid" "${2:-5}"
}

# pf_alive NAME: true while the spawned process runs.
pf_alive() {
    local pid
    pid="$(pf_pid_of "$1")" || return 1
    kill -0 "$pid" 2>/dev/null
}

# pf_free_port: prints a loopback TCP port nobody listens on, below the
# ephemeral range so outgoing connections do not take it. Callers that bind
# it retry on a collision (pf_broker_start does).
pf_free_port() {
    local port i
    for ((i = 0; i < 200; i++)); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        if command -v ss >/dev/null 2>&1; then
            if [[ -z "$(ss -Htan "( sport = :$port )" 2>/dev/null)" ]]; then
                printf '%s\n' "$port"
                return 0
            fi
        elif ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            printf '%s\n' "$port"
            return 0
        fi
    done
    pf_fail "no free loopback port found"
}

# ---------------------------------------------------------------------------
# Development PKI (posfleet-keys)

# pf_pki_init DIR: device CA in DIR, a broker certificate for 127.0.0.1 and
# localhost (DIR/broker.crt, .key) and posfleetd's client certificate
# (DIR/posfleetd.crt, .key). Exports PF_PKI=DIR.
pf_pki_init() {
    local dir="$1"
    pf_require_bin "$PF_KEYS"
    "$PF_KEYS" ca-init --dir "$dir" >/dev/null || pf_fail "posfleet-keys ca-init $dir failed"
    "$PF_KEYS" server-cert --dir "$dir" --cn broker --ip 127.0.0.1 --dns localhost >/dev/null ||
        pf_fail "posfleet-keys server-cert broker failed"
    "$PF_KEYS" server-cert --dir "$dir" --cn posfleetd >/dev/null ||
        pf_fail "posfleet-keys server-cert posfleetd failed"
    export PF_PKI="$dir"
}

# pf_device_cert DIR SERIAL: a terminal certificate, DIR/devices/SERIAL.crt and .key.
pf_device_cert() {
    "$PF_KEYS" device-cert --dir "$1" --serial "$2" >/dev/null ||
        pf_fail "posfleet-keys device-cert $2 failed"
}

# pf_cert_of NAME [PKI]: prints "CRT KEY" of posfleetd, broker or a terminal.
pf_cert_of() {
    local pki="${2:-$PF_PKI}"
    if [[ -e "$pki/$1.crt" ]]; then
        printf '%s %s\n' "$pki/$1.crt" "$pki/$1.key"
    else
        printf '%s %s\n' "$pki/devices/$1.crt" "$pki/devices/$1.key"
    fi
}

# ---------------------------------------------------------------------------
# Mosquitto

pf__mosquitto_bin() {
    if command -v mosquitto >/dev/null 2>&1; then
        command -v mosquitto
    elif [[ -x /usr/sbin/mosquitto ]]; then
        printf '/usr/sbin/mosquitto\n'
    else
        return 1
    fi
}

# pf_mqtt_opts NAME [PKI]: mosquitto_pub/sub options to connect to the test
# broker as NAME (posfleetd or a serial) over TLS with MQTT v5.
pf_mqtt_opts() {
    local crt key
    read -r crt key < <(pf_cert_of "$1" "${2:-$PF_PKI}")
    printf -- '-h 127.0.0.1 -p %s --cafile %s --cert %s --key %s -V mqttv5\n' \
        "$PF_BROKER_PORT" "$PF_PKI/ca.crt" "$crt" "$key"
}

# pf_mqtt_pub NAME ARGS...: mosquitto_pub as NAME (10 s limit).
pf_mqtt_pub() {
    local name="$1"
    shift
    # shellcheck disable=SC2046
    timeout 10 mosquitto_pub $(pf_mqtt_opts "$name") "$@"
}

# pf_mqtt_sub_spawn LOGNAME NAME ARGS...: a background mosquitto_sub as NAME
# printing "topic payload" lines into the log LOGNAME (line-buffered, so a
# test can poll the log).
pf_mqtt_sub_spawn() {
    local logname="$1" name="$2"
    shift 2
    # shellcheck disable=SC2046
    pf_spawn "$logname" stdbuf -oL -eL mosquitto_sub $(pf_mqtt_opts "$name") -v "$@"
}

# The ACL plugin (packaging/mosquitto/plugin) built in this build tree.
PF_ACL_PLUGIN="$PF_BUILD/packaging/posfleet_acl.so"

# The broker's per-terminal publish limit (plugin_opt_publish_rate / _burst).
# Off (rate 0) unless PF_BROKER_PUB_RATE is set: the tests of posfleetd's own
# ingest limit need the broker to forward a flood; test_broker_rate.sh and the
# flood benchmark set it.
pf__broker_config() {
    local conf="$1" bdir="$2" pki="$3" port="$4"
    [[ -f "$PF_ACL_PLUGIN" ]] ||
        pf_fail "$PF_ACL_PLUGIN is missing: build the tree first (needs mosquitto-dev)"
    sed -e "s|@ACL_FILE@|$bdir/posfleet.acl|" \
        -e "s|@ACL_PLUGIN@|$PF_ACL_PLUGIN|" \
        -e "s|@USER@|$(id -un)|" \
        -e "s|@PORT@|$port|" \
        -e "s|@PUB_RATE@|${PF_BROKER_PUB_RATE:-0}|" \
        -e "s|@PUB_BURST@|${PF_BROKER_PUB_BURST:-400}|" \
        -e "s|@BIND@|127.0.0.1|" \
        -e "s|@CAPATH@|$bdir/capath|" \
        -e "s|@CRL_FILE@|$bdir/crl.pem|" \
        -e "s|@CERT_FILE@|$pki/broker.crt|" \
        -e "s|@KEY_FILE@|$pki/broker.key|" \
        -e "s|@PERSIST_DIR@|$bdir/data|" \
        "$PF_SRC/packaging/mosquitto/posfleet.conf.in" >"$conf"
}

# The harness probes the broker with its own identity, never posfleetd's or a
# terminal's: a second connection with someone's certificate would take over
# that client's session.
PF_PROBE_ID=pf-harness-probe

# True once the broker completes a TLS handshake and a SUBACK for the probe.
pf__broker_ready() {
    # shellcheck disable=SC2046
    timeout 5 mosquitto_sub $(pf_mqtt_opts "$PF_PROBE_ID") -t "pf/v1/cmd/$PF_PROBE_ID/ready" \
        -E -W 4 >/dev/null 2>&1
}

# pf_broker_start PKI_DIR [BROKER_DIR]: writes the broker's configuration
# (packaging/mosquitto templates), installs the CA and CRL into its hashed CA
# directory, starts Mosquitto on a free port (or $PF_BROKER_PORT when set, as
# pf_broker_restart does) and waits until it accepts TLS connections.
# Sessions persist in BROKER_DIR/data across pf_broker_restart. The readiness
# probe connects as $PF_PROBE_ID (a device certificate issued on first use).
# Exports PF_BROKER_PORT, PF_BROKER_PID, PF_BROKER_CONF, PF_BROKER_DIR.
pf_broker_start() {
    local pki="$1" bdir="${2:-$PF_TMP/broker}" mosq fixed_port="${PF_BROKER_PORT:-}" attempt
    local port log deadline version
    mosq="$(pf__mosquitto_bin)" ||
        pf_fail "mosquitto not found: apt-get install mosquitto mosquitto-clients"
    version="$("$mosq" -h 2>&1 || true)"
    [[ "$version" == *"mosquitto version 2."* ]] ||
        pf_fail "$mosq is not Mosquitto 2.x: ${version%%$'\n'*}"
    command -v mosquitto_sub >/dev/null 2>&1 ||
        pf_fail "mosquitto_sub not found: apt-get install mosquitto-clients"
    pf_require_bin "$PF_KEYS"
    export PF_PKI="$pki"
    mkdir -p "$bdir/data"
    cp "$PF_SRC/packaging/mosquitto/posfleet.acl" "$bdir/posfleet.acl"
    [[ -e "$pki/devices/$PF_PROBE_ID.crt" ]] || pf_device_cert "$pki" "$PF_PROBE_ID"
    "$PF_KEYS" crl --dir "$pki" --capath "$bdir/capath" --install-only >/dev/null ||
        pf_fail "cannot install the CA and CRL into $bdir/capath"
    cp "$pki/crl.pem" "$bdir/crl.pem"
    PF_BROKER_CONF="$bdir/mosquitto.conf"
    PF_BROKER_DIR="$bdir"
    export PF_BROKER_CONF PF_BROKER_DIR

    for attempt in 1 2 3 4 5; do
        port="${fixed_port:-$(pf_free_port)}"
        pf__broker_config "$PF_BROKER_CONF" "$bdir" "$pki" "$port"
        log="$PF_TMP/logs/mosquitto.log"
        printf -- '--- start on port %s (attempt %s)\n' "$port" "$attempt" >>"$log"
        OPENSSL_CONF="$PF_SRC/packaging/mosquitto/openssl.cnf" \
            "$mosq" -c "$PF_BROKER_CONF" >>"$log" 2>&1 </dev/null &
        PF_BROKER_PID=$!
        PF_BROKER_PORT="$port"
        export PF_BROKER_PID PF_BROKER_PORT
        deadline=$((SECONDS + 20))
        while kill -0 "$PF_BROKER_PID" 2>/dev/null; do
            if pf__broker_ready; then
                pf_log "mosquitto $PF_BROKER_PID listening on 127.0.0.1:$port"
                return 0
            fi
            ((SECONDS < deadline)) || pf_fail "mosquitto did not accept TLS within 20 s"
            sleep 0.05
        done
        wait "$PF_BROKER_PID" 2>/dev/null || true
        PF_BROKER_PID=""
        if [[ -n "$fixed_port" ]]; then
            # The same port is required (restart): it may still be held briefly.
            ((attempt < 5)) || pf_fail "mosquitto could not listen on port $port again"
            pf_wait_for 10 "port $port to be free" pf__port_free "$port"
        elif ! grep -q 'Address already in use' "$log"; then
            pf_fail "mosquitto exited at start (see mosquitto.log)"
        fi
    done
    pf_fail "mosquitto could not find a free port"
}

pf__port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pf_broker_stop: stops the broker (SIGTERM, then SIGKILL after 10 s).
pf_broker_stop() {
    [[ -n "${PF_BROKER_PID:-}" ]] || return 0
    pf_stop_pid "$PF_BROKER_PID" 10
    PF_BROKER_PID=""
}

# pf_broker_restart: stops the broker and starts it again on the same port
# with the same PKI and its saved sessions; connected clients reconnect on
# their own.
pf_broker_restart() {
    [[ -n "${PF_BROKER_PORT:-}" ]] || pf_fail "pf_broker_restart: no broker was started"
    pf_broker_stop
    pf_broker_start "$PF_PKI" "$PF_BROKER_DIR"
}

# pf_broker_apply_crl [--restart]: applies the PKI's current CRL to the running
# broker. The CRL is installed as the next HASH.rN of the broker's capath,
# which OpenSSL consults at every handshake: from now on a revoked certificate
# cannot connect, without a restart. Connections already open are not
# re-verified by TLS; --restart also restarts the broker to cut them (every
# client reconnects). Also refreshes the crlfile used at the next start.
pf_broker_apply_crl() {
    [[ -n "${PF_BROKER_DIR:-}" ]] || pf_fail "pf_broker_apply_crl: no broker was started"
    "$PF_KEYS" crl --dir "$PF_PKI" --capath "$PF_BROKER_DIR/capath" --install-only >/dev/null ||
        pf_fail "cannot install the CRL into $PF_BROKER_DIR/capath"
    cp "$PF_PKI/crl.pem" "$PF_BROKER_DIR/crl.pem.tmp"
    mv "$PF_BROKER_DIR/crl.pem.tmp" "$PF_BROKER_DIR/crl.pem"
    if [[ "${1:-}" == --restart ]]; then
        pf_broker_restart
    fi
}

# pf_flip_byte FILE OFFSET: inverts every bit of the byte at OFFSET (a negative
# OFFSET counts from the end). Unlike writing a fixed value, this always changes
# the file.
pf_flip_byte() {
    local f="$1" off="$2" byte
    ((off >= 0)) || off=$(($(stat -c %s "$f") + off))
    byte=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' ')
    [[ -n "$byte" ]] || pf_fail "pf_flip_byte: offset $off is outside $f"
    printf "\\x$(printf %02x $((byte ^ 0xff)))" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

# ---------------------------------------------------------------------------
# posfleetd, posfleet-agent, posfleet-sim
#
# (pf_server_start, pf_agent_start and friends go here; they build on
# pf_spawn, pf_wait_for, pf_free_port, PF_PKI, PF_BROKER_PORT and pf_cert_of.)
