#!/usr/bin/env bash
# bench_verify.sh - verifying a firmware bundle vs b2sum on the same file.
#
#   tests/bench/bench_verify.sh [BUILD_DIR] [SIZE_MIB] [REPETITIONS]
#
# BUILD_DIR should be an optimised build without sanitizers, e.g.
#   cmake -S . -B /tmp/build-rel -DCMAKE_BUILD_TYPE=Release -DPOSFLEET_SANITIZE=OFF
#   cmake --build /tmp/build-rel -j2 --target posfleet-pack posfleet-keys
# Defaults: $POSFLEET_BUILD or build/, 256 MiB, 7 repetitions.
#
# Method: one random payload of SIZE_MIB packed into a signed bundle; the
# bundle file is read once by each tool to warm the page cache, then the two
# commands alternate REPETITIONS times: `b2sum BUNDLE` and
# `posfleet-pack verify --root ROOT.pub BUNDLE` (keyring chain, manifest
# signature, policy, one-pass read with BLAKE2b-256 of the payload). Wall time
# per run from date +%s%N; CPU time (user + system) and peak RSS from
# /usr/bin/time -f "%U %S %M". Throughput ratios are given on both medians: on a
# shared machine the CPU-time ratio is the steadier one. Prints the runs, the
# medians and a markdown table row. Not part of ctest: it needs a quiet machine.
set -euo pipefail

SRC="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${1:-${POSFLEET_BUILD:-$SRC/build}}"
SIZE_MIB="${2:-256}"
REPS="${3:-7}"
PACK="$BUILD/packaging/posfleet-pack"
KEYS="${PF_BENCH_KEYS:-$BUILD/keys/posfleet-keys}" # key setup only; not timed
TIME=/usr/bin/time

for b in "$PACK" "$KEYS" b2sum "$TIME"; do
    command -v "$b" >/dev/null || { echo "missing: $b" >&2; exit 2; }
done
if nm -an "$PACK" 2>/dev/null | grep -q __asan_init; then
    echo "warning: $PACK is built with AddressSanitizer; figures will be meaningless" >&2
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/pf-bench-verify.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
"$KEYS" init --dir k >/dev/null
"$KEYS" add --dir k --role firmware --name bench >/dev/null
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >fw.img
"$PACK" create --kind firmware --version 1.0.0 --model BENCH --hw-rev A --keyring k \
    --key k/signing/bench.key -o bundle.tar fw.img >/dev/null
rm fw.img
BYTES=$(stat -c %s bundle.tar)

# run_once CMD...: prints "wall_s rss_kib cpu_s" for one run.
run_once() {
    local t0 t1
    t0=$(date +%s%N)
    "$TIME" -f "%M %U %S" -o rss.txt "$@" >/dev/null
    t1=$(date +%s%N)
    printf '%s %s\n' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')" \
        "$(tail -n 1 rss.txt | awk '{ printf "%d %.2f", $1, $2 + $3 }')"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

VERIFY=("$PACK" verify --root k/root.pub bundle.tar)
B2=(b2sum bundle.tar)
run_once "${B2[@]}" >/dev/null
run_once "${VERIFY[@]}" >/dev/null
: >b2.txt
: >verify.txt
for ((i = 0; i < REPS; i++)); do
    run_once "${B2[@]}" >>b2.txt
    run_once "${VERIFY[@]}" >>verify.txt
done

b2_t=$(cut -d' ' -f1 b2.txt | median)
v_t=$(cut -d' ' -f1 verify.txt | median)
b2_c=$(cut -d' ' -f3 b2.txt | median)
v_c=$(cut -d' ' -f3 verify.txt | median)
b2_rss=$(cut -d' ' -f2 b2.txt | sort -n | tail -n 1)
v_rss=$(cut -d' ' -f2 verify.txt | sort -n | tail -n 1)
mib=$(awk -v b="$BYTES" 'BEGIN { printf "%.1f", b / 1048576 }')
b2_tp=$(awk -v m="$mib" -v t="$b2_t" 'BEGIN { printf "%.0f", m / t }')
v_tp=$(awk -v m="$mib" -v t="$v_t" 'BEGIN { printf "%.0f", m / t }')
ratio=$(awk -v a="$b2_t" -v b="$v_t" 'BEGIN { printf "%.0f", 100 * a / b }')
cratio=$(awk -v a="$b2_c" -v b="$v_c" 'BEGIN { printf "%.0f", 100 * a / b }')

echo "bundle: $mib MiB, $REPS alternating repetitions, warm page cache"
echo "b2sum runs (wall_s rss_kib cpu_s):";  sed 's/^/  /' b2.txt
echo "verify runs (wall_s rss_kib cpu_s):"; sed 's/^/  /' verify.txt
echo
echo "| date | bundle | b2sum median wall (CPU) | posfleet-pack verify median wall (CPU) | verify/b2sum throughput, wall (CPU) | verify peak RSS | b2sum peak RSS |"
echo "|---|---|---|---|---|---|---|"
printf '| %s | %s MiB | %s s, %s MiB/s (%s s) | %s s, %s MiB/s (%s s) | %s %% (%s %%) | %.1f MiB | %.1f MiB |\n' \
    "$(date -u +%Y-%m-%d)" "$mib" "$b2_t" "$b2_tp" "$b2_c" "$v_t" "$v_tp" "$v_c" "$ratio" "$cratio" \
    "$(awk -v k="$v_rss" 'BEGIN { print k / 1024 }')" "$(awk -v k="$b2_rss" 'BEGIN { print k / 1024 }')"
# Rows for tests/bench/run.sh.
v_rss_mib=$(awk -v k="$v_rss" 'BEGIN { printf "%.1f", k / 1024 }')
echo "ROW|verify a $mib MiB firmware bundle, median of $REPS|$v_tp MiB/s ($v_t s)|b2sum: $b2_tp MiB/s ($b2_t s)|$(awk -v r="$ratio" 'BEGIN { printf "%.2f", r / 100 }')|≥ 0.90|$( ((ratio >= 90)) && echo yes || echo no)"
echo "ROW|verify peak resident memory|$v_rss_mib MiB|b2sum: $(awk -v k="$b2_rss" 'BEGIN { printf "%.1f", k / 1024 }') MiB|—|≤ 8 MiB|$(awk -v m="$v_rss_mib" 'BEGIN { print (m <= 8) ? "yes" : "no" }')"
