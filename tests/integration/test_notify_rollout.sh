#!/usr/bin/env bash
#
# test_notify_rollout.sh - the rollout scheduler's notifications reach a real
# receiver (hook_receiver.py checks every signature), with the real broker,
# posfleetd and posfleet-sim:
#   1. a one-stage rollout that installs everywhere sends rollout.completed;
#   2. a rollout whose maintenance window never opens before its deadline sends
#      rollout.expired (the rollout ends expired, members skipped);
#   the hook subscribed to rollouts only gets nothing else.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"
. "$(dirname "$0")/rollout_lib.sh"

RECV="$PF_SRC/tests/integration/hook_receiver.py"
RLOG="$PF_TMP/received.jsonl"
SECRET="$PF_TMP/hook.secret"
HPORT=$(pf_free_port)
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$SECRET"
: >"$RLOG"
pf_spawn receiver python3 "$RECV" "$HPORT" "$SECRET" "$RLOG"
receiver_up() { curl -s -o /dev/null "http://127.0.0.1:$HPORT/" --max-time 1; }
pf_wait_for 10 "the receiver to listen" receiver_up

export RO_SERVER_CONF="hook.rel.url = http://127.0.0.1:$HPORT/rollouts
hook.rel.secret_file = $SECRET
hook.rel.events = rollout.paused,rollout.completed,rollout.expired
notify.retry_min_ms = 200
notify.retry_max_ms = 800"
ro_stack 4 NR
fw=$(ro_fw_bundle 2.0.0)

# got KIND SUBJECT: a signed request of KIND about SUBJECT was answered 200.
got() {
    python3 - "$RLOG" "$1" "$2" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if any(r["kind"] == sys.argv[2] and r["subject"] == sys.argv[3] and r["sig_ok"]
                  and r["status"] == 200 for r in rows) else 1)
PY
}

pf_log "1. rollout.completed"
pf_cli --json rollout create "$fw" --stages 100% --soak 1s --window 00:00-24:00 \
    >"$RO_WORK/c1.json"
id1=$(pf_json_get '$.id' <"$RO_WORK/c1.json")
pf_wait_for 180 "rollout $id1 to complete" ro_state_is "$id1" completed
pf_wait_for 20 "rollout.completed for $id1 delivered" got rollout.completed "$id1"

pf_log "2. rollout.expired"
fw3=$(ro_fw_bundle 3.0.0)
# A window that opens in two hours (UTC) and a deadline in 20 s: nobody is ever offered.
from=$(date -u -d '+2 hours' +%H:00)
to=$(date -u -d '+3 hours' +%H:00)
deadline=$(date -u -d '+20 seconds' +%Y-%m-%dT%H:%M:%SZ)
pf_cli --json rollout create "$fw3" --stages 100% --soak 1s --window "$from-$to" \
    --deadline "$deadline" >"$RO_WORK/c2.json"
id2=$(pf_json_get '$.id' <"$RO_WORK/c2.json")
pf_wait_for 60 "rollout $id2 to end at its deadline" ro_state_is "$id2" expired
pf_wait_for 20 "rollout.expired for $id2 delivered" got rollout.expired "$id2"
got rollout.completed "$id2" && pf_fail "rollout $id2 was notified as completed, not expired"
python3 - "$RLOG" <<'PY' || pf_fail "the rollout hook got other kinds or unsigned requests"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert rows and all(r["sig_ok"] for r in rows), rows
assert {r["kind"] for r in rows} <= {"rollout.completed", "rollout.expired"}, rows
PY
pf_log "rollout completion and expiry notified"
