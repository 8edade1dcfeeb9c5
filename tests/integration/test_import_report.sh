#!/usr/bin/env bash
# test_import_report.sh - `posfleet device import` checks every line before writing and
# reports each bad one with its line number and reason in one answer (a serial twice in
# the file is a duplicate of its first line, not "already registered"); nothing is
# registered until the file is clean; the API answers the same lines as JSON.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
pf_server_start

pf_cli device add IR-OLD --model PX-500 >/dev/null || pf_fail "device add IR-OLD"
# Five different errors on lines 3, 4, 6, 7 and 8; lines 2 and 5 are good.
cat >"$PF_TMP/bad.csv" <<'CSV'
serial,model,hw_rev,merchant_id
IR-1,PX-500
IR-2,
IR 3,PX-500
IR-4,PX-500,r2
IR-1,PX-500
IR-OLD,PX-500
IR-5,PX-500,r2,M-NOPE
CSV
set +e
pf_cli device import "$PF_TMP/bad.csv" >"$PF_TMP/out" 2>"$PF_TMP/err"
rc=$?
set -e
[[ $rc -eq 1 ]] || pf_fail "import of a bad file: exit $rc, want 1 ($(cat "$PF_TMP/err"))"
for want in "5 bad lines (nothing registered)" \
    "line 3: model: length 0 out of range 1..32" \
    "line 4: serial: 1-32 characters of A-Z a-z 0-9 _ -" \
    "line 6: serial IR-1: duplicate of line 2" \
    "line 7: serial IR-OLD: already registered" \
    "line 8: merchant M-NOPE: no such merchant"; do
    grep -qF -- "$want" "$PF_TMP/err" || pf_fail "the report lacks '$want': $(cat "$PF_TMP/err")"
done
grep -q "line [25]:" "$PF_TMP/err" && pf_fail "a good line is reported: $(cat "$PF_TMP/err")"
[[ "$(pf_sql "select count(*) from devices")" == 1 ]] || pf_fail "a refused import registered terminals"

# The API answers the same lines as JSON.
code=$(curl -s -o "$PF_TMP/api.json" -w '%{http_code}' -H "Authorization: Bearer $(cat "$PF_TOKEN_OPS")" \
    -H 'Content-Type: text/csv' --data-binary @"$PF_TMP/bad.csv" "$POSFLEET_URL/v1/devices/import")
[[ "$code" == 400 ]] || pf_fail "API import of a bad file: HTTP $code, want 400"
[[ "$(pf_json_get '$.lines[2].line' <"$PF_TMP/api.json")" == 6 ]] ||
    pf_fail "API lines: $(cat "$PF_TMP/api.json")"
[[ "$(pf_json_get '$.lines[2].message' <"$PF_TMP/api.json")" == "line 6: serial IR-1: duplicate of line 2" ]] ||
    pf_fail "API lines: $(cat "$PF_TMP/api.json")"

# Fixed, the same file goes in whole.
printf 'IR-1,PX-500\nIR-2,PX-500\nIR-3,PX-500\nIR-4,PX-500,r2\n' >"$PF_TMP/ok.csv"
pf_cli device import "$PF_TMP/ok.csv" >/dev/null || pf_fail "import of the fixed file"
[[ "$(pf_sql "select count(*) from devices")" == 5 ]] || pf_fail "the fixed file did not register 4"
pf_log "import reports every bad line: ok"
