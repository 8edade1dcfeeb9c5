#!/usr/bin/env bash
# bench_install.sh - installing a staged firmware bundle (verify, write the
# inactive slot, fsync) against the slower of `b2sum IMAGE` and
# `dd if=IMAGE of=SLOT bs=1M conv=fsync` to the same disk, side by side.
#
#   tests/bench/bench_install.sh [BUILD_DIR] [SIZE_MIB] [REPETITIONS]
#   tests/bench/run.sh install        (Release build, updates docs/benchmarks.md)
#
# Defaults: $POSFLEET_BUILD or build/, 256 MiB, 5 repetitions. The install is
# the update engine's staged path, pfa_slot_install_staged() in the lean tool
# pf_update_install (tests/fault/): metadata read at the offer's byte ranges and
# verified (keyring chain, signature, policy), then the payload read and
# hashed in 128 KiB blocks by one thread while a writer thread writes the
# hashed blocks into the slot (writeback kicked every 8 MiB) and a flusher
# thread fdatasyncs every 32 MiB, so hashing, copying and the device's
# write-out overlap; a last fdatasync at the end. The offer (byte ranges) is made beforehand, untimed,
# as posfleetd would send it. If the build has no tests/fault/pf_update_install
# yet, the script compiles it from the build's static libraries.
# The image and bundle are read once first so all three start from the page
# cache; each run writes a fresh slot file in the same directory. Wall time from
# date +%s%N, peak RSS from /usr/bin/time. Prints ROW| lines (see run.sh).
set -euo pipefail

SRC="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${1:-${POSFLEET_BUILD:-$SRC/build}}"
SIZE_MIB="${2:-256}"
REPS="${3:-5}"
DRV="$BUILD/tests/unit_update_engine"
TOOL="$BUILD/tests/fault/pf_update_install"
PACK="$BUILD/packaging/posfleet-pack"
KEYS="$BUILD/keys/posfleet-keys"
TIME=/usr/bin/time

for b in "$DRV" "$PACK" "$KEYS" b2sum dd "$TIME"; do
    command -v "$b" >/dev/null || { echo "missing: $b" >&2; exit 2; }
done
WORK="$(mktemp -d "${TMPDIR:-/tmp}/pf-bench-install.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
if [[ ! -x "$TOOL" ]]; then
    TOOL="$WORK/pf_update_install"
    cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I"$SRC/proto/include" \
        -I"$SRC/agent/include" -include "$SRC/proto/include/pf/banned.h" \
        "$SRC/tests/fault/update_install.c" "$BUILD/agent/libpfa_core.a" \
        "$BUILD/proto/libpf_proto.a" -Wl,--as-needed \
        $(pkg-config --libs jansson libsodium libarchive libmosquitto) -o "$TOOL"
fi
if nm -an "$TOOL" 2>/dev/null | grep -q __asan_init; then
    echo "warning: $TOOL is built with AddressSanitizer; figures will be meaningless" >&2
fi
cd "$WORK"
"$KEYS" init --dir k >/dev/null
"$KEYS" add --dir k --role firmware --name bench >/dev/null
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >fw.img
"$PACK" create --kind firmware --version 2.0.0 --model BENCH --hw-rev A --keyring k \
    --key k/signing/bench.key -o bundle.tar fw.img >/dev/null
"$DRV" offer bundle.tar >offer.json
cat fw.img bundle.tar >/dev/null
sync
echo "disk: $(df -h . | awk 'NR == 2 { print $1 " on " $6 }')" >&2

# run_once CMD...: prints "wall_s rss_kib cpu_s" for one run.
run_once() {
    local t0 t1
    rm -f slot
    sync
    t0=$(date +%s%N)
    "$TIME" -f "%M %U %S" -o rss.txt "$@" >/dev/null 2>err.txt || { cat err.txt >&2; exit 1; }
    t1=$(date +%s%N)
    printf '%s %s\n' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')" \
        "$(tail -n 1 rss.txt | awk '{ printf "%d %.2f", $1, $2 + $3 }')"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

: >b2.txt
: >dd.txt
: >pf.txt
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
for i in $(seq "$REPS"); do
    run_once b2sum fw.img >>b2.txt
    run_once dd if=fw.img of=slot bs=1M conv=fsync status=none >>dd.txt
    run_once "$TOOL" bundle.tar offer.json slot k/root.pub >>pf.txt
    cmp -s fw.img slot || { echo "installed slot differs from the image" >&2; exit 1; }
    echo "run $i: b2sum $(tail -n1 b2.txt | cut -d' ' -f1) s, dd $(tail -n1 dd.txt | cut -d' ' -f1) s," \
        "install $(tail -n1 pf.txt | cut -d' ' -f1) s ($(tail -n1 pf.txt | cut -d' ' -f2) KiB);" \
        "cpu b2sum $(tail -n1 b2.txt | cut -d' ' -f3) s, dd $(tail -n1 dd.txt | cut -d' ' -f3) s," \
        "install $(tail -n1 pf.txt | cut -d' ' -f3) s" >&2
done
B2=$(cut -d' ' -f1 b2.txt | median)
DD=$(cut -d' ' -f1 dd.txt | median)
PF=$(cut -d' ' -f1 pf.txt | median)
RSS=$(cut -d' ' -f2 pf.txt | sort -n | tail -n1)
BASE=$(awk -v a="$B2" -v b="$DD" 'BEGIN { print (a > b) ? a : b }')
RATIO=$(awk -v p="$PF" -v b="$BASE" 'BEGIN { printf "%.2f", p / b }')
MET=$(awk -v r="$RATIO" 'BEGIN { print (r <= 1.15) ? "yes" : "no" }')
RMET=$(awk -v r="$RSS" 'BEGIN { print (r <= 4096) ? "yes" : "no" }')
echo "medians: b2sum $B2 s, dd $DD s, install $PF s; peak RSS $RSS KiB;" \
    "cpu b2sum $(cut -d' ' -f3 b2.txt | median) s, dd $(cut -d' ' -f3 dd.txt | median) s," \
    "install $(cut -d' ' -f3 pf.txt | median) s (the process's own; the kernel's writeback is not in it)" >&2
LOAD="load $LOAD0-$(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores"
echo "ROW|install staged ${SIZE_MIB} MiB firmware (verify + write slot + fsync), median of $REPS, $LOAD|${PF} s|slower of b2sum ${B2} s / dd ${DD} s|${RATIO}|<= 1.15|${MET}"
echo "ROW|peak RSS during the ${SIZE_MIB} MiB install|${RSS} KiB|-|-|<= 4096 KiB|${RMET}"
