#!/usr/bin/env bash
# test_console.sh - the back office in a real browser (docs/console.md): posfleetd serves the
# console at / with its security headers (CSP without inline code, nosniff, referrer, frames),
# GET/HEAD only, no listing, no path outside its folders, Debian's libjs-* by allowed name only;
# then headless Chromium (console_test.py, python3-selenium) logs in as a user, sees the
# dashboard with this stack's terminals, switches to Chinese, pages through the terminals,
# sees a merchant name made of HTML shown as text, and a wrong password refused. Screenshots
# go to the test's log directory. Skipped (77) only when Chromium is not installed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"
. "$(dirname "$0")/console_lib.sh"

console_need_browser

PW='correct horse battery'
NASTY='<img src=x onerror=document.title="owned">'
console_stack_tokens
upd_server_start "http.console_dir = $PF_SRC/console"
admin="$PF_TMP/server/admin.token"

# api TOKEN_FILE METHOD PATH [BODY]: the status, the body into $PF_TMP/api.body.
api() {
    curl -s -o "$PF_TMP/api.body" -w '%{http_code}' -X "$2" -H "Authorization: Bearer $(cat "$1")" \
        -H 'Content-Type: application/json' ${4:+--data "$4"} "$POSFLEET_URL$3"
}
must() { # must STATUS TOKEN METHOD PATH [BODY]
    local got
    got=$(api "${@:2}")
    [[ "$got" == "$1" ]] || pf_fail "$3 $4: $got, want $1: $(cat "$PF_TMP/api.body")"
}
# head_of PATH [curl args...]: the status line and headers of a console answer.
head_of() { curl -s -o /dev/null -D - "${@:2}" "$POSFLEET_URL$1" | tr -d '\r'; }
status_of() { curl -s -o /dev/null -w '%{http_code}' "${@:2}" "$POSFLEET_URL$1"; }

# --- the files and their headers, without a browser ---
h=$(head_of /)
grep -q '^HTTP/1.1 200' <<<"$h" || pf_fail "/: $h"
grep -qi '^content-type: text/html' <<<"$h" || pf_fail "/ is not HTML: $h"
csp=$(grep -i '^content-security-policy:' <<<"$h" || true)
[[ -n "$csp" ]] || pf_fail "no CSP on /: $h"
grep -q "script-src 'self'" <<<"$csp" || pf_fail "CSP scripts: $csp"
grep -q "style-src 'self'" <<<"$csp" || pf_fail "CSP styles: $csp"
grep -q "frame-ancestors 'none'" <<<"$csp" || pf_fail "CSP frames: $csp"
grep -q "unsafe-inline\|unsafe-eval" <<<"$csp" && pf_fail "CSP allows inline code: $csp"
grep -qi '^x-content-type-options: nosniff' <<<"$h" || pf_fail "no nosniff: $h"
grep -qi '^referrer-policy: no-referrer' <<<"$h" || pf_fail "no Referrer-Policy: $h"
grep -qi '<script>\|<style\| style=\| on[a-z]*=' "$PF_SRC/console/index.html" &&
    pf_fail "index.html has inline script or style"
for p in /js/console.js /css/console.css /i18n/zh-CN.json /javascript/jquery/jquery.min.js; do
    [[ "$(status_of "$p")" == 200 ]] || pf_fail "$p: $(status_of "$p")"
done
# Refused: traversal in every spelling, hidden files, listings, other packages, other methods.
for p in /js/../../../etc/passwd /js/%2e%2e/%2e%2e/etc/passwd /js/..%2f..%2fCMakeLists.txt \
    /i18n/../index.html /js/ /js /css/.hidden.css /javascript/sphinxdoc/doctools.js \
    /javascript/jquery/../underscore/underscore.js /javascript/ /js/console.js.map /index.htm; do
    code=$(curl -s -o "$PF_TMP/t.body" -w '%{http_code}' --path-as-is "$POSFLEET_URL$p")
    [[ "$code" == 404 ]] || pf_fail "$p: $code, want 404 ($(head -c 200 "$PF_TMP/t.body"))"
    grep -q 'root:' "$PF_TMP/t.body" && pf_fail "$p leaked /etc/passwd"
