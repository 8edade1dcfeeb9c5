#!/usr/bin/env bash
# run-long.sh - every crash state (outside ctest: it takes longer than the
# normal suite should). The update story of crash_update_smoke with each boot
# backend (CRASH_BACKENDS, default "file uboot grub") without sampling, then
# the store story of crash_store_smoke, STORE_ROUNDS (default 12) rounds long,
# without sampling. Needs a -DPOSFLEET_FAULT=ON build:
#   POSFLEET_BUILD=build tests/crash/run-long.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
rc=0
CRASH_SAMPLE= bash "$HERE/test_update_smoke.sh" || rc=1
CRASH_SAMPLE= STORE_ROUNDS="${STORE_ROUNDS:-12}" bash "$HERE/test_store_smoke.sh" || rc=1
exit $rc
