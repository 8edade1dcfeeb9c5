#!/usr/bin/env bash
# test_lifecycle_lock_retry.sh - the lock command is sent again until the terminal
# confirms it. A scripted terminal (mosquitto_pub/sub with its own certificate)
# reports tamper and does not answer: posfleetd repeats the same command at its
# reports; reports with another id or the wrong state confirm nothing; the right
# report does. An unlock issued while the broker is down reaches the terminal
# after the broker is back.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

export PF_REPORT_INTERVAL=1
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
pf_server_start

S=LR-0001
SEQ=0
pf_cli device add "$S" --model PX-500 >/dev/null || pf_fail "device add"
pf_device_cert "$PF_PKI" "$S"

life() { pf_cli --json lifecycle "$S" 2>/dev/null | pf_json_get "$1"; }
state_is() { [[ "$(life '$.state')" == "$1" ]]; }
acked_is() { [[ "$(life '$.lock.acknowledged')" == "$1" ]]; }

# report TAMPER: the scripted terminal publishes its next health report and, on the
# same connection (mosquitto_rr subscribes before it publishes), collects a lock
# command that arrives within 2 s into $COPIES. One connection, as a terminal has.
COPIES="$PF_TMP/copies.txt"
: >"$COPIES"
report() {
    SEQ=$((SEQ + 1))
    # shellcheck disable=SC2046
    timeout 10 mosquitto_rr $(pf_mqtt_opts "$S") -q 1 -W 2 -e "pf/v1/cmd/$S/lock" \
        -t "pf/v1/dev/$S/health" -m "{\"v\":1,\"seq\":$SEQ,\"ts\":$(date +%s)000,
\"power\":{\"battery_pct\":80,\"charging\":false},\"net\":{\"type\":\"4g\",\"signal_dbm\":-70},
\"temp_c\":30,\"storage_free_kb\":1000,\"mem_free_kb\":1000,\"uptime_s\":$SEQ,
\"fw\":{\"version\":\"1.0.0\",\"slot\":\"a\"},\"fee_version\":\"\",\"paper\":\"ok\",\"tamper\":$1,
\"selftest\":{\"power\":\"pass\",\"network\":\"pass\",\"screen\":\"pass\",\"printer\":\"pass\",
\"card_reader\":\"pass\",\"secure_element\":\"pass\"},
\"errors\":{\"reconnects\":0,\"queue_dropped\":0,\"reader\":0,\"printer\":0},
\"txn\":{\"count\":0,\"amount_minor\":0,\"currency\":\"CNY\"}}" >>"$COPIES" 2>/dev/null || true
    echo >>"$COPIES"
}

# copies ID: how many copies of command ID the scripted terminal received.
copies() { grep -c "\"id\":\"$1\"" "$COPIES" || true; }

# report_until_copies ID N: keeps reporting until N copies of ID arrived.
report_until_copies() {
    report false
    (($(copies "$1") >= $2))
}

# processed: the newest report has been taken in by posfleetd.
processed() { [[ "$(pf_device_field "$S" '$.counters.seq')" == "$SEQ" ]]; }

# --- tamper: the same lock command again and again until confirmed ---------------
report true
pf_wait_for 20 "$S locked" state_is locked
id="$(life '$.lock.command')"
[[ "$id" == lock-* ]] || pf_fail "no lock command id: '$id'"
pf_wait_for 20 "two copies of $id" report_until_copies "$id" 2
grep -q '"action":"lock"' "$COPIES" || pf_fail "the command does not say lock"

pf_mqtt_pub "$S" -q 1 -t "pf/v1/dev/$S/lock" -m '{"v":1,"id":"lock-someone-else","locked":true}'
pf_mqtt_pub "$S" -q 1 -t "pf/v1/dev/$S/lock" -m "{\"v\":1,\"id\":\"$id\",\"locked\":false}"
report false
pf_wait_for 10 "report $SEQ processed" processed
[[ "$(life '$.lock.acknowledged')" == 0 ]] || pf_fail "a wrong report confirmed the lock"

pf_mqtt_pub "$S" -q 1 -t "pf/v1/dev/$S/lock" -m "{\"v\":1,\"id\":\"$id\",\"locked\":true}"
pf_wait_for 10 "the lock confirmed" acked_is 1
# Once confirmed it is not sent again: reports after the confirmation bring no copy
# (the count is taken after one more report, so a copy already in flight is in).
report false
pf_wait_for 10 "report $SEQ processed" processed
n="$(copies "$id")"
for _ in 1 2 3; do
    report false
    pf_wait_for 10 "report $SEQ processed" processed
done
[[ "$(copies "$id")" == "$n" ]] || pf_fail "the lock was sent again after it was confirmed"

# --- unlock while the broker is down -------------------------------------------------
rid="$(life '$.repair_id')"
pf_broker_stop
pf_cli repair close "$rid" --outcome returned_to_stock >/dev/null || pf_fail "repair close"
uid="$(life '$.lock.command')"
[[ "$uid" == unlock-* && "$(life '$.lock.acknowledged')" == 0 ]] || pf_fail "no unlock pending"
pf_broker_start "$PF_PKI" "$PF_BROKER_DIR"
pf_wait_for 30 "the unlock reached the terminal" report_until_copies "$uid" 1
grep -q '"action":"unlock"' "$COPIES" || pf_fail "the command does not say unlock"
pf_mqtt_pub "$S" -q 1 -t "pf/v1/dev/$S/lock" -m "{\"v\":1,\"id\":\"$uid\",\"locked\":false}"
pf_wait_for 10 "the unlock confirmed" acked_is 1
[[ "$(life '$.state')" == in_stock ]] || pf_fail "not back in stock"
pf_log "lifecycle lock retry: OK"
