#!/usr/bin/env bash
#
# test_notify.sh - webhooks to a real receiver (hook_receiver.py, which checks
# every signature as docs/server.md tells receivers to), with the real broker,
# posfleetd and agent:
#   1. a repair's state change and a terminal's tamper (tamper, lock) and
#      silence arrive signed, one POST per event, the kind in the header;
#   2. a receiver answering 500 gets the same event again, same id, next attempt;
#      one that never answers holds up nothing (the API answers meanwhile), the
#      attempt times out and the event is sent again;
#   3. the receiver down, then back: nothing lost, every retry with the same id;
#   4. posfleetd restarted with deliveries pending: they are delivered after the
#      restart, with the ids they were stored with;
#   5. nothing is delivered twice, and every event id the store made was
#      delivered; `posfleet hook list` and `hook log` show it, ops only.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

export PF_REPORT_INTERVAL=1
RECV="$PF_SRC/tests/integration/hook_receiver.py"
RLOG="$PF_TMP/received.jsonl"
SECRET="$PF_TMP/hook.secret"
HPORT=$(pf_free_port)
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$SECRET"
: >"$RLOG"

receiver_start() { pf_spawn receiver python3 "$RECV" "$HPORT" "$SECRET" "$RLOG" "$@"; }
receiver_up() { curl -s -o /dev/null -X GET "http://127.0.0.1:$HPORT/" --max-time 1; }
receiver_start
pf_wait_for 10 "the receiver to listen" receiver_up

pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
HOOKCONF="hook.ops.url = http://127.0.0.1:$HPORT/posfleet
hook.ops.secret_file = $SECRET
hook.ops.events = *
notify.retry_min_ms = 200
notify.retry_max_ms = 800
notify.timeout_ms = 2000"
pf_server_start "$HOOKCONF"

# received ID [STATUS]: how many requests with event id ID were answered STATUS (200).
received() {
    python3 - "$RLOG" "$1" "${2:-200}" <<'PY'
import json, sys
n = sum(1 for l in open(sys.argv[1]) if l.strip() and json.loads(l)["id"] == sys.argv[2]
        and json.loads(l)["status"] == int(sys.argv[3]))
print(n)
PY
}
# last_event KIND SUBJECT: the id of the newest stored event of KIND about SUBJECT.
last_event() {
    pf_sql "select id from notify_events where kind = '$1' and subject = '$2' order by created_ms desc, rowid desc limit 1"
}
delivered_once() { [[ $(received "$1") == 1 ]]; }
state_of() { pf_sql "select state from notify_deliveries where event = '$1'"; }
attempts_of() { pf_sql "select attempts from notify_deliveries where event = '$1'"; }
attempts_at_least() { (($(attempts_of "$1") >= $2)); }
has_event() { [[ -n $(last_event "$1" "$2") ]]; }

# ---------------------------------------------------------------------------
pf_log "1. events arrive signed"
pf_cli device add NT-0001 --model PX-500 >/dev/null
pf_cli device add NT-0002 --model PX-500 >/dev/null
pf_cli device add NT-0003 --model PX-500 >/dev/null
pf_cli repair open NT-0001 --reason "screen cracked" >/dev/null
RID=$(pf_sql "select id from repairs where serial = 'NT-0001'")
pf_cli repair update "$RID" --state received >/dev/null
ev1=$(last_event repair.state "$RID")
[[ -n "$ev1" ]] || pf_fail "no repair.state event stored"
pf_wait_for 20 "event $ev1 delivered" delivered_once "$ev1"
[[ $(state_of "$ev1") == delivered ]] || pf_fail "delivery of $ev1 is $(state_of "$ev1")"
python3 - "$RLOG" "$ev1" "$RID" <<'PY' || pf_fail "the repair.state delivery is not as documented"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["id"] == sys.argv[2]][0]
assert r["sig_ok"] and r["kind"] == "repair.state" and r["header_kind"] == "repair.state", r
assert r["subject"] == sys.argv[3] and r["attempt"] == 1, r
assert r["data"]["state"] == "received" and r["data"]["serial"] == "NT-0001", r
PY

