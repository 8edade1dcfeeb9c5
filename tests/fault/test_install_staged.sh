#!/usr/bin/env bash
# test_install_staged.sh - the staged firmware install (pfa_slot_install_staged,
# through tests/fault/pf_update_install) on an image large enough to wrap its
# block ring many times and cross several flush periods (ctest
# fault_install_staged):
#
#  1. a clean install leaves exactly the image in the slot;
#  2. one flipped payload byte in the bundle: refused with DIGEST;
#  3. a slot that cannot take the bytes (/dev/full): NOSPACE from the
#     writer thread, reported and not hidden by the hashing thread;
#  4. power cuts (SIGKILL) at several points while the slot is being written:
#     the next install completes it and the slot holds exactly the image.
set -euo pipefail

SRC="${POSFLEET_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
BUILD="${POSFLEET_BUILD:-$SRC/build}"
DRV="$BUILD/tests/unit_update_engine"
TOOL="$BUILD/tests/fault/pf_update_install"
PACK="$BUILD/packaging/posfleet-pack"
KEYS="$BUILD/keys/posfleet-keys"
MIB=${INSTALL_TEST_MIB:-48}
for b in "$DRV" "$TOOL" "$PACK" "$KEYS"; do
    [[ -x "$b" ]] || { echo "missing $b (build first)" >&2; exit 1; }
done
WORK="$(mktemp -d "${TMPDIR:-/tmp}/pf-fault-install.XXXXXX")"
PID=""
cleanup() {
    if [[ -n "$PID" ]]; then kill -9 "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$KEYS" init --dir k >/dev/null
"$KEYS" add --dir k --role firmware --name t >/dev/null
head -c "$((MIB * 1024 * 1024))" /dev/urandom >fw.img
"$PACK" create --kind firmware --version 2.0.0 --model T --hw-rev A --keyring k \
    --key k/signing/t.key -o bundle.tar fw.img >/dev/null
"$DRV" offer bundle.tar >offer.json

# 1. Clean install.
"$TOOL" bundle.tar offer.json slot k/root.pub || fail "clean install"
cmp -s fw.img slot || fail "the slot differs from the image"
echo "ok: clean install of $MIB MiB"

# 2. One flipped byte in the middle of the payload.
off=$(jq '.entries[] | select(.name == "fw.img") | .offset + (.size / 2 | floor)' offer.json)
cp bundle.tar bad.tar
orig=$(od -An -tu1 -j "$off" -N1 bad.tar | tr -d ' ')
printf "$(printf '\\%03o' $(((orig + 1) % 256)))" | dd of=bad.tar bs=1 seek="$off" conv=notrunc status=none
cmp -s bundle.tar bad.tar && fail "the tampered bundle is unchanged"
rm -f slot2
if "$TOOL" bad.tar offer.json slot2 k/root.pub 2>err.txt; then fail "tampered payload accepted"; fi
grep -q '\[DIGEST\]' err.txt || fail "tampered payload: $(cat err.txt)"
echo "ok: tampered payload refused ($(cat err.txt))"

# 3. A write error in the writer thread.
if [[ -w /dev/full ]]; then
    if "$TOOL" bundle.tar offer.json /dev/full k/root.pub 2>err.txt; then fail "/dev/full accepted"; fi
    grep -q '\[NOSPACE\]' err.txt || fail "/dev/full: $(cat err.txt)"
    echo "ok: write error reported ($(cat err.txt))"
fi

# 4. Power cuts while the slot is being written, each followed by a full install.
for cut_mib in 2 11 23 37; do
    [[ $cut_mib -lt $MIB ]] || continue
    rm -f slot
    "$TOOL" bundle.tar offer.json slot k/root.pub 2>/dev/null &
    PID=$!
    deadline=$((SECONDS + 60))
    while kill -0 "$PID" 2>/dev/null &&
        [[ $(stat -c %s slot 2>/dev/null || echo 0) -lt $((cut_mib * 1024 * 1024)) ]]; do
        [[ $SECONDS -lt $deadline ]] || fail "install did not reach $cut_mib MiB"
        sleep 0.01
    done
    kill -9 "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=""
    echo "cut at >= $cut_mib MiB: slot had $(stat -c %s slot) bytes"
    "$TOOL" bundle.tar offer.json slot k/root.pub || fail "install after the cut at $cut_mib MiB"
    cmp -s fw.img slot || fail "after the cut at $cut_mib MiB the slot differs from the image"
done
echo "ok: installs after power cuts complete the slot"
