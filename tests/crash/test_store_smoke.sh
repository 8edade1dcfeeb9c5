#!/usr/bin/env bash
# test_store_smoke.sh - crash states of posfleetd's SQLite store (ctest
# crash_store_smoke). pf_store_story makes acknowledged changes with the real
# store code - registry (device.add), lifecycle (tags, retire: state and
# registry in one transaction), each with its audit row, between ingest
# batches - recorded through the LD_PRELOAD recorder (the database, its WAL,
# -shm and directory). pf_crashstates builds the crash states of
# docs/reliability.md's model at every cut and pf_store_story serve (one
# checker per lane) checks each distinct one (CRASH_SAMPLE of them, evenly
# spread, default 2000; empty: all, as run-long.sh does): integrity_check
# passes, the store opens, and every change acknowledged before the cut is
# still there - the registry and lifecycle changes with their audit rows, the
# rollout's steps (created, members offered and their outcomes, stage opened,
# paused, resumed, aborted). STORE_ROUNDS (default 6) sets the story's length.
set -euo pipefail
SRC="${POSFLEET_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
BUILD="${POSFLEET_BUILD:-$SRC/build}"
STORY="$BUILD/tests/crash/pf_store_story"
SHIM="$BUILD/tests/crash/pf_crashrec.so"
GEN="$BUILD/tests/crash/pf_crashstates"
for b in "$STORY" "$SHIM" "$GEN"; do
    [[ -e "$b" ]] || { echo "missing $b (build first)" >&2; exit 1; }
done

base=${TMPDIR:-/tmp}
[[ -d /dev/shm && -w /dev/shm ]] && base=/dev/shm
WORK="$(mktemp -d "$base/pf-crash-store.XXXXXX")"
trap '[[ -n "${PF_KEEP_TMP:-}" ]] && echo "kept $WORK" >&2 || rm -rf "$WORK"' EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}:verify_asan_link_order=0"

# The database as posfleetd init leaves it (created, migrated, closed) is the
# disk before the story; the acknowledgements are the API's answers, not disk.
mkdir -p "$WORK/root" "$WORK/states"
"$STORY" init "$WORK/root"
cp -a "$WORK/root" "$WORK/init"
: >"$WORK/trace"
LD_PRELOAD="$SHIM" PF_CRASHREC_ROOT="$WORK/root" PF_CRASHREC_TRACE="$WORK/trace" \
    "$STORY" write "$WORK/root" "${STORE_ROUNDS:-6}"
echo "recorded: $(grep -c . "$WORK/root/acks") acknowledged changes, $(stat -c %s "$WORK/trace") bytes of trace"
LANES=$(nproc 2>/dev/null || echo 2)
((LANES > 4)) && LANES=4
sample=()
CRASH_SAMPLE=${CRASH_SAMPLE-2000}
[[ -n "$CRASH_SAMPLE" ]] && sample=(--sample "$CRASH_SAMPLE")
if ! "$GEN" --serve --lanes "$LANES" "${sample[@]}" --external acks "$WORK/init" "$WORK/root" \
    "$WORK/trace" "$WORK/states" -- "$STORY" serve; then
    PF_KEEP_TMP=1
    echo "FAIL crash_store_smoke: violations above (states kept under $WORK/states)" >&2
    exit 1
fi
echo "PASS crash_store_smoke"
