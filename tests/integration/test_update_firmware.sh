#!/usr/bin/env bash
# test_update_firmware.sh - a firmware update end to end with the real broker,
# posfleetd and agent: bundle upload (verified, refused when tampered, idempotent),
# offer (refused for a wrong model, a revoked or unknown serial, an unknown bundle),
# download over MQTT chunks, install into the inactive slot, reboot through the HAL
# hook (the test restarts the agent), self-test pass, success recorded exactly once.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"

export PF_REPORT_INTERVAL=1
upd_keys_init
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
upd_server_start
ART="$PF_TMP/server/artifacts"

pf_cli device add UPD1 --model PX-500 --hw-rev r2 >/dev/null
pf_cli device add UPD-OTHER --model PX-900 >/dev/null
pf_cli device add UPD-GONE --model PX-500 >/dev/null
pf_cli device revoke UPD-GONE >/dev/null
upd_agent_start UPD1
pf_wait_for 30 "UPD1 online" pf_device_online UPD1

head -c 3000000 /dev/urandom >"$PF_TMP/fw.img"
upd_pack_fw 1.1.0 "$PF_TMP/fw.img" "$PF_TMP/fw.tar"

# --- upload: a tampered bundle is refused with the verifier's reason, nothing stored ---
cp "$PF_TMP/fw.tar" "$PF_TMP/bad.tar"
pf_flip_byte "$PF_TMP/bad.tar" -20000
cmp -s "$PF_TMP/fw.tar" "$PF_TMP/bad.tar" && pf_fail "the tampered copy equals the original"
set +e
pf_cli bundle upload "$PF_TMP/bad.tar" >/dev/null 2>"$PF_TMP/bad.err"
rc=$?
set -e
[[ $rc == 1 ]] || pf_fail "a tampered bundle upload exited $rc, want 1"
grep -q "\[DIGEST\]" "$PF_TMP/bad.err" || pf_fail "refusal does not name DIGEST: $(cat "$PF_TMP/bad.err")"
[[ "$(pf_sql 'select count(*) from bundles')" == 0 ]] || pf_fail "a refused bundle was recorded"
[[ -z "$(ls -A "$ART")" ]] || pf_fail "a refused bundle left files: $(ls -A "$ART")"
PF_CLI_TOKEN=$PF_TOKEN_VIEWER pf_cli bundle upload "$PF_TMP/fw.tar" >/dev/null 2>&1 &&
    pf_fail "a viewer uploaded a bundle"

# --- upload: stored content-addressed, idempotent, audited once ---
id=$(upd_upload "$PF_TMP/fw.tar")
[[ "$id" == "$(b2sum -l 256 "$PF_TMP/fw.tar" | cut -d' ' -f1)" ]] || pf_fail "bundle id $id is not the file's BLAKE2b-256"
cmp -s "$ART/$id.bundle" "$PF_TMP/fw.tar" || pf_fail "stored artifact differs from the upload"
pf_cli bundle upload "$PF_TMP/fw.tar" | grep "already stored" >/dev/null || pf_fail "re-upload not idempotent"
[[ "$(pf_sql "select count(*) from audit where action='bundle.upload'")" == 1 ]] || pf_fail "uploads audited more than once"
pf_cli bundles | grep "^$id  firmware  1.1.0" >/dev/null || pf_fail "posfleet bundles: $(pf_cli bundles)"

# --- offers that must be refused, each with its reason, nothing recorded ---
expect_refused() { # WHAT PATTERN CMD...
    local what="$1" pat="$2" rc=0
    shift 2
    "$@" >/dev/null 2>"$PF_TMP/refused.err" || rc=$?
    [[ $rc != 0 ]] || pf_fail "$what was accepted"
    grep -qi "$pat" "$PF_TMP/refused.err" || pf_fail "$what: no '$pat' in: $(cat "$PF_TMP/refused.err")"
}
expect_refused "an offer for the wrong model" "\[MODEL\]" pf_cli update UPD-OTHER "$id"
expect_refused "an offer to a revoked terminal" "\[REVOKED\]" pf_cli update UPD-GONE "$id"
expect_refused "an offer to an unknown serial" "unknown serial\|not registered" pf_cli update NOPE-1 "$id"
expect_refused "an offer of an unknown bundle" "not stored" pf_cli update UPD1 "$(printf '0%.0s' {1..64})"
[[ "$(pf_sql 'select count(*) from update_offers')" == 0 ]] || pf_fail "a refused offer was recorded"

# --- the update ---
upd_offer UPD1 "$id" --deadline-min 30
pf_wait_for 60 "UPD1 downloading" eval '[[ $(upd_events UPD1 downloading) -ge 1 ]]'
upd_reboot UPD1 1
pf_wait_for 60 "UPD1 update success" eval '[[ $(upd_status UPD1) == success ]]'
pf_wait_for 30 "UPD1 reports firmware 1.1.0" eval "[[ \$(pf_device_field UPD1 '\$.fw_version') == 1.1.0 ]]"
[[ "$(pf_device_field UPD1 '$.fw_slot')" == b ]] || pf_fail "UPD1 not running slot b"
cmp -n 3000000 "$PF_TMP/fw.img" "$PF_TMP/agents/UPD1/slot_b" || pf_fail "slot b does not hold the image"

# Every event arrives: the ones queued before the reboot are sent again one resend
# timeout after the agent reconnects (docs/protocol.md), so they may follow the success.
for st in accepted downloading verifying installing rebooting success; do
    pf_wait_for 30 "a $st event of UPD1" eval "[[ \$(upd_events UPD1 $st) -ge 1 ]]"
done
# Every event once: retransmissions (resend_s = 1) are acknowledged, not recorded again.
[[ "$(upd_events UPD1 success)" == 1 ]] || pf_fail "success recorded $(upd_events UPD1 success) times"
[[ "$(pf_sql "select count(*) - count(distinct id) from update_events where serial='UPD1'")" == 0 ]] ||
    pf_fail "an event id recorded twice"
pf_cli device UPD1 >"$PF_TMP/device.txt"
grep -q "update history" "$PF_TMP/device.txt" && grep -q "success" "$PF_TMP/device.txt" ||
    pf_fail "posfleet device shows no update history: $(cat "$PF_TMP/device.txt")"
curl -s "$POSFLEET_URL/metrics" >"$PF_TMP/metrics.txt"
grep -q 'posfleet_update_events_total{status="success"} 1' "$PF_TMP/metrics.txt" ||
    pf_fail "metrics do not count the success"
grep -q '^posfleet_chunks_sent_total [1-9]' "$PF_TMP/metrics.txt" || pf_fail "no chunks counted"

# A clean shutdown, and nothing for the sanitizers to report (sanitized builds).
pf_server_stop
! grep -q "Sanitizer\|runtime error" "$(pf_log_of posfleetd)" ||
    pf_fail "posfleetd: sanitizer report: $(grep -m3 "Sanitizer\|runtime error" "$(pf_log_of posfleetd)")"
pf_log "firmware update end to end: ok"
