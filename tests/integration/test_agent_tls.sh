#!/usr/bin/env bash
#
# test_agent_tls.sh - the real posfleet-agent binary against the project's
# Mosquitto (TLS, client certificates, ACLs), watched by an observer holding
# posfleetd's certificate:
#   - a terminal certificate connects; state online, birth, then health with
#     the simulated hardware's values (battery 4 %, screen self-test failing);
#   - a live change in the HAL directory shows in the next report;
#   - an application ack published by posfleetd reaches the agent;
#   - while the broker is down reports queue on disk; they survive a restart
#     of the agent and arrive in order, marked queued, once the broker is back;
#   - a broker restart is survived and counted in errors.reconnects;
#   - SIGTERM makes the broker publish the terminal's "offline" will and the
#     agent exit 0;
#   - a bad configuration exits 2 naming the file, line and key;
#   - a certificate from another CA is refused and retried with backoff.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

AGENT="$PF_BUILD/agent/posfleet-agent"
pf_require_bin "$AGENT"
SERIAL=TA-0101

PKI="$(pf_tmpdir pki)"
pf_pki_init "$PKI"
pf_device_cert "$PKI" "$SERIAL"
# The canary has its own identity: a second connection with the agent's
# certificate would take the agent's session over (client id = CN).
CANARY=TA-0199
pf_device_cert "$PKI" "$CANARY"
pf_broker_start "$PKI"

HAL="$(pf_tmpdir hal)"
STATE="$(pf_tmpdir state)"
CONF="$PF_TMP/agent.conf"
read -r CRT KEY < <(pf_cert_of "$SERIAL")

write_conf() { # write_conf FILE CA CRT KEY STATE
    cat >"$1" <<CONF
# test terminal
serial = $SERIAL
model = PX-500
hw_rev = r2
broker.host = 127.0.0.1
broker.port = $PF_BROKER_PORT
tls.ca = $2
tls.cert = $3
tls.key = $4
state_dir = $5
hal = sim
hal.dir = $HAL
health_interval_s = 1
health_jitter_pct = 0
backoff_min_ms = 100
backoff_max_ms = 500
keepalive_s = 10
fw_version = 1.4.2
fee_version = 2026.11.1
log_level = debug
CONF
}
write_conf "$CONF" "$PKI/ca.crt" "$CRT" "$KEY" "$STATE"

OBS=observer
obs_log() { pf_log_of "$OBS"; }
# health_field SEQ REGEX: the health report with this seq matches REGEX.
health_line() { grep -E "^pf/v1/dev/$SERIAL/health \{.*\"seq\":$1," "$(obs_log)"; }
has_health() { health_line "$1" | grep -qE -- "$2"; }
has() { grep -qE -- "$1" "$(obs_log)"; }

# ---------------------------------------------------------------------------
pf_log "1. a bad configuration is refused with file, line and key"
BAD="$PF_TMP/bad.conf"
printf 'serial = %s\nhealth_interval_s = 0\n' "$SERIAL" >"$BAD"
set +e
out="$("$AGENT" -c "$BAD" 2>&1)"
rc=$?
set -e
[[ "$rc" == 2 ]] || pf_fail "bad config: exit $rc, expected 2"
[[ "$out" == *"$BAD:2: health_interval_s: 0 out of range"* ]] ||
    pf_fail "bad config message: $out"
"$AGENT" -c "$CONF" --check-config || pf_fail "--check-config rejected a good configuration"
[[ ! -e "$STATE/seq" ]] || pf_fail "--check-config wrote state"

# ---------------------------------------------------------------------------
pf_log "2. connect over TLS: state, birth, health with the HAL's values"
echo 4 >"$HAL/battery_pct"
echo fail >"$HAL/screen"
observe() { # observe NAME: a posfleetd observer, live once it sees a canary
    OBS="$1"
    pf_mqtt_sub_spawn "$OBS" posfleetd -q 1 -t "pf/v1/dev/$SERIAL/#" -t "pf/v1/dev/$CANARY/#"
    pf_wait_for 15 "$OBS to see the canary" canary
}
canary() {
    pf_mqtt_pub "$CANARY" -q 1 -t "pf/v1/dev/$CANARY/health" -m up >/dev/null 2>&1 &&
        has "^pf/v1/dev/$CANARY/health up$"
}
observe observer

pf_spawn agent "$AGENT" -c "$CONF"
pf_wait_for 15 "state online" has "^pf/v1/dev/$SERIAL/state \{\"v\":1,\"state\":\"online\""
pf_wait_for 10 "birth" has "^pf/v1/dev/$SERIAL/birth .*\"model\":\"PX-500\""
has "^pf/v1/dev/$SERIAL/birth .*\"screen\":\"fail\"" || pf_fail "birth lacks the failing screen"
has "^pf/v1/dev/$SERIAL/birth .*\"fw\":\{\"version\":\"1.4.2\"" || pf_fail "birth lacks fw 1.4.2"
pf_wait_for 10 "health seq 1" health_line 1
has_health 1 '"battery_pct":4,' || pf_fail "health 1 lacks battery 4: $(health_line 1)"
has_health 1 '"queued":false' || pf_fail "health 1 not live: $(health_line 1)"
has_health 1 '"tamper":false' || pf_fail "health 1: tamper"

