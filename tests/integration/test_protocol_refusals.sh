#!/usr/bin/env bash
#
# test_protocol_refusals.sh - posfleetd holds a terminal to docs/protocol.md, with
# the real broker: a scripted terminal (mosquitto_pub with its own certificate)
# sends what a terminal written from the docs must not send, and each refusal is
# counted in posfleet_messages_rejected_total by its documented reason and
# logged naming the field, nothing stored:
#   - valid JSON that is not an object, on every leaf with a JSON payload: PARSE;
#   - update events carrying a field reserved for other statuses: SCHEMA, the log
#     names the field;
#   - a malformed chunk request: counted and logged (it was dropped silently);
#   - a diagnostic answer whose correlation data are not its id (or absent):
#     PERM, the request stays pending; the same answer with the right
#     correlation data is then taken.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/diag_lib.sh"

diag_stack
S=PR-1
PF_CLI_TOKEN=$PF_TOKEN_OPS pf_cli device add "$S" --model PX-500 >/dev/null || pf_fail "device add"
pf_device_cert "$PF_PKI" "$S"
LOG="$(pf_log_of posfleetd)"

rejected() {
    curl -s "$POSFLEET_URL/metrics" |
        awk -v r="$1" '$1 == "posfleet_messages_rejected_total{reason=\"" r "\"}" {print $2}'
}
# count_is REASON N: the counter has reached N.
count_is() { [[ "$(rejected "$1")" == "$2" ]]; }
pub() { pf_mqtt_pub "$S" -q 1 "$@"; }

# ---------------------------------------------------------------------------
pf_log "1. JSON that is not an object is PARSE on every JSON leaf"
n=0
for leaf in health birth state event chunkreq diag lock; do
    for body in '[1,2]' '42' '"online"'; do
        pub -t "pf/v1/dev/$S/$leaf" -m "$body" || pf_fail "publish $leaf"
        n=$((n + 1))
    done
done
pf_wait_for 20 "$n PARSE refusals" count_is PARSE "$n"
[[ "$(rejected SCHEMA)" == 0 ]] || pf_fail "a non-object counted SCHEMA: $(rejected SCHEMA)"

# ---------------------------------------------------------------------------
pf_log "2. events with a field reserved for another status are refused, naming it"
B=$(printf '%064d' 0 | tr 0 a)
event() { # STATUS EXTRA
    pub -t "pf/v1/dev/$S/event" -m "{\"v\":1,\"id\":\"ev-$1-$RANDOM\",\"offer\":\"o-1\",\
\"bundle\":\"$B\",\"kind\":\"firmware\",\"version\":\"2.0.0\",\"status\":\"$1\",\
\"ts\":$(date +%s)000$2}" || pf_fail "publish event"
}
event success ',"code":"DIGEST"'
event accepted ',"percent":10'
event failed ',"code":"IO","reason":"battery"'
pf_wait_for 20 "3 SCHEMA refusals" count_is SCHEMA 3
grep -q "$S: rejected SCHEMA: event: code: not allowed with status success" "$LOG" ||
    pf_fail "the log does not name code: $(grep 'rejected SCHEMA' "$LOG")"
grep -q "event: percent: not allowed with status accepted" "$LOG" ||
    pf_fail "the log does not name percent"
grep -q "event: reason: not allowed with status failed" "$LOG" ||
    pf_fail "the log does not name reason"
[[ "$(pf_sql "select count(*) from update_events")" == 0 ]] ||
    pf_fail "a refused event was stored"

# ---------------------------------------------------------------------------
pf_log "3. a malformed chunk request is counted and logged"
pub -t "pf/v1/dev/$S/chunkreq" -m "{\"v\":1,\"bundle\":\"$B\",\"offset\":0}"
pf_wait_for 20 "the chunk request counted" count_is SCHEMA 4
grep -q "$S: rejected SCHEMA: chunkreq: length" "$LOG" ||
    pf_fail "the chunk request's refusal is not logged with its field"

# ---------------------------------------------------------------------------
pf_log "4. a diagnostic answer must carry its id as correlation data"
id=$(diag_post "$S" selftest)
[[ -n "$id" ]] || pf_fail "request not made"
answer() { # CORRELATION...: the answer to $id, with the given mosquitto_pub -D options
    pub -t "pf/v1/dev/$S/diag" "$@" -m "{\"v\":1,\"id\":\"$id\",\"cmd\":\"selftest\",\
\"status\":\"ok\",\"ts\":$(date +%s)000,\"result\":{\"passed\":true}}" || pf_fail "publish answer"
}
answer -D publish correlation-data "not-$id"
answer
pf_wait_for 20 "2 PERM refusals" count_is PERM 2
grep -q "diag: $S answered $id with mismatching correlation data; refused" "$LOG" ||
    pf_fail "the mismatch is not logged"
grep -q "diag: $S answered $id with no correlation data; refused" "$LOG" ||
    pf_fail "the missing correlation data are not logged"
[[ "$(diag_field "$id" '$.status')" == pending ]] || pf_fail "a mismatching answer was stored"
answer -D publish correlation-data "$id"
answered() { [[ "$(diag_field "$id" '$.status')" == ok ]]; }
pf_wait_for 20 "the matching answer stored" answered
pf_log "OK"
