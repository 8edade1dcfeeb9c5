#!/usr/bin/env bash
# test_bulk_lifecycle.sh - `posfleet device bind|unbind|tag --csv FILE`: a file with several bad
# rows (a short row, an unknown serial, a merchant that may not get terminals, a serial twice,
# a bad serial, a missing merchant) is refused with every bad line and its reason in one
# answer, sorted by line, and nothing changes; --check reports without changing; a clean
# 10,000-row file binds every terminal in one transaction, each audited; on a terminal a
# progress line is rewritten in place, and nothing of it is printed when stderr is not a
# terminal; unbind keeps its reason in the history; tags add and remove in file order.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

PTY_RUN="$(dirname "$0")/pty_run.py"
N=10000

pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
pf_server_start

expect_fail() { # expect_fail EXIT CLI-ARGS... (stderr in $PF_TMP/err)
    local want="$1" rc
    shift
    set +e
    pf_cli "$@" >"$PF_TMP/out" 2>"$PF_TMP/err"
    rc=$?
    set -e
    [[ $rc -eq $want ]] || pf_fail "posfleet $*: exit $rc, want $want ($(cat "$PF_TMP/err"))"
}
bound() { pf_sql "select count(*) from terminals where merchant_id is not null"; }
audits() { pf_sql "select count(*) from audit where action='$1'"; }

m_args=(--name "Corner Shop" --address "9 Market St" --contact "Wang Fang" --phone 13800000000
        --settlement T0 --mcc 5411 --tz Asia/Shanghai --fee-plan fee-2026.11)
pf_cli merchant add M-A --uscc 9144030071526726XG "${m_args[@]}" >/dev/null || pf_fail "add M-A"
pf_cli merchant approve M-A >/dev/null || pf_fail "approve M-A"
pf_cli merchant add M-APP --uscc 9144030071526727XH "${m_args[@]}" >/dev/null || pf_fail "add M-APP"

# 10,000 terminals in stock.
{
    echo "serial,model"
    for ((i = 1; i <= N; i++)); do printf 'BK-%05d,PX-500\n' "$i"; done
} >"$PF_TMP/import.csv"
pf_cli device import "$PF_TMP/import.csv" >/dev/null || pf_fail "import"

# --- all or nothing: six bad lines, two good ones ------------------------------------
cat >"$PF_TMP/bad.csv" <<'CSV'
serial,merchant
BK-00001,M-A
BK-00002
BK-NOPE,M-A
BK-00003,M-APP
BK-00001,M-A
BK 7,M-A
BK-00004,M-NOPE
BK-00005,M-A
CSV
expect_fail 1 device bind --csv "$PF_TMP/bad.csv"
for want in "6 bad lines (nothing changed)" \
    "line 3: expected serial,merchant, got 1 field" \
    "line 4: serial BK-NOPE is not registered" \
    "line 5: bind: merchant M-APP is applied: only approved or active merchants get terminals" \
    "line 6: serial BK-00001: duplicate of line 2" \
    "line 7: serial: 1-32 characters of A-Z a-z 0-9 _ -" \
    "line 8: merchant M-NOPE: no such merchant"; do
    grep -qF -- "$want" "$PF_TMP/err" || pf_fail "the report lacks '$want': $(cat "$PF_TMP/err")"
done
grep -q "^line [29]:" "$PF_TMP/err" && pf_fail "a good line is reported: $(cat "$PF_TMP/err")"
[[ "$(grep '^line' "$PF_TMP/err" | cut -d: -f1 | tr '\n' ' ')" == "line 3 line 4 line 5 line 6 line 7 line 8 " ]] ||
    pf_fail "bad lines not in file order: $(cat "$PF_TMP/err")"
[[ "$(bound)" == 0 ]] || pf_fail "a refused file bound terminals"
[[ "$(audits terminal.bind)" == 0 ]] || pf_fail "a refused file left audit rows"
[[ "$(pf_sql "select status from merchants where id='M-A'")" == approved ]] || pf_fail "a refused file activated the merchant"

# The API answers the same lines as JSON, status of the first bad line.
code=$(curl -s -o "$PF_TMP/api.json" -w '%{http_code}' -H "Authorization: Bearer $(cat "$PF_TOKEN_OPS")" \
    --data-binary '{"rows":[{"line":2,"serial":"BK-00001","merchant_id":"M-A"},{"line":3,"serial":"BK-NOPE","merchant_id":"M-A"},{"line":4,"serial":"BK-00001","merchant_id":"M-A"}]}' \
    "$POSFLEET_URL/v1/bulk/bind")
[[ "$code" == 404 ]] || pf_fail "API bulk bind of bad rows: HTTP $code, want 404 ($(cat "$PF_TMP/api.json"))"
[[ "$(pf_json_get '$.lines[1].message' <"$PF_TMP/api.json")" == "line 4: serial BK-00001: duplicate of line 2" ]] ||
    pf_fail "API lines: $(cat "$PF_TMP/api.json")"
[[ "$(bound)" == 0 ]] || pf_fail "a refused API call bound terminals"
PF_CLI_TOKEN=$PF_TOKEN_SUPPORT expect_fail 5 device bind --csv "$PF_TMP/bad.csv"