# tamper (and the lock it sends) and silence come from a real terminal.
pf_cli merchant add M-NT --name "Lucky Noodles" --uscc 9144030071526726XG --mcc 5812 \
    --address "1 Nanshan Road" --contact "Li Wei" --phone "+86 138 0000 0000" \
    --tz Asia/Shanghai --settlement T1 --fee-plan fee-2026.11 >/dev/null
pf_cli merchant approve M-NT >/dev/null
pf_cli bind NT-0002 M-NT >/dev/null
pf_agent_start NT-0002
pf_wait_for 30 "NT-0002 online" pf_device_online NT-0002
pf_hal_set NT-0002 tamper 1
pf_wait_for 30 "a tamper event" has_event tamper NT-0002
pf_wait_for 30 "a lock event" has_event lock NT-0002
pf_wait_for 20 "the tamper event delivered" delivered_once "$(last_event tamper NT-0002)"
pf_wait_for 20 "the lock event delivered" delivered_once "$(last_event lock NT-0002)"
pf_kill agent-NT-0002 10
pf_wait_for 30 "a terminal.silent event" has_event terminal.silent NT-0002
pf_wait_for 20 "the silence delivered" delivered_once "$(last_event terminal.silent NT-0002)"

# ---------------------------------------------------------------------------
pf_log "2. a failing receiver gets the same event again"
pf_kill receiver 5
receiver_start --fail-first 1
pf_wait_for 10 "the receiver to listen again" receiver_up
pf_cli repair update "$RID" --state diagnosed >/dev/null
ev2=$(last_event repair.state "$RID")
[[ "$ev2" != "$ev1" ]] || pf_fail "a new event reused id $ev1"
pf_wait_for 20 "event $ev2 delivered after a 500" delivered_once "$ev2"
[[ $(received "$ev2" 500) == 1 ]] || pf_fail "event $ev2 was not first answered 500"
python3 - "$RLOG" "$ev2" <<'PY' || pf_fail "the retry is not the next attempt of the same event"
import json, sys
a = [json.loads(l)["attempt"] for l in open(sys.argv[1]) if json.loads(l)["id"] == sys.argv[2]]
assert a == [1, 2], a
PY

pf_kill receiver 5
receiver_start --hang-first 1
pf_wait_for 10 "the receiver to listen again" receiver_up
pf_cli repair open NT-0002 --reason "tamper seal broken" >/dev/null 2>&1 || true
RID2=$(pf_sql "select id from repairs where serial = 'NT-0002' order by id desc limit 1")
pf_cli repair update "$RID2" --state received >/dev/null
evh=$(last_event repair.state "$RID2")
hung() { grep -q "\"hung\": true" "$RLOG"; }
pf_wait_for 10 "the receiver to hold the request of $evh" hung
for _ in 1 2 3; do
    timeout 1 "$PF_CLI" --server "$POSFLEET_URL" --token-file "$PF_TOKEN_OPS" summary >/dev/null ||
        pf_fail "the API did not answer within 1 s while a receiver hangs"
