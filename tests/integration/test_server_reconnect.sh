#!/usr/bin/env bash
#
# test_server_reconnect.sh - posfleetd keeps serving and comes back to its broker
# after the broker goes away, with the real broker and a real terminal:
#   1. the broker is stopped for a while (posfleetd's attempts are refused) and
#      started again on the same port: posfleetd reconnects by itself, the API
#      answers throughout, and the terminal's new reports are stored again;
#   2. the broker is frozen (SIGSTOP) with its accept queue full, as a broker
#      drowning in a reconnect storm: posfleetd's session times out at the
#      keep-alive, its new attempts get no TCP connection (the kernel drops the
#      SYN) or no TLS answer, and still its API answers every request promptly
#      (an attempt must never block the loop); once the broker runs again,
#      posfleetd is back and stores reports again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

SERIAL=RC-0001
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
# A short keep-alive: the frozen broker is noticed within seconds.
pf_server_start "mqtt.keepalive_s = 5"
pf_cli device add "$SERIAL" --model PX-500 >/dev/null
pf_agent_start "$SERIAL"
pf_wait_for 30 "$SERIAL online" pf_device_online "$SERIAL"

SLOG=$(pf_log_of posfleetd)
connects() { grep -c "mqtt: connected to" "$SLOG" || true; }
attempts() { grep -c "mqtt: reconnecting in" "$SLOG" || true; }
losses() { grep -c "mqtt: connection to .* lost" "$SLOG" || true; }
max_seq() { pf_sql "select coalesce(max(seq), 0) from health where serial = '$SERIAL'"; }
seq_above() { (($(max_seq) > $1)); }
has_report() { (($(max_seq) > 0)); }
pf_wait_for 20 "a first report stored" has_report

# api_answers SECONDS: the API answers a request within 3 s, every half second for
# SECONDS (a blocked event loop would not).
api_answers() {
    local end=$((SECONDS + $1))
    while ((SECONDS < end)); do
        timeout 3 "$PF_CLI" --server "$POSFLEET_URL" --token-file "$PF_TOKEN_OPS" summary \
            >/dev/null 2>&1 || pf_fail "posfleetd's API did not answer within 3 s: $2"
        sleep 0.5
    done
}

# ---------------------------------------------------------------------------
pf_log "1. broker stopped for a while, then started on the same port"
c0=$(connects)
a0=$(attempts)
pf_broker_stop
more_attempts() { (($(attempts) >= a0 + $1)); }
pf_wait_for 20 "three refused reconnection attempts" more_attempts 3
api_answers 2 "broker down"
pf_broker_start "$PF_PKI" "$PF_BROKER_DIR"
back() { (($(connects) > c0)); }
pf_wait_for 30 "posfleetd to reconnect after the restart" back
s1=$(max_seq)
pf_wait_for 30 "a report newer than seq $s1 stored after the restart" seq_above "$s1"

# ---------------------------------------------------------------------------
pf_log "2. broker frozen with a full accept queue, then running again"
c1=$(connects)
a1=$(attempts)
l1=$(losses)
kill -STOP "$PF_BROKER_PID"
pf_at_exit "kill -CONT $PF_BROKER_PID 2>/dev/null || true"
# Fill the accept queue (Mosquitto listens with a backlog of 100): from here on the
# kernel drops new SYNs. Each filler holds its connection until killed.
fillers=()
for _ in $(seq 1 160); do
    bash -c "exec 3<>/dev/tcp/127.0.0.1/$PF_BROKER_PORT && exec sleep 120" 2>/dev/null &
    fillers+=("$!")
done
pf_at_exit "kill ${fillers[*]} 2>/dev/null || true"
lost() { (($(losses) > l1 && $(attempts) >= a1 + 2)); }
# The session ends at the keep-alive (5 s, then 1.5 x for the PINGRESP), then attempts follow.
start=$SECONDS
while ! lost; do
    ((SECONDS - start < 40)) || pf_fail "posfleetd did not give up its frozen session"
    api_answers 1 "broker frozen, session timing out"
done
api_answers 8 "broker frozen, posfleetd reconnecting"
(($(connects) == c1)) || pf_fail "posfleetd claims a connection to a frozen broker"
kill "${fillers[@]}" 2>/dev/null || true
kill -CONT "$PF_BROKER_PID"
pf_wait_for 60 "posfleetd to reconnect after the broker runs again" eval "(( \$(connects) > c1 ))"
s2=$(max_seq)
pf_wait_for 30 "a report newer than seq $s2 stored after the freeze" seq_above "$s2"
api_answers 1 "after the freeze"
pf_log "posfleetd came back both times"
