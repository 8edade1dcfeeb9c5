#!/usr/bin/env bash
# test_bulk_loop.sh - a long bulk bind runs off posfleetd's loop (docs/server.md, "Bulk
# changes off the loop"): while a 20,000-row bind is being written, /healthz answers, a
# terminal's health report is taken (and stored once the bind has committed, received while
# it ran), a single bind answers 409 at once instead of waiting, a tamper event is locked as
# soon as the bind has ended, and the bind still commits every row; then a 20,000-row unbind
# file with one bad row changes nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

N=${PF_BULK_ROWS:-20000}
R=BL-REPORTER

pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
pf_server_start

m_args=(--name "幸运面馆" --address "1 Market St" --contact "Wang Fang" --phone 13800000000
        --settlement T1 --mcc 5411 --tz Asia/Shanghai --fee-plan fee-2026.11)
pf_cli merchant add M-L --uscc 9144030071526726XG "${m_args[@]}" >/dev/null || pf_fail "add M-L"
pf_cli merchant approve M-L >/dev/null || pf_fail "approve M-L"
{
    echo "serial,model"
    for ((i = 1; i <= N; i++)); do printf 'BL-%06d,PX-500\n' "$i"; done
    echo "$R,PX-500"
    echo "BL-SINGLE,PX-500"
} >"$PF_TMP/import.csv"
pf_cli device import "$PF_TMP/import.csv" >/dev/null || pf_fail "import"
pf_device_cert "$PF_PKI" "$R"
{ echo "serial,merchant"; for ((i = 1; i <= N; i++)); do printf 'BL-%06d,M-L\n' "$i"; done; } >"$PF_TMP/bind.csv"

bound() { pf_sql "select count(*) from terminals where merchant_id is not null"; }
audits() { pf_sql "select count(*) from audit where action='$1'"; }
accepted() { curl -s "$POSFLEET_URL/metrics" | awk '$1 == "posfleet_messages_accepted_total{type=\"health\"}" { print $2 }'; }
health() {
    pf_mqtt_pub "$R" -q 1 -t "pf/v1/dev/$R/health" -m "{\"v\":1,\"boot\":1,\"seq\":$1,\"ts\":$(date +%s%3N),
\"power\":{\"battery_pct\":77,\"charging\":false},\"net\":{\"type\":\"4g\",\"signal_dbm\":-85},
\"temp_c\":41,\"storage_free_kb\":123456,\"mem_free_kb\":4096,\"uptime_s\":3600,
\"fw\":{\"version\":\"1.0.0\",\"slot\":\"a\"},\"fee_version\":\"\",\"paper\":\"ok\",
\"tamper\":false,\"selftest\":{\"power\":\"pass\",\"network\":\"pass\",\"screen\":\"pass\",
\"printer\":\"pass\",\"card_reader\":\"pass\",\"secure_element\":\"pass\"},
\"errors\":{\"reconnects\":0,\"queue_dropped\":0,\"reader\":0,\"printer\":0},
\"txn\":{\"count\":0,\"amount_minor\":0,\"currency\":\"CNY\"},\"queued\":false}" ||
        pf_fail "publish health of $R"
}
# A single change while the bulk is written: refused at once (409), not queued behind it
# (outside a bulk change this one is refused with 404: no such merchant, nothing changes).
single_refused() {
    local code
    code=$(curl -s -m 5 -o "$PF_TMP/single.json" -w '%{http_code}' -H "Authorization: Bearer $(head -1 "$PF_TOKEN_OPS")" \
        --data-binary '{"merchant_id":"M-NOPE"}' "$POSFLEET_URL/v1/devices/BL-SINGLE/bind")
    [[ "$code" == 409 ]] && grep -q "bulk change" "$PF_TMP/single.json"
}

