#!/usr/bin/env bash
# test_bundle_upload_loop.sh - an upload never stalls posfleetd's loop:
#  - a bundle gzipped three times (1 GiB of zeros inside, a few KiB on the
#    wire) is refused by its first bytes, 400 INVAL naming the compression,
#    nothing decompressed or stored;
#  - while a large valid bundle is being verified (posfleetd's gauge
#    posfleet_bundle_uploads_verifying is 1) GET /metrics answers: the
#    verification runs on libuv's thread pool, not on the loop. The condition
#    is the gauge seen at 1 in a /metrics answer, never a time threshold.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"

BIG_MIB=${BIG_MIB:-128}
upd_keys_init
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
upd_server_start "http.import_max = $(((BIG_MIB + 8) * 1024 * 1024))"
ART="$PF_TMP/server/artifacts"

metrics() { curl -sf -m 20 "$POSFLEET_URL/metrics"; }
# upload FILE OUT: POST /v1/bundles as ops; prints the HTTP status, the body goes to OUT.
upload() {
    curl -s -o "$2" -w '%{http_code}' -H "Authorization: Bearer $(head -1 "$PF_TOKEN_OPS")" \
        -H 'Content-Type: application/octet-stream' --data-binary @"$1" "$POSFLEET_URL/v1/bundles"
}

# --- a decompression bomb: refused by its first bytes ---
truncate -s 1G "$PF_TMP/zero.img"
tar -C "$PF_TMP" -cf - zero.img | gzip -1 | gzip -9 | gzip -9 >"$PF_TMP/bomb.tar.gz.gz.gz"
rm -f "$PF_TMP/zero.img"
bomb=$(stat -c %s "$PF_TMP/bomb.tar.gz.gz.gz")
((bomb < 16384)) || pf_fail "the bomb is $bomb bytes; expected a few KiB"
code=$(upload "$PF_TMP/bomb.tar.gz.gz.gz" "$PF_TMP/bomb.out")
[[ "$code" == 400 ]] || pf_fail "the bomb was answered $code: $(cat "$PF_TMP/bomb.out")"
grep -q '"error":"INVAL"' "$PF_TMP/bomb.out" && grep -q 'gzip-compressed' "$PF_TMP/bomb.out" ||
    pf_fail "the refusal does not say why: $(cat "$PF_TMP/bomb.out")"
[[ "$(pf_sql 'select count(*) from bundles')" == 0 ]] || pf_fail "the bomb was recorded"
[[ -z "$(ls -A "$ART")" ]] || pf_fail "the bomb left files: $(ls -A "$ART")"
# Read whole before grep -q: an early exit would break curl's pipe (pipefail).
m=$(metrics) || pf_fail "GET /metrics failed"
grep -q '^posfleet_bundle_uploads_total{result="refused"} 1$' <<<"$m" ||
    pf_fail "the refusal was not counted"
pf_log "a $bomb-byte bundle gzipped three times (1 GiB inside): refused 400 INVAL, nothing stored"

# --- a large valid bundle: /metrics answers while it is verified ---
head -c "$((BIG_MIB * 1024 * 1024))" /dev/urandom >"$PF_TMP/big.img"
upd_pack_fw 2.0.0 "$PF_TMP/big.img" "$PF_TMP/big.tar"
rm -f "$PF_TMP/big.img"
upload "$PF_TMP/big.tar" "$PF_TMP/big.out" >"$PF_TMP/big.code" &
up=$!
answers=0 during=0
while kill -0 "$up" 2>/dev/null; do
    # Every poll must be answered, whatever the upload is doing.
    m=$(metrics) || { kill -0 "$up" 2>/dev/null && pf_fail "GET /metrics failed during the upload"; break; }
    answers=$((answers + 1))
    grep -q '^posfleet_bundle_uploads_verifying 1$' <<<"$m" && during=$((during + 1))
done
wait "$up" || pf_fail "the upload's curl failed"
[[ "$(cat "$PF_TMP/big.code")" == 201 ]] ||
    pf_fail "the large upload was answered $(cat "$PF_TMP/big.code"): $(head -c 500 "$PF_TMP/big.out")"
((during >= 1)) ||
    pf_fail "no /metrics answer ($answers polls) came while the upload was being verified"
m=$(metrics) || pf_fail "GET /metrics failed"
grep -q '^posfleet_bundle_uploads_verifying 0$' <<<"$m" || pf_fail "the gauge did not return to 0"
id=$(b2sum -l 256 "$PF_TMP/big.tar" | cut -d' ' -f1)
cmp -s "$ART/$id.bundle" "$PF_TMP/big.tar" || pf_fail "the stored artifact differs from the upload"
pf_log "$BIG_MIB MiB upload: $during of $answers /metrics answers came while it was verified"

pf_server_stop
! grep -q "Sanitizer\|runtime error" "$(pf_log_of posfleetd)" ||
    pf_fail "posfleetd: sanitizer report: $(grep -m3 "Sanitizer\|runtime error" "$(pf_log_of posfleetd)")"
pf_log "uploads off the loop: ok"
