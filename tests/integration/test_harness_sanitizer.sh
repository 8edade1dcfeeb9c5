#!/usr/bin/env bash
#
# test_harness_sanitizer.sh - the harness fails a test when any process of its run wrote a
# sanitizer report to its log, whatever that process's exit status (lib.sh's cleanup): a child
# test whose posfleetd log holds an AddressSanitizer summary, a LeakSanitizer error or a UBSan
# runtime error fails naming the log; the same child without the report passes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LIB="$(cd "$(dirname "$0")" && pwd)/lib.sh"
WORK="$(pf_tmpdir work)"

# child.sh LINE: a test that leaves LINE in logs/posfleetd.log and ends with status 0.
cat >"$WORK/child.sh" <<EOF
set -euo pipefail
. "$LIB"
mkdir -p "\$PF_TMP/logs"
printf '%s\n' "\$1" >"\$PF_TMP/logs/posfleetd.log"
exit 0
EOF

run_child() { bash "$WORK/child.sh" "$1" >"$WORK/out" 2>&1; }

for line in 'SUMMARY: AddressSanitizer: 24 byte(s) leaked in 1 allocation(s).' \
    'server/x.c:10:5: runtime error: signed integer overflow' \
    '==123==ERROR: LeakSanitizer: detected memory leaks'; do
    if run_child "$line"; then
        pf_fail "a run whose log holds \"$line\" passed"
    fi
    grep -q 'sanitizer reports in logs/posfleetd.log' "$WORK/out" ||
        pf_fail "the failure does not name the log: $(cat "$WORK/out")"
done
run_child 'posfleetd: info: stopped' || pf_fail "a clean run failed: $(cat "$WORK/out")"
pf_log "sanitizer reports in a run's logs fail it; a clean run passes"
