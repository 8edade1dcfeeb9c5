#!/usr/bin/env bash
# test_update_smoke.sh - crash states of the whole update story (ctest
# crash_update_smoke; registered in a -DPOSFLEET_FAULT=ON build, whose driver
# has the "run" mode). The story (story_update.sh: firmware update, fee-table
# update, a firmware update rolled back by its failing self-test, another
# update) is recorded once through the LD_PRELOAD recorder; pf_crashstates
# builds every crash state of docs/reliability.md's model at every cut, keeps
# the distinct ones and checks CRASH_SAMPLE of them (default 250), evenly
# spread over the story, with check_update.sh. run-long.sh checks all of them.
set -euo pipefail
. "$(dirname "$0")/story_update.sh"
story_bins || exit 1

base=${TMPDIR:-/tmp}
[[ -d /dev/shm && -w /dev/shm ]] && base=/dev/shm
WORK="$(mktemp -d "$base/pf-crash-update.XXXXXX")"
if [[ -n "${PF_KEEP_TMP:-}" ]]; then
    trap 'echo "kept $WORK" >&2' EXIT
else
    trap 'rm -rf "$WORK"' EXIT
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}:verify_asan_link_order=0"

story_record "$WORK" || exit 1
echo "recorded: $STORY_BOOTS boots, $(stat -c %s "$WORK/trace") bytes of trace"
LANES=$(nproc 2>/dev/null || echo 2)
((LANES > 4)) && LANES=4
if ! story_check "$WORK" --lanes "$LANES" --sample "${CRASH_SAMPLE:-250}"; then
    PF_KEEP_TMP=1
    echo "FAIL crash_update_smoke: violations above (states kept under $WORK/states)" >&2
    exit 1
fi
echo "PASS crash_update_smoke"
