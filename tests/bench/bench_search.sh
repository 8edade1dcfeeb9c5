#!/usr/bin/env bash
# bench_search.sh - the first page of every search (merchants, terminals, open
# alerts, audit log) in a store of 1,000,000 registered terminals and 100,000
# merchants; target: each at most 100 ms.
#
#   tests/bench/bench_search.sh            (run.sh search runs it on a Release build)
#   SMOKE=1 tests/bench/bench_search.sh    20,000 terminals, 2,000 merchants, 3 runs
#
# Method (tests/bench/bench_search.c has the details): a store created by
# posfleetd's migrations is filled in one transaction with the rows the store
# writes, in a fixed pseudo-random distribution (Chinese merchant names, 30
# regions, 8 models, 6 firmware versions, tags, 1% locked, 2% with an open
# alert, two audit rows a terminal); migration 014's triggers build the search
# tables. Then each query's first page (limit 100) through the store API,
# after one warm-up, 11 times: the median. Baseline, in the same run on the
# same database: the same filter as a scan without the search indexes (unary
# + in the SQL), median of 3; ratio = search / scan. The load average at the
# start, after the fill and at the end is printed on stderr.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${POSFLEET_BUILD:-$src/build}
bin=$build/tests/bench/bench_search
[ -x "$bin" ] || { echo "missing $bin (cmake --build $build --target bench_search)" >&2; exit 2; }
if nm -an "$bin" 2>/dev/null | grep -q __asan_init; then
    echo "warning: $bin is built with AddressSanitizer; figures will be meaningless" >&2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/pf-bench-search.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ "${SMOKE:-0}" = 1 ]; then
    "$bin" "$work/search.db" 20000 2000 3
else
    "$bin" "$work/search.db" 1000000 100000 11
fi
