#!/usr/bin/env bash
# test_update_smoke.sh - crash states of the whole update story (ctest
# crash_update_smoke; registered in a -DPOSFLEET_FAULT=ON build, whose driver
# has the crash points). The story (story_update.sh: firmware update, fee-table
# update, a firmware update rolled back by its failing self-test, another
# update) is recorded once per boot-control backend - file, uboot (fw_setenv on
# a redundant environment), grub (grub-editenv) - through the LD_PRELOAD
# recorder; pf_crashstates builds every crash state of docs/reliability.md's
# model at every cut, keeps the distinct ones and checks CRASH_SAMPLE of each
# story's (default 700; empty: all of them), evenly spread over the story,
# with pf_crashdrv (one checker per lane). run-long.sh checks all of them.
# CRASH_BACKENDS (default "file uboot grub") chooses the stories.
set -euo pipefail
. "$(dirname "$0")/story_update.sh"
story_bins || exit 1
backends=(${CRASH_BACKENDS:-file uboot grub})
for b in "${backends[@]}"; do
    case $b in
    uboot) command -v fw_setenv >/dev/null && command -v fw_printenv >/dev/null ||
        { echo "fw_setenv/fw_printenv (libubootenv-tool) are needed" >&2; exit 77; } ;;
    grub) command -v grub-editenv >/dev/null || { echo "grub-editenv (grub-common) is needed" >&2; exit 77; } ;;
    file) ;;
    *) echo "unknown backend $b" >&2; exit 2 ;;
    esac
done

base=${TMPDIR:-/tmp}
[[ -d /dev/shm && -w /dev/shm ]] && base=/dev/shm
WORK="$(mktemp -d "$base/pf-crash-update.XXXXXX")"
trap '[[ -n "${PF_KEEP_TMP:-}" ]] && echo "kept $WORK" >&2 || rm -rf "$WORK"' EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}:verify_asan_link_order=0"
LANES=$(nproc 2>/dev/null || echo 2)
((LANES > 4)) && LANES=4
sample=()
CRASH_SAMPLE=${CRASH_SAMPLE-700}
[[ -n "$CRASH_SAMPLE" ]] && sample=(--sample "$CRASH_SAMPLE")
rc=0
for b in "${backends[@]}"; do
    mkdir -p "$WORK/$b"
    story_record "$WORK/$b" "$b" || exit 1
    echo "$b: recorded $STORY_BOOTS boots, $(stat -c %s "$WORK/$b/trace") bytes of trace"
    if ! story_check "$WORK/$b" --lanes "$LANES" "${sample[@]}" | sed "s/^/$b: /"; then
        rc=1
    fi
done
if ((rc)); then
    PF_KEEP_TMP=1
    echo "FAIL crash_update_smoke: violations above (states kept under $WORK/*/states)" >&2
    exit 1
fi
echo "PASS crash_update_smoke"
