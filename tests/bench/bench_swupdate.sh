#!/usr/bin/env bash
# bench_swupdate.sh - posfleet's staged install of a firmware image against
# SWUpdate installing the same image, side by side.
#
#   tests/bench/bench_swupdate.sh [BUILD_DIR] [SIZE_MIB] [REPETITIONS]
#   tests/bench/run.sh swupdate       (Release build, updates docs/benchmarks.md)
#
# Defaults: $POSFLEET_BUILD or build/, 256 MiB, 5 repetitions. Needs the Debian
# package swupdate (2022.12 here), cpio and openssl; without them the script
# says so and exits 0 with no figures (benchmarks are not part of ctest, and
# nothing is installed behind the caller's back): apt-get install swupdate cpio.
#
# posfleet: pf_update_install (tests/fault/), exactly as bench_install.sh runs
# it - signed bundle, metadata verified, BLAKE2b-256 of the payload checked
# while it is written into a fresh slot file, fdatasync.
# SWUpdate: `swupdate -i IMAGE.swu -k CERT -H bench:A` with a CPIO .swu made
# here: sw-description signed with CMS (openssl cms -sign, a throwaway
# self-signed certificate with the emailProtection purpose SWUpdate expects by
# default), one image of type "raw" written to a fresh slot file (created
# empty first: the raw handler opens it O_RDWR without O_CREAT), its sha256 in
# sw-description, installed-directly = true (streamed into the slot, as
# posfleet does; without it SWUpdate first copies the image into $TMPDIR - no
# faster here, within the noise).
# SWUpdate 2022.12's raw handler does not fsync (strace shows no fsync,
# fdatasync or sync), so its timing includes `sync SLOT` (fsync of the slot
# file) after swupdate exits: both sides end with the image durable. Each side
# is checked to have written the image (cmp) and SWUpdate is checked to refuse
# the .swu under another certificate before anything is timed.
# Runs alternate, each writes a fresh slot; wall time from date +%s%N; median.
# Prints ROW| lines (see run.sh).
set -euo pipefail

SRC="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${1:-${POSFLEET_BUILD:-$SRC/build}}"
SIZE_MIB="${2:-256}"
REPS="${3:-5}"
DRV="$BUILD/tests/unit_update_engine"
TOOL="$BUILD/tests/fault/pf_update_install"
PACK="$BUILD/packaging/posfleet-pack"
KEYS="$BUILD/keys/posfleet-keys"

for b in swupdate cpio openssl; do
    if ! command -v "$b" >/dev/null; then
        echo "bench_swupdate: $b is not installed; skipped (apt-get install swupdate cpio openssl)" >&2
        exit 0
    fi
done
for b in "$DRV" "$TOOL" "$PACK" "$KEYS" sha256sum cmp; do
    command -v "$b" >/dev/null || { echo "missing: $b" >&2; exit 2; }
done
if nm -an "$TOOL" 2>/dev/null | grep -q __asan_init; then
    echo "warning: $TOOL is built with AddressSanitizer; figures will be meaningless" >&2
fi
WORK="$(mktemp -d "${TMPDIR:-/tmp}/pf-bench-swu.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

# posfleet's bundle and offer, as bench_install.sh.
"$KEYS" init --dir k >/dev/null
"$KEYS" add --dir k --role firmware --name bench >/dev/null
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >fw.img
"$PACK" create --kind firmware --version 2.0.0 --model BENCH --hw-rev A --keyring k \
    --key k/signing/bench.key -o bundle.tar fw.img >/dev/null
"$DRV" offer bundle.tar >offer.json

# SWUpdate's CMS-signed .swu with the same image.
openssl req -x509 -newkey rsa:2048 -nodes -keyout swu.key -out swu.crt -days 2 \
    -subj "/CN=posfleet-bench" -addext "extendedKeyUsage=emailProtection" \
    -addext "keyUsage=digitalSignature" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt -days 2 \
    -subj "/CN=posfleet-bench-other" -addext "extendedKeyUsage=emailProtection" 2>/dev/null
cat >sw-description <<EOF
software =
{
    version = "2.0.0";
    hardware-compatibility: [ "A" ];
    images: (
        {
            filename = "fw.img";
            device = "$WORK/slot";
            type = "raw";
            sha256 = "$(sha256sum fw.img | cut -d' ' -f1)";
            installed-directly = true;
        }
    );
}
EOF
openssl cms -sign -in sw-description -out sw-description.sig -signer swu.crt -inkey swu.key \
    -outform DER -nosmimecap -binary
printf '%s\n' sw-description sw-description.sig fw.img | cpio -o -H crc --quiet >image.swu
cat fw.img bundle.tar image.swu >/dev/null
sync
echo "disk: $(df -h . | awk 'NR == 2 { print $1 " on " $6 }');" \
"swupdate $(dpkg-query -W -f '${Version}' swupdate 2>/dev/null || echo '?'); load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# SWUpdate keeps its IPC sockets and extracted files in $TMPDIR, and removes
# files named as the .swu's entries from it: give it a directory of its own.
mkdir swu-tmp
swu_install() { TMPDIR="$WORK/swu-tmp" swupdate -k "$1" -H bench:A -i image.swu && sync slot; }

rm -f slot
: >slot
if swu_install other.crt >swu.log 2>&1 || [[ -s slot ]]; then
    echo "swupdate accepted the .swu under another certificate, or wrote the slot" >&2
    exit 1
fi

# run_once CMD...: prints the wall seconds of one run into a fresh, empty slot.
run_once() {
    local t0 t1
    rm -f slot
    : >slot
    sync
    t0=$(date +%s%N)
    "$@" >run.log 2>&1 || { tail -n 20 run.log >&2; exit 1; }
    t1=$(date +%s%N)
    cmp -s fw.img slot || { echo "$1: the slot differs from the image" >&2; exit 1; }
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", (b - a) / 1e9 }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

: >swu.txt
: >pf.txt
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
for i in $(seq "$REPS"); do
    run_once swu_install swu.crt >>swu.txt
    run_once "$TOOL" bundle.tar offer.json slot k/root.pub >>pf.txt
    echo "run $i: swupdate $(tail -n1 swu.txt) s, posfleet $(tail -n1 pf.txt) s" >&2
done
SWU=$(median <swu.txt)
PF=$(median <pf.txt)
RATIO=$(awk -v s="$SWU" -v p="$PF" 'BEGIN { printf "%.2f", s / p }')
MET=$(awk -v r="$RATIO" 'BEGIN { print (r >= 3) ? "yes" : "no" }')
echo "medians: swupdate $SWU s, posfleet $PF s; load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
LOAD="load $LOAD0-$(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores"
echo "ROW|install ${SIZE_MIB} MiB firmware vs SWUpdate (CMS-signed .swu, raw handler to a file, sha256, + fsync), median of $REPS, $LOAD|${PF} s|swupdate ${SWU} s|${RATIO} x faster|>= 3 x faster|${MET}"