# ---------------------------------------------------------------------------
pf_log "3. a live HAL change shows in a later report"
echo 1 >"$HAL/tamper"
echo out >"$HAL/paper"
tampered() { grep -E "^pf/v1/dev/$SERIAL/health " "$(obs_log)" | grep -q '"tamper":true'; }
pf_wait_for 10 "a report with tamper true" tampered
grep -E "^pf/v1/dev/$SERIAL/health .*\"tamper\":true" "$(obs_log)" | grep -q '"paper":"out"' ||
    pf_fail "tampered report lacks paper out"

# ---------------------------------------------------------------------------
pf_log "4. posfleetd's ack reaches the agent"
pf_mqtt_pub posfleetd -q 1 -t "pf/v1/cmd/$SERIAL/ack" -m '{"v":1,"id":"evt-7"}'
pf_wait_for 10 "agent to log the ack" grep -q "ack for event evt-7" "$(pf_log_of agent)"

# ---------------------------------------------------------------------------
pf_log "5. broker down: reports queue on disk, survive an agent restart, arrive in order"
last_seq() { cat "$STATE/seq"; }
queued_files() { find "$STATE/queue" -name '*.msg' | wc -l; }
pf_broker_stop
pf_kill "$OBS"
before="$(last_seq)"
three_queued() { (($(queued_files) >= 3)); }
pf_wait_for 15 "three reports queued on disk" three_queued
# The terminal is switched off while offline: its queue must survive that.
pf_kill agent
[[ "$(pf_alive agent && echo up || echo down)" == down ]] || pf_fail "agent did not stop"
nqueued="$(queued_files)"
pf_broker_start "$PKI" "$PF_BROKER_DIR"
observe observer2
pf_spawn agent "$AGENT" -c "$CONF"
empty_queue() { (($(queued_files) == 0)); }
pf_wait_for 30 "the queue to drain" empty_queue
# Every report taken while the broker was down arrived, oldest first, marked queued.
prev=0
for ((s = before + 1; s <= before + nqueued; s++)); do
    pf_wait_for 10 "health seq $s" health_line "$s"
    has_health "$s" '"queued":true' || pf_fail "seq $s not marked queued: $(health_line "$s")"
    n="$(grep -nE "^pf/v1/dev/$SERIAL/health \{.*\"seq\":$s," "$(obs_log)" | head -1 | cut -d: -f1)"
    ((n > prev)) || pf_fail "seq $s arrived out of order"
    prev="$n"
done

# ---------------------------------------------------------------------------
pf_log "5b. a broker restart is survived and counted"
pf_kill "$OBS"
pf_broker_restart
observe observer3
reconnected() {
    grep -E "^pf/v1/dev/$SERIAL/health " "$(obs_log)" | grep -q '"reconnects":1,'
}
pf_wait_for 15 "a report counting one reconnect" reconnected

# ---------------------------------------------------------------------------
pf_log "6. SIGTERM: offline will published, exit 0"
pid="$(pf_pid_of agent)"
kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
[[ "$rc" == 0 ]] || pf_fail "agent exited $rc after SIGTERM"
pf_wait_for 10 "state offline" has "^pf/v1/dev/$SERIAL/state \{\"v\":1,\"state\":\"offline\"\}"

# ---------------------------------------------------------------------------
pf_log "7. a certificate from another CA is refused and retried with backoff"
OTHER="$(pf_tmpdir other-pki)"
"$PF_KEYS" ca-init --dir "$OTHER" >/dev/null
"$PF_KEYS" device-cert --dir "$OTHER" --serial "$SERIAL" >/dev/null
CONF2="$PF_TMP/agent-other.conf"
write_conf "$CONF2" "$PKI/ca.crt" "$OTHER/devices/$SERIAL.crt" "$OTHER/devices/$SERIAL.key" \
    "$(pf_tmpdir state2)"
pf_spawn agent_other "$AGENT" -c "$CONF2"
two_failures() { (($(grep -c "connect failed" "$(pf_log_of agent_other)") >= 2)); }
pf_wait_for 15 "two refused attempts" two_failures
grep -q "reconnecting in" "$(pf_log_of agent_other)" || pf_fail "no backoff logged"
if grep -q "connected to" "$(pf_log_of agent_other)"; then
    pf_fail "a certificate from another CA got a session"
fi
pf_kill agent_other

pf_log "PASS"
