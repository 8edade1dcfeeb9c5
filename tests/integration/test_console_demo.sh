#!/usr/bin/env bash
# test_console_demo.sh - the demo (packaging/scripts/demo.sh) as a newcomer meets it: run in a
# temporary directory on free loopback ports with this build (POSFLEET_DEMO_RUN,
# POSFLEET_DEMO_PREBUILT), it must print the console's address and a login; headless Chromium
# (console_demo_test.py) logs in with them and must see the demo's six terminals and its
# rollout. Screenshots go to the artifacts directory. Skipped (77) only when Chromium is not
# installed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console_lib.sh"

console_need_browser
for b in server/posfleetd agent/posfleet-agent tests/sim/posfleet-sim packaging/posfleet_acl.so \
    packaging/posfleet-pack; do
    pf_require_bin "$PF_BUILD/$b"
done

demo=(env POSFLEET_DEMO_RUN="$PF_TMP/demo" POSFLEET_DEMO_BUILD="$PF_BUILD"
    POSFLEET_DEMO_PREBUILT=1 POSFLEET_DEMO_ROLLOUT_WAIT_S=1200 bash "$PF_SRC/packaging/scripts/demo.sh")
pf_at_exit "${demo[*]} stop >/dev/null 2>&1"
"${demo[@]}" >"$PF_TMP/logs/demo.out" 2>"$PF_TMP/logs/demo.err" ||
    pf_fail "demo.sh failed: $(tail -n 20 "$PF_TMP/logs/demo.err")"

# The last lines name the console and its login.
line=$(grep -F 'The console (back office):' "$PF_TMP/logs/demo.out") ||
    pf_fail "the demo does not print the console's address: $(tail -n 20 "$PF_TMP/logs/demo.out")"
read -r url user password < <(sed -E 's/.*:[[:space:]]+(https:[^ ]+)[[:space:]]+user ([^,]+), password (.*)$/\1 \2 \3/' <<<"$line")
[[ "$url" == https://127.0.0.1:*/ && -n "$user" && -n "$password" ]] ||
    pf_fail "cannot read the console's address and login from: $line"
rid=$(grep -oE '^posfleet rollout show [0-9]+' "$PF_TMP/logs/demo.out" | awk '{print $4}')
[[ -n "$rid" ]] || pf_fail "the demo printed no rollout"
pf_log "demo: console at $url, user $user, rollout $rid"

shots="${PF_ARTIFACTS:-$PF_BUILD/artifacts}/$PF_TEST_NAME"
rm -rf "$shots"
mkdir -p "$shots"
# The demo's API certificate is from its development CA: Chromium is told to accept it for this
# loopback address only (the CA is not installed in the system).
"$PY" "$PF_SRC/tests/integration/console_demo_test.py" --url "${url%/}" --user "$user" \
    --password "$password" --rollout "$rid" --shots "$shots" --chromium "$CHROME" \
    --driver "$DRIVER" --profile "$(pf_tmpdir chromium)" \
    >"$PF_TMP/logs/console_demo_test.log" 2>&1 ||
    pf_fail "console_demo_test.py failed: $(tail -n 30 "$PF_TMP/logs/console_demo_test.log")"
for page in dashboard terminals; do
    [[ -s "$shots/demo-$page.png" ]] || pf_fail "no screenshot demo-$page.png"
done
pf_log "browser: the demo's login works, its six terminals and rollout $rid are on the console"
pf_log "PASS"
