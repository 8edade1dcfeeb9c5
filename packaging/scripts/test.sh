#!/usr/bin/env bash
# test.sh - install what is missing, build with ASan+UBSan and the power-cut injection
# points (POSFLEET_FAULT, so every fault test is registered and none is skipped), run the
# whole test suite. This is the second quick-start command and what CI runs (.ci/run).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${POSFLEET_TEST_BUILD:-$src/build-test}

"$src/packaging/scripts/deps.sh"
"$src/packaging/scripts/check-format.sh"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DPOSFLEET_SANITIZE=ON -DPOSFLEET_TESTS=ON \
    -DPOSFLEET_FAULT=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure -j"$(nproc)" "$@"
