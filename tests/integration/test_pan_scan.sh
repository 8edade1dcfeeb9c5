#!/usr/bin/env bash
#
# test_pan_scan.sh - the card-number check that every integration test runs at
# exit (stack.sh: an observer on pf/#, every log, posfleetd's database) can fail:
#   1. pan_scan.py finds the test PANs of real schemes, spaced, dashed or bare,
#      and stays quiet on what the suite is full of: millisecond timestamps that
#      pass Luhn, digits inside hex digests and ids, numbers of no scheme;
#   2. a run of this script as a child test seeds 4111 1111 1111 1111 in one
#      place each time - an MQTT payload, a log line, a database row - and exits
#      0 itself: the check must fail it, naming where; a child that seeds nothing
#      (a real agent reporting) must pass.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

PAN='4111 1111 1111 1111'

if [[ -n "${PF_PAN_CHILD:-}" ]]; then
    pf_pki_init "$(pf_tmpdir pki)"
    pf_broker_start "$PF_PKI"
    pf_server_start
    S='PAN-1'
    pf_cli_quiet device add "$S" --model PX-500 || pf_fail "device add"
    case "$PF_PAN_CHILD" in
    payload)
        # An unknown field is ignored by posfleetd: only the payload carries it.
        pf_device_cert "$PF_PKI" "$S"
        pf_mqtt_pub "$S" -q 1 -t "pf/v1/dev/$S/state" \
            -m "{\"v\":1,\"state\":\"online\",\"note\":\"$PAN\"}" || pf_fail "publish"
        pf_wait_for 20 "$S online" pf_device_online "$S"
        ;;
    log)
        pf_spawn seeded printf 'card %s read\n' "$PAN"
        wait "$PF_SPAWN_PID" || true
        ;;
    row)
        pf_sql "create table pan_seed (x text); insert into pan_seed values ('$PAN');"
        ;;
    none)
        pf_agent_start "$S"
        pf_wait_for 30 "$S online" pf_device_online "$S"
        q_rows() { [[ "$(pf_sql "select count(*) from health where serial='$S'")" -ge 3 ]]; }
        pf_wait_for 30 "3 reports of $S" q_rows
        ;;
    esac
    exit 0
fi

# ---------------------------------------------------------------------------
pf_log "1. the scanner's rule"
# One line per case, each scanned once (python3 starts once per list).
hits=("pan $PAN" '{"pan":"4111111111111111"}' 'x=4111-1111-1111-1111;'
    '5555555555554444' '378282246310005' '3782 822463 10005' '6212345678901232'
    '4222222222222' '3530111333300000' '2223003122003222' '6011111111111117')
out=$(printf '%s\n' "${hits[@]}" | python3 "$PF_PAN_SCAN" -) && pf_fail "nothing found"
for ((i = 1; i <= ${#hits[@]}; i++)); do
    grep -q "^stdin:$i: " <<<"$out" || pf_fail "not found: ${hits[i - 1]}"
done
grep -q 4111111111111111 <<<"$out" && pf_fail "a hit is printed whole: $out"
# A 13-digit millisecond timestamp that passes Luhn, as a 16-digit microsecond one; hex and
# ids; Luhn-valid numbers of no scheme (major industry identifier 1, 7); a Visa-like number
# failing Luhn.
quiet=('"ts":1764220060004' 'ts 1764220060004123' 'digest a4111111111111111b'
    'id 4111111111111111x' '1234567890123452' '7111111111111114' '4111111111111112'
    'seq 42 size 1048576')
out=$(printf '%s\n' "${quiet[@]}" | python3 "$PF_PAN_SCAN" -) || pf_fail "reported: $out"

# ---------------------------------------------------------------------------
pf_log "2. the check fails a run that leaves a card number anywhere"
child() { # KIND: runs this script as a child test; its stderr in $PF_TMP/child-KIND.txt
    PF_PAN_CHILD="$1" PF_KEEP_TMP=0 bash "$0" >"$PF_TMP/child-$1.txt" 2>&1
}
for kind in payload log row; do
    if child "$kind"; then
        pf_fail "a card number in a $kind passed: $(tail -20 "$PF_TMP/child-$kind.txt")"
    fi
    grep -q "FAIL test_pan_scan: card numbers in what the run produced" \
        "$PF_TMP/child-$kind.txt" || pf_fail "$kind: no card-number failure: \
$(tail -20 "$PF_TMP/child-$kind.txt")"
done
grep -qE '^logs/pan-observer.log:[0-9]+: visa 411111\*{6}1111' "$PF_TMP/child-payload.txt" ||
    pf_fail "the payload's card number not found in the capture"
grep -qE '^logs/seeded.log:[0-9]+: visa' "$PF_TMP/child-log.txt" ||
    pf_fail "the log's card number not found"
grep -qE '^posfleetd-db.sql:[0-9]+: visa' "$PF_TMP/child-row.txt" ||
    pf_fail "the row's card number not found"
# The report masks (the harness's own log display after it is another matter).
grep -hE '^(logs/|posfleetd-db)[^ ]*:[0-9]+: ' "$PF_TMP"/child-*.txt | grep -q 4111111111111111 &&
    pf_fail "a report printed a whole PAN"
child none || pf_fail "a run without card data failed: $(tail -30 "$PF_TMP/child-none.txt")"
pf_log "OK"
