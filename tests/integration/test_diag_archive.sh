#!/usr/bin/env bash
# test_diag_archive.sh - the diagnostic archive: a .tar.gz built on the terminal
# with libarchive (logs, state, recent health, redacted configuration), pulled
# in chunks, checked against the digest the terminal announced, saved by the
# CLI. An archive larger than its bound is cut to fit: entries are left out
# and the answer says which; the stored archive never exceeds the bound.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/diag_lib.sh"

export PF_REPORT_INTERVAL=1
diag_stack
diag_agent DG-AR diag.archive_max_kb=64
out="$PF_TMP/out.txt"
tgz="$PF_TMP/dg-ar.tgz"

# Verbose logs for a while, so the log ring has plenty in it.
pf_cli diag DG-AR loglevel debug --minutes 5 >/dev/null 2>&1 || pf_fail "loglevel"
pf_wait_for 20 "debug lines pile up" \
    eval "(( \$(grep -c 'posfleet-agent debug' '$(pf_log_of agent-DG-AR)') >= 40 ))"

pf_cli diag DG-AR archive -o "$tgz" >"$out" 2>&1 || pf_fail "archive: $(cat "$out")"
grep -q "transfer: complete" "$out" || pf_fail "archive not complete: $(cat "$out")"
grep -q "TRUNCATED" "$out" && pf_fail "a small archive was truncated: $(cat "$out")"
tar -tzf "$tgz" >"$PF_TMP/list.txt" || pf_fail "not a .tar.gz"
for e in manifest.json versions.json config.txt selftest.json logs.txt state/seq; do
    grep -qx "$e" "$PF_TMP/list.txt" || pf_fail "archive lacks $e: $(tr '\n' ' ' <"$PF_TMP/list.txt")"
done
mkdir -p "$PF_TMP/x"
tar -xzf "$tgz" -C "$PF_TMP/x"
grep -q "posfleet-agent debug" "$PF_TMP/x/logs.txt" || pf_fail "logs.txt without the agent's lines"
grep -q "^tls.key = " "$PF_TMP/x/config.txt" || pf_fail "config.txt without the key path"
grep -rq "PRIVATE KEY" "$PF_TMP/x" && pf_fail "key material in the archive"
id=$(pf_cli --json diag list DG-AR | pf_json_get '$.diag[0].id')
size=$(diag_field "$id" '$.result.size')
[[ "$(stat -c %s "$tgz")" == "$size" ]] || pf_fail "saved $(stat -c %s "$tgz") bytes, announced $size"
[[ "$(b2sum -l 256 "$tgz" | cut -d' ' -f1)" == "$(diag_field "$id" '$.result.digest')" ]] ||
    pf_fail "digest of the saved archive"

# --- larger than the bound: cut to fit, and said so ----------------------------------------------
pf_cli diag DG-AR archive --max-kb 1 -o "$tgz.small" >"$out" 2>&1 || pf_fail "small archive: $(cat "$out")"
grep -q "(bound 1024), TRUNCATED to fit" "$out" || pf_fail "no truncation shown: $(cat "$out")"
grep -q "left out:.*logs.txt" "$out" || pf_fail "logs.txt not named as left out: $(cat "$out")"
(( $(stat -c %s "$tgz.small") <= 1024 )) || pf_fail "archive of $(stat -c %s "$tgz.small") bytes over the 1 KiB bound"
tar -tzf "$tgz.small" >"$PF_TMP/list.small" || pf_fail "the small archive is not a .tar.gz"
grep -qx manifest.json "$PF_TMP/list.small" || pf_fail "the small archive lost its manifest"

# The terminal's own bound caps what support asks for.
id=$(diag_post DG-AR archive '{"max_kb":4096}')
pf_wait_for 20 "$id answered" eval "[[ \$(diag_field $id '\$.status') == ok ]]"
[[ "$(diag_field "$id" '$.result.bound')" == 65536 ]] || pf_fail "bound $(diag_field "$id" '$.result.bound'), want the terminal's 65536"
pf_wait_for 20 "$id transferred" eval "[[ \$(diag_field $id '\$.archive.state') == complete ]]"

pf_log "diagnostic archive: ok"
