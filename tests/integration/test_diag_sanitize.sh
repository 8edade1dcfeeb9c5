#!/usr/bin/env bash
# test_diag_sanitize.sh - nothing a terminal sends reaches support's screen raw.
# A scripted terminal (mosquitto_pub with its own certificate) answers real
# diagnostic requests with escape sequences in every field and key: red text
# (ESC [ 31 m), a window title (ESC ] 0 ; ... BEL), CSI as the C1 control
# U+009B, backspace, carriage return, DEL and a newline. 'posfleet diag show'
# and 'posfleet diag list' print them escaped, visibly, one field on one line,
# and Chinese text unchanged.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/diag_lib.sh"

diag_stack
S=DS-1
PF_CLI_TOKEN=$PF_TOKEN_OPS pf_cli device add "$S" --model PX-500 >/dev/null || pf_fail "device add"
pf_device_cert "$PF_PKI" "$S"
out="$PF_TMP/out.txt"

# The hostile text as JSON escapes, so the answer on the wire holds the raw bytes.
H='\u001b[31mred\u001b]0;pwned\u0007\u009b2J\bX\rY\u007f\nFAKE\t终端'

# answer ID CMD STATUS REST: the terminal's answer to request ID (REST: more fields).
answer() {
    pf_mqtt_pub "$S" -q 1 -t "pf/v1/dev/$S/diag" -D publish correlation-data "$1" \
        -m "{\"v\":1,\"id\":\"$1\",\"cmd\":\"$2\",\"status\":\"$3\",\"ts\":$(date +%s)000$4}"
}

answered() { [[ "$(diag_field "$1" '$.status')" != pending ]]; }

# assert_safe WHAT FILE: no ESC, BEL, BS, CR, DEL or C1 byte; the escapes shown; no line of its own.
assert_safe() {
    if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$2"; then
        pf_fail "$1: a control character reached the screen: $(od -c "$2" | head -20)"
    fi
    if LC_ALL=C grep -q $'\xc2[\x80-\x9f]' "$2"; then
        pf_fail "$1: a C1 control reached the screen: $(od -c "$2" | head -20)"
    fi
    grep -q '^FAKE' "$2" && pf_fail "$1: a terminal's field started a line of its own: $(cat "$2")"
    grep -qF '\x1b[31mred\x1b]0;pwned\x07\u009b2J\x08X\rY\x7f\nFAKE\t终端' "$2" ||
        pf_fail "$1: the escapes are not shown as text: $(cat "$2")"
    return 0
}

# request CMD ARGS RESULT_JSON: one request answered with RESULT_JSON, shown by diag show.
request() {
    local id
    id=$(diag_post "$S" "$1" "$2")
    [[ -n "$id" ]] || pf_fail "$1: request not made"
    answer "$id" "$1" ok ",\"result\":$3"
    pf_wait_for 20 "$1 answered" answered "$id"
    [[ "$(diag_field "$id" '$.status')" == ok ]] || pf_fail "$1: answer not stored as ok"
    pf_cli diag show "$id" >"$out" 2>&1 || pf_fail "$1: diag show: $(cat "$out")"
    assert_safe "$1" "$out"
}

request loglevel '{"level":"debug"}' "{\"level\":\"$H\",\"previous\":\"$H\",\"reverts_to\":\"$H\",
\"minutes\":15,\"until_ms\":$(date +%s)000,\"$H\":\"$H\"}"
request logs '{}' "{\"lines\":[\"$H\",\"$H\"],\"kept\":2,\"capacity\":200,\"level\":\"$H\",\"$H\":\"$H\"}"
request selftest '{}' "{\"components\":{\"$H\":\"$H\"},\"passed\":false,\"net_type\":\"$H\",
\"paper\":\"$H\",\"$H\":\"$H\"}"
request net '{}' "{\"targets\":[{\"target\":\"$H\",\"host\":\"$H\",\"port\":1,\"resolve_ms\":1,
\"address\":\"$H\",\"connect_ms\":1,\"ok\":false,\"error\":\"$H\"}],\"ok\":false,
\"payment_configured\":true,\"$H\":\"$H\"}"
request config '{}' "{\"config\":{\"$H\":\"$H\"}}"
request versions '{}' "{\"agent\":\"$H\",\"firmware\":\"$H\",\"slots\":{\"$H\":\"$H\"},
\"boot_history\":[{\"ts\":1,\"slot\":\"$H\",\"firmware\":\"$H\",\"boot\":\"$H\"}],\"$H\":\"$H\"}"
request archive '{}' "{\"size\":1,\"digest\":\"$H\",\"bound\":1,\"entries\":[\"$H\"],
\"omitted\":[\"$H\"],\"truncated\":true,\"chunk_max\":4096,\"$H\":\"$H\"}"
grep -q "entries: " "$out" || pf_fail "archive: entries not shown: $(cat "$out")"

# A refusal: its message is the terminal's text too.
id=$(diag_post "$S" reboot)
answer "$id" reboot refused ",\"code\":\"BUSY\",\"message\":\"$H\""
pf_wait_for 20 "reboot answered" answered "$id"
pf_cli diag show "$id" >"$out" 2>&1 || true
assert_safe "refused reboot" "$out"
grep -q "REFUSED by the terminal: BUSY" "$out" || pf_fail "refusal not shown: $(cat "$out")"

# The list of requests stays clean too (its cells go through the table).
pf_cli diag list "$S" >"$out" 2>&1 || pf_fail "diag list: $(cat "$out")"
LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$out" && pf_fail "diag list: control character"
grep -q "reboot" "$out" || pf_fail "diag list: $(cat "$out")"
pf_log "every field of every answer shown escaped"
