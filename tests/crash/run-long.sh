#!/usr/bin/env bash
# run-long.sh - every crash state (outside ctest: it takes longer than the
# normal suite should). The update story of crash_update_smoke without
# sampling, then the store story of crash_store_smoke, STORE_ROUNDS (default
# 12) rounds long, without sampling. Needs a -DPOSFLEET_FAULT=ON build:
#   POSFLEET_BUILD=build tests/crash/run-long.sh
set -euo pipefail
. "$(dirname "$0")/story_update.sh"
story_bins || exit 1
base=${TMPDIR:-/tmp}
[[ -d /dev/shm && -w /dev/shm ]] && base=/dev/shm
WORK="$(mktemp -d "$base/pf-crash-long.XXXXXX")"
trap '[[ -n "${PF_KEEP_TMP:-}" ]] && echo "kept $WORK" >&2 || rm -rf "$WORK"' EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}:verify_asan_link_order=0"
story_record "$WORK"
echo "update story recorded: $STORY_BOOTS boots, $(stat -c %s "$WORK/trace") bytes of trace"
LANES=$(nproc 2>/dev/null || echo 2)
((LANES > 8)) && LANES=8
rc=0
story_check "$WORK" --lanes "$LANES" || { PF_KEEP_TMP=1; rc=1; }
CRASH_SAMPLE= STORE_ROUNDS="${STORE_ROUNDS:-12}" bash "$(dirname "$0")/test_store_smoke.sh" || rc=1
exit $rc