done
pf_wait_for 20 "event $evh delivered after the hung attempt timed out" delivered_once "$evh"
python3 - "$RLOG" "$evh" <<'PY' || pf_fail "the attempt after the timeout is not the same event's next"
import json, sys
a = [json.loads(l)["attempt"] for l in open(sys.argv[1]) if json.loads(l)["id"] == sys.argv[2]]
assert a == [1, 2], a
PY
(($(pf_sql "select count(*) from notify_attempts a join notify_deliveries d on d.id = a.delivery
    where d.event = '$evh' and a.status = 0 and (a.error like '%imeout%' or a.error like '%timed out%')") >= 1)) ||
    pf_fail "the timed-out attempt of $evh is not in the delivery log"

# ---------------------------------------------------------------------------
pf_log "3. the receiver down, then back: nothing lost, same ids"
pf_kill receiver 5
pf_cli repair update "$RID" --state repaired >/dev/null
ev3=$(last_event repair.state "$RID")
pf_cli repair open NT-0003 --reason "printer jams" >/dev/null
RID3=$(pf_sql "select id from repairs where serial = 'NT-0003'")
pf_cli repair update "$RID3" --state received >/dev/null
ev4=$(last_event repair.state "$RID3")
pf_wait_for 20 "three failed attempts of $ev3" attempts_at_least "$ev3" 3
[[ $(state_of "$ev3") == pending ]] || pf_fail "$ev3 is $(state_of "$ev3") while the receiver is down"
pf_cli hook log --hook ops | grep -q "Connection refused\|Couldn't connect\|Failed to connect" ||
    pf_fail "hook log does not show the failed attempts: $(pf_cli hook log --hook ops)"
receiver_start
pf_wait_for 10 "the receiver to listen again" receiver_up
pf_wait_for 20 "event $ev3 delivered once the receiver is back" delivered_once "$ev3"
pf_wait_for 20 "event $ev4 delivered once the receiver is back" delivered_once "$ev4"
python3 - "$RLOG" "$ev3" <<'PY' || pf_fail "the delivery after the outage is not a later attempt of the same event"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["id"] == sys.argv[2]]
assert len(r) == 1 and r[0]["attempt"] >= 4 and r[0]["sig_ok"], r
PY

# ---------------------------------------------------------------------------
pf_log "4. posfleetd restarted with a delivery pending"
pf_kill receiver 5
pf_cli repair close "$RID3" --outcome scrapped >/dev/null
ev5=$(last_event repair.state "$RID3")
pf_wait_for 20 "a failed attempt of $ev5" attempts_at_least "$ev5" 1
pf_server_stop
[[ $(state_of "$ev5") == pending ]] || pf_fail "$ev5 is $(state_of "$ev5") after the stop"
receiver_start
pf_wait_for 10 "the receiver to listen again" receiver_up
pf_server_start "$HOOKCONF"
pf_wait_for 20 "event $ev5 delivered after the restart" delivered_once "$ev5"
[[ $(state_of "$ev5") == delivered ]] || pf_fail "$ev5 is $(state_of "$ev5")"

# ---------------------------------------------------------------------------
pf_log "5. every stored event delivered exactly once; the CLI shows the log"
python3 - "$RLOG" "$(pf_sql "select group_concat(id) from notify_events")" <<'PY' ||
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ok = [r["id"] for r in rows if r["status"] == 200]
stored = set(sys.argv[2].split(","))
assert all(r["sig_ok"] for r in rows), "a bad signature"
assert len(ok) == len(set(ok)), "an event delivered twice"
assert set(ok) == stored, "stored %s, delivered %s" % (sorted(stored), sorted(set(ok)))
PY
    pf_fail "the deliveries do not match the stored events one to one"
(($(pf_sql "select count(*) from notify_deliveries where state != 'delivered'") == 0)) ||
    pf_fail "deliveries left undelivered"
curl -sf "$POSFLEET_URL/metrics" >"$PF_TMP/metrics.txt"
grep -q "^posfleet_webhook_pending{hook=\"ops\"} 0$" "$PF_TMP/metrics.txt" ||
    pf_fail "no posfleet_webhook_pending for ops at 0"
# Counted since the restart: the one delivery that waited for it.
grep -q '^posfleet_webhook_attempts_total{result="delivered"} 1$' "$PF_TMP/metrics.txt" ||
    pf_fail "posfleet_webhook_attempts_total: $(grep webhook_attempts "$PF_TMP/metrics.txt")"
pf_cli hook list | grep -Eq "^ops +http://127.0.0.1:$HPORT +0 +[0-9]+ +0 " ||
    pf_fail "hook list: $(pf_cli hook list)"
pf_cli hook log --hook ops --limit 2 | grep -q "more: --before" || pf_fail "hook log does not page"
pf_cli --json hook log --hook ops | grep -q "\"event\": \"$ev5\"" || pf_fail "hook log lacks $ev5"
if PF_CLI_TOKEN="$PF_TOKEN_SUPPORT" pf_cli hook log >/dev/null 2>&1; then
    pf_fail "support may read the delivery log"
fi
! grep -q "$(cat "$SECRET")" "$(pf_log_of posfleetd)" || pf_fail "the hook secret is in the log"
pf_log "webhooks delivered, signed, retried with the same ids, across a restart"
