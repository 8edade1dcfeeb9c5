#!/usr/bin/env bash
# run.sh - runs every benchmark against its baseline, side by side, and rewrites
# the figures table in docs/benchmarks.md.
#
#   tests/bench/run.sh [NAME...]      e.g. run.sh ingest footprint verify
#   SMOKE=1 tests/bench/run.sh flood  a short run that checks a benchmark works (benchmarks
#                                     that know SMOKE shrink to seconds; no figure to keep)
#   BASELINE_BUILD=DIR                a previous build measured in the same run, where a
#                                     benchmark compares with one (flood)
#
# Builds a Release tree (no sanitizers) in build-bench/. Each tests/bench/bench_NAME.sh
# prints result rows on stdout as
#   ROW|figure|posfleet|baseline (name: value)|ratio|target|met
# and anything else on stderr. Not part of ctest: figures are measured, never timed tests.
# Benchmarks that compare two builds of posfleetd (upload) take the baseline's build
# directory from POSFLEET_BASELINE_BUILD; SMOKE=1 asks a benchmark that has one for its
# short run (a check that the script works, not a figure).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
export POSFLEET_SRC=$src
export POSFLEET_BUILD=${POSFLEET_BENCH_BUILD:-$src/build-bench}

"$src/packaging/scripts/deps.sh"
cmake -S "$src" -B "$POSFLEET_BUILD" -DCMAKE_BUILD_TYPE=Release -DPOSFLEET_SANITIZE=OFF \
      -DPOSFLEET_TESTS=ON >/dev/null
cmake --build "$POSFLEET_BUILD" -j"$(nproc)" >/dev/null

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in "$src"/tests/bench/bench_*.sh; do
        n=$(basename "$f" .sh); names+=("${n#bench_}")
    done
fi

machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"), $(uname -m)"
date=$(date -u +%Y-%m-%d)
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
for n in "${names[@]}"; do
    echo "== bench $n" >&2
    if ! bash "$src/tests/bench/bench_$n.sh" | grep '^ROW|' | sed "s/\$/|$n/" >>"$rows"; then
        echo "bench $n failed" >&2
    fi
done

table=$(mktemp)
{
    echo "Machine: $machine. Date: $date. Reproduce: \`tests/bench/run.sh NAME\`."
    echo
    echo "| figure | posfleet | baseline | ratio | target | met | bench |"
    echo "|---|---|---|---|---|---|---|"
    awk -F'|' '{printf "| %s | %s | %s | %s | %s | %s | `%s` |\n", $2, $3, $4, $5, $6, $7, $8}' "$rows"
} >"$table"

doc=$src/docs/benchmarks.md
if [ -f "$doc" ] && grep -q '<!-- figures:begin -->' "$doc"; then
    # Replace rows of the benchmarks just run; keep the others.
    old=$(mktemp)
    sed -n '/<!-- figures:begin -->/,/<!-- figures:end -->/p' "$doc" | grep '^| ' | grep -v '^| figure' >"$old" || true
    for n in "${names[@]}"; do grep -v "| \`$n\` |\$" "$old" >"$old.n" || true; mv "$old.n" "$old"; done
    { sed -n '1,4p' "$table"; cat "$old"; sed -n '5,$p' "$table"; } >"$table.m"
    awk -v t="$table.m" '
        /<!-- figures:begin -->/ { print; while ((getline l < t) > 0) print l; skip=1; next }
        /<!-- figures:end -->/ { skip=0 }
        !skip { print }' "$doc" >"$doc.new"
    mv "$doc.new" "$doc"
    rm -f "$old" "$table.m"
fi
cat "$table"
rm -f "$table"