# --- the loop goes on while a long bind is written ------------------------------------
before=$(accepted)
pf_cli device bind --csv "$PF_TMP/bind.csv" >"$PF_TMP/bind.out" 2>&1 &
bind_pid=$!
pf_wait_for 60 "the bulk bind to be under way (a single bind answers 409)" single_refused
t_during=$(date +%s%3N)
curl -sf -m 2 "$POSFLEET_URL/healthz" >/dev/null || pf_fail "/healthz did not answer within 2 s during the bulk bind"
health 1
pf_wait_for 10 "the report taken while the bind runs" eval '(( $(accepted) > before ))'
curl -sf -m 2 -H "Authorization: Bearer $(head -1 "$PF_TOKEN_OPS")" "$POSFLEET_URL/v1/devices/$R" >/dev/null ||
    pf_fail "a device read did not answer within 2 s during the bulk bind"
# A tamper event now: its lock cannot be written yet, and is not forgotten.
pf_mqtt_pub "$R" -q 1 -t "pf/v1/dev/$R/tamper" -m "{\"v\":1,\"ts\":$(date +%s%3N)}" || pf_fail "publish tamper"
pf_wait_for 10 "the tamper lock held back" grep -q "$R: tamper: lock waits for the bulk change" "$PF_TMP/logs/posfleetd.log"
kill -0 "$bind_pid" 2>/dev/null ||
    pf_fail "the bind ended before the checks ran; raise PF_BULK_ROWS ($(cat "$PF_TMP/bind.out"))"
wait "$bind_pid" || pf_fail "bulk bind failed: $(cat "$PF_TMP/bind.out")"
[[ "$(bound)" == "$N" ]] || pf_fail "bound $(bound) terminals, want $N"
[[ "$(audits terminal.bind)" == "$N" ]] || pf_fail "$(audits terminal.bind) bind audit rows, want $N"
# The report held while the bind was written is stored now, with the time it came.
pf_wait_for 10 "the report stored" eval "[[ \$(pf_sql \"select count(*) from health where serial='$R'\") == 1 ]]"
recv=$(pf_sql "select recv_ms from health where serial='$R'")
((recv >= t_during - 60000 && recv <= $(date +%s%3N))) || pf_fail "report received at $recv, the bind ran from $t_during"
grep -q "bulk change: loop" "$PF_TMP/logs/posfleetd.log" || pf_fail "no log line of the bulk change"
pf_wait_for 10 "the tampered terminal locked after the bind" \
    eval "[[ \$(pf_sql \"select state from terminals where serial='$R'\") == locked ]]"
# Single changes work again once the bulk has ended.
pf_cli bind BL-SINGLE M-L >/dev/null || pf_fail "single bind after the bulk"

# --- one bad row in a long file changes nothing ----------------------------------------
{
    echo "serial,reason"
    for ((i = 1; i <= N; i++)); do
        printf 'BL-%06d,closing\n' "$i"
        ((i == N / 2)) && echo "BL-NOPE,closing"
    done
} >"$PF_TMP/unbind.csv"
set +e
pf_cli device unbind --csv "$PF_TMP/unbind.csv" >"$PF_TMP/out" 2>"$PF_TMP/err"
rc=$?
set -e
[[ $rc -eq 1 ]] || pf_fail "unbind with a bad row: exit $rc, want 1 ($(cat "$PF_TMP/err"))"
grep -qF "1 bad line (nothing changed)" "$PF_TMP/err" || pf_fail "report: $(cat "$PF_TMP/err")"
grep -qF "line $((N / 2 + 2)): serial BL-NOPE is not registered" "$PF_TMP/err" || pf_fail "report: $(cat "$PF_TMP/err")"
[[ "$(bound)" == "$((N + 1))" ]] || pf_fail "a refused unbind changed bindings: $(bound) bound"
[[ "$(audits terminal.unbind)" == 0 ]] || pf_fail "a refused unbind left audit rows"
pf_log "ok: loop served during a $N-row bind; a file with one bad row changed nothing"