# --check: a clean file is reported good and nothing changes.
printf 'BK-00001,M-A\nBK-00002,M-A\n' >"$PF_TMP/two.csv"
pf_cli device bind --csv "$PF_TMP/two.csv" --check >"$PF_TMP/out" 2>"$PF_TMP/err" ||
    pf_fail "check of a clean file: $(cat "$PF_TMP/err")"
grep -q "every line is good (nothing changed)" "$PF_TMP/out" || pf_fail "check: $(cat "$PF_TMP/out")"
[[ "$(bound)" == 0 ]] || pf_fail "--check bound terminals"

# --- 10,000 rows, one transaction, each audited; no progress without a terminal -----------
{
    echo "serial,merchant"
    for ((i = 1; i <= N; i++)); do printf 'BK-%05d,M-A\n' "$i"; done
} >"$PF_TMP/bind.csv"
pf_cli device bind --csv "$PF_TMP/bind.csv" >"$PF_TMP/out" 2>"$PF_TMP/err" ||
    pf_fail "bulk bind of $N: $(cat "$PF_TMP/err")"
grep -q "bound $N terminals" "$PF_TMP/out" || pf_fail "bulk bind said: $(cat "$PF_TMP/out")"
[[ ! -s "$PF_TMP/err" ]] || pf_fail "progress or notes on a stderr that is not a terminal: $(cat "$PF_TMP/err")"
[[ "$(pf_sql "select count(*) from terminals where state='installed' and merchant_id='M-A'")" == "$N" ]] ||
    pf_fail "not every terminal is bound"
[[ "$(audits terminal.bind)" == "$N" ]] || pf_fail "want $N audit rows, got $(audits terminal.bind)"
[[ "$(pf_sql "select count(*) from terminal_events where kind='bind'")" == "$N" ]] ||
    pf_fail "want $N history lines"
[[ "$(pf_sql "select status from merchants where id='M-A'")" == active ]] || pf_fail "binding did not activate the merchant"
grep -q "bulk bind: $N rows, $N terminals changed in [0-9]* ms" "$PF_TMP/logs/posfleetd.log" ||
    pf_fail "posfleetd did not log the bulk bind and its time"

# --- unbind on a terminal: a progress line rewritten in place -----------------------------
{
    echo "serial,reason"
    for ((i = 1; i <= N; i++)); do printf 'BK-%05d,shop closed\n' "$i"; done
} >"$PF_TMP/unbind.csv"
python3 "$PTY_RUN" -- "$PF_CLI" --server "$POSFLEET_URL" --token-file "$PF_TOKEN_OPS" \
    device unbind --csv "$PF_TMP/unbind.csv" >"$PF_TMP/pty.out" || pf_fail "unbind on a pty: $(cat "$PF_TMP/pty.out")"
grep -q "unbound $N terminals" "$PF_TMP/pty.out" || pf_fail "unbind on a pty: $(cat "$PF_TMP/pty.out")"
grep -q $'\rdevice unbind: sending' "$PF_TMP/pty.out" || pf_fail "no progress line: $(cat -v "$PF_TMP/pty.out")"
[[ "$(bound)" == 0 ]] || pf_fail "unbind left terminals bound"
[[ "$(pf_sql "select detail from terminal_events where kind='unbind' and serial='BK-00007'")" == "shop closed" ]] ||
    pf_fail "the reason is not in the history"

# --- tags: add and remove in file order ----------------------------------------------------
cat >"$PF_TMP/tags.csv" <<'CSV'
serial,tag,op
BK-00001,vip
BK-00001,华南,+
BK-00002,vip
BK-00001,vip,-
CSV
pf_cli device tag --csv "$PF_TMP/tags.csv" >"$PF_TMP/out" 2>"$PF_TMP/err" || pf_fail "tags: $(cat "$PF_TMP/err")"
grep -q "tags changed on 2 terminals" "$PF_TMP/out" || pf_fail "tags said: $(cat "$PF_TMP/out")"
[[ "$(pf_sql "select tags from terminals where serial='BK-00001'")" == '["华南"]' ]] ||
    pf_fail "BK-00001 tags: $(pf_sql "select tags from terminals where serial='BK-00001'")"
[[ "$(pf_sql "select tags from terminals where serial='BK-00002'")" == '["vip"]' ]] || pf_fail "BK-00002 tags"
printf 'BK-00003,north\nBK-00003,bad tag\nBK-00004,x,*\n' >"$PF_TMP/badtags.csv"
expect_fail 1 device tag --csv "$PF_TMP/badtags.csv"
grep -qF "line 2: tag: no blanks or commas in a tag" "$PF_TMP/err" || pf_fail "tags: $(cat "$PF_TMP/err")"
grep -qF "line 3: op: + (add the tag) or - (remove it)" "$PF_TMP/err" || pf_fail "tags: $(cat "$PF_TMP/err")"
[[ "$(pf_sql "select coalesce(tags, '[]') from terminals where serial='BK-00003'")" == '[]' ]] ||
    pf_fail "a refused tag file changed BK-00003"
pf_log "bulk bind, unbind and tag: ok"