done
h=$(head_of /js/%2e%2e/x.js --path-as-is)
grep -qi '^content-security-policy:' <<<"$h" || pf_fail "a refusal lacks the CSP: $h"
[[ "$(status_of / -X POST)" == 405 ]] || pf_fail "POST / answered $(status_of / -X POST)"
head_of /js/console.js -X DELETE | grep -qi '^allow: GET, HEAD' || pf_fail "405 without Allow"
[[ "$(status_of / -I)" == 200 ]] || pf_fail "HEAD / answered $(status_of / -I)"
pf_log "console files served with their headers; traversal, listing and other methods refused"

# --- a user, a merchant whose name is HTML, terminals of this stack ---
must 201 "$admin" POST /v1/users "{\"name\":\"zhang.wei\",\"role\":\"ops\",\"org\":\"headquarters\",\"password\":\"$PW\"}"
merchant=$(python3 -c 'import json,sys; print(json.dumps({"id":"M-XSS","name":sys.argv[1],
"uscc":"9144030071526726XG","mcc":"5812","address":"1 Test Rd","contact_name":"Li Na",
"contact_phone":"13800000000","tz":"Asia/Shanghai","settlement":"T1","fee_plan":["fee-1"]}))' "$NASTY")
must 201 "$admin" POST /v1/merchants "$merchant"
must 200 "$admin" POST /v1/merchants/M-XSS/approve '{}'
must 200 "$admin" POST /v1/merchants/M-XSS/activate '{}'
for s in CON-1 CON-2 CON-3; do
    pf_cli device add "$s" --model PX-500 --hw-rev r2 >/dev/null || pf_fail "device add $s"
done
pf_cli device add CON-4 --model PX-500 --merchant M-XSS >/dev/null || pf_fail "device add CON-4"
for s in CON-1 CON-2 CON-4; do pf_agent_start "$s"; done
for s in CON-1 CON-2 CON-4; do pf_wait_for 30 "$s online" pf_device_online "$s"; done
# A rollout of the four for next year: active (scheduled), nothing offered.
head -c 4096 /dev/urandom >"$PF_TMP/fw.img"
upd_pack_fw 2.0.0 "$PF_TMP/fw.img" "$PF_TMP/fw.tar"
bundle=$(upd_upload "$PF_TMP/fw.tar")
ro=$(pf_cli --json rollout create "$bundle" --name "fw 2.0 <b>bold</b>" --stages 100% \
    --start-at "$(date -u -d '+1 year' +%Y-%m-%dT%H:%M:%SZ)" | pf_json_get '$.id')
[[ -n "$ro" ]] || pf_fail "rollout create"
pf_log "stack: 4 terminals (3 online, 1 never seen), merchant M-XSS, rollout $ro scheduled"

# --- the browser ---
# Screenshots outlive the run: PF_ARTIFACTS (CI sets it), else artifacts/ in the build tree.
shots="${PF_ARTIFACTS:-$PF_BUILD/artifacts}/$PF_TEST_NAME"
rm -rf "$shots"
mkdir -p "$shots"
"$PY" "$PF_SRC/tests/integration/console_test.py" --url "http://localhost:$PF_HTTP_PORT" \
    --user zhang.wei --password "$PW" --nasty "$NASTY" --shots "$shots" \
    --chromium "$CHROME" --driver "$DRIVER" --profile "$(pf_tmpdir chromium)" \
    --online 3 --never 1 --serials CON-1,CON-2,CON-3,CON-4 --rollout "$ro" \
    --rollout-name "fw 2.0 <b>bold</b>" >"$PF_TMP/logs/console_test.log" 2>&1 ||
    pf_fail "console_test.py failed: $(tail -n 30 "$PF_TMP/logs/console_test.log")"
for page in login-error login dashboard dashboard-zh terminals terminals-page2; do
    [[ -s "$shots/$page.png" ]] || pf_fail "no screenshot $page.png"
done
pf_log "browser: login, dashboard, Chinese, terminals with paging, HTML shown as text, wrong password"
pf_log "PASS"
