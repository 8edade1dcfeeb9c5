#!/usr/bin/env bash
# test_update_powercut.sh - power cuts during updates (ctest fault_update_powercut;
# registered only in a -DPOSFLEET_FAULT=ON build, whose engine has the crash points).
#
# A terminal works through four offers - firmware 1.1.0, a fee table, firmware
# 1.2.0 whose self-test fails on the new slot (must roll back), firmware 1.3.0 -
# served by the driver's loopback server from real signed bundles
# (posfleet-pack), with the real engine, slot files, file boot environment and
# fee-table store (tests/unit/test_update_engine.c, "run" mode). Each start of
# the driver is a boot; the engine SIGKILLs itself at a chosen crash point
# (POSFLEET_UPDATE_CRASH_AT, set by the driver from DIR/budget): every state
# transition, boot-environment write, fee-table write and chunk write (with a
# random prefix of the chunk written first).
#
#  1. exhaustive: one scenario per crash point k = 1, 2, ... until a scenario
#     ends without reaching k - a cut at every transition of the whole story;
#  2. random: scenarios where every boot is cut at a random point, until the
#     total reaches FAULT_CUTS (default 500; POSFLEET_FAULT_LONG=1: 5000).
#
# After every cut the driver checks, before anything else, that every slot the
# bootloader may boot verifies against what was installed, that the active fee
# table is valid and one that was shipped, and that the firmware floor never
# moved backwards; at the end of each scenario, that every offer ended as
# expected (success, or rolled_back for 1.2.0) with exactly one final outcome
# recorded by the server. One exception is right, not a failure: when the cuts
# themselves spent every trial boot of a firmware (the bootloader found its
# counter at zero), that firmware ends rolled_back with BOOT_LIMIT, as a
# terminal whose new slot never came up three times must; the driver notes
# each such boot (DIR/exhausted) and the run counts them.
set -euo pipefail

SRC="${POSFLEET_SRC:-$(cd "$(dirname "$0")/../../.." && pwd)}"
BUILD="${POSFLEET_BUILD:-$SRC/build}"
DRV="$BUILD/tests/unit_update_engine"
PACK="$BUILD/packaging/posfleet-pack"
KEYS="$BUILD/keys/posfleet-keys"
if [[ -n "${POSFLEET_FAULT_LONG:-}" ]]; then
    TARGET=${FAULT_CUTS:-5000}
else
    TARGET=${FAULT_CUTS:-500}
fi
for b in "$DRV" "$PACK" "$KEYS"; do
    [[ -x "$b" ]] || { echo "missing $b (build first)" >&2; exit 1; }
done

# SIGKILL leaves the page cache intact, so fsync durability is not what is
# tested here: a tmpfs keeps the thousands of fsyncs cheap.
base=${TMPDIR:-/tmp}
[[ -d /dev/shm && -w /dev/shm ]] && base=/dev/shm
WORK="$(mktemp -d "$base/pf-fault-update.XXXXXX")"
if [[ -n "${PF_KEEP_TMP:-}" ]]; then
    trap 'echo "kept $WORK" >&2' EXIT
else
    trap 'rm -rf "$WORK"' EXIT
fi
cd "$WORK"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"

"$KEYS" init --dir k >/dev/null
"$KEYS" add --dir k --role firmware --name fw >/dev/null
"$KEYS" add --dir k --role fee-table --name fees >/dev/null
for v in 1.1.0 1.2.0 1.3.0; do
    head -c $((40 * 1024 + RANDOM)) /dev/urandom >"fw-$v.img"
    "$PACK" create --kind firmware --version "$v" --model PX-200 --hw-rev B --keyring k \
        --key k/signing/fw.key -o "fw-$v.tar" "fw-$v.img" >/dev/null
done
cat >fees.json <<JSON
{"schema":1,"version":"2026.12.1","currency":"EUR","effective_at":"2026-01-01T00:00:00Z",
 "rates":{"debit_card":{"rate_bp":90,"cap_minor":500},"credit_card":{"rate_bp":150,"cap_minor":1000},
  "qr_code":{"rate_bp":60,"cap_minor":300},"contactless":{"rate_bp":80,"cap_minor":500}},
 "settlement":{"t0_surcharge_bp":25,"t1_surcharge_bp":0},"mcc":["5411","5812"]}
JSON
"$PACK" create --kind fee-table --model PX-200 --hw-rev B --keyring k --key k/signing/fees.key \
    --fee-table fees.json -o fees.tar >/dev/null
cat >offers <<OFFERS
$WORK/fw-1.1.0.tar success
$WORK/fees.tar success
$WORK/fw-1.2.0.tar rolled_back bad
$WORK/fw-1.3.0.tar success
OFFERS

fail() {
    echo "FAIL fault_update_powercut: $*" >&2
    exit 1
}

# Scenarios run in lanes (one directory each), as many at once as there are
# cores: each is a separate story, so the lanes never share a file.
LANES=$(nproc 2>/dev/null || echo 2)
((LANES > 4)) && LANES=4

# scenario MODE K DIR: runs one story to the end in DIR; MODE exhaustive cuts once
# at point K, MODE random cuts every boot at a random point in 1..K. Writes
# "CUTS BOOTS" to DIR/result, or the reason to DIR/failed.
scenario() {
    local mode="$1" k="$2" t="$3" rc starts=0 cuts=0
    rm -rf "$t"
    mkdir -p "$t/hal"
    cp k/root.pub "$t/root.pub"
    cp offers "$t/offers"
    [[ $mode == exhaustive ]] && echo "$k" >"$t/budget"
    while :; do
        starts=$((starts + 1))
        if ((starts >= 2000)); then
            echo "$mode $k: no end after $starts boots" >"$t/failed"
            return
        fi
        [[ $mode == random ]] && echo $((RANDOM % k + 1)) >"$t/budget"
        rc=0
        # (the subshell keeps bash's "Killed" notice off the output)
        ("$DRV" run "$t" 2>>"$t/driver.log"; exit $?) 2>/dev/null || rc=$?
        case $rc in
        0) break ;;
        3) ;;                         # rebooted into the new slot or back
        137) cuts=$((cuts + 1)) ;;    # power cut
        4) echo "$mode $k: invariant violated after boot $starts" >"$t/failed"; return ;;
        *) echo "$mode $k: driver exited $rc" >"$t/failed"; return ;;
        esac
    done
    # Exactly one final outcome per offer reached the server.
    if ! awk '$3 ~ /^(success|failed|rolled_back|refused)$/ { n[$2]++ }
              END { for (o in n) if (n[o] != 1) bad = 1; exit bad }' "$t/server.log"; then
        echo "$mode $k: an offer has more than one final outcome" >"$t/failed"
        return
    fi
    if [[ $(awk '$3 ~ /^(success|failed|rolled_back|refused)$/' "$t/server.log" | wc -l) != 4 ]]; then
        echo "$mode $k: missing final outcomes" >"$t/failed"
        return
    fi
    echo "$cuts $starts $(grep -c 'the cuts spent its trial boots' "$t/driver.log" || true)" >"$t/result"
}

CUTS=0
BOOTS=0
SPENT=0
# batch MODE K...: one scenario per K, LANES at a time; adds up cuts and boots,
# sets LAST (the cuts of each K, in order) and fails on the first failure.
batch() {
    local mode="$1" i=0 k c b x
    shift
    LAST=()
    for k in "$@"; do
        scenario "$mode" "$k" "lane$i" &
        i=$((i + 1))
    done
    wait
    for ((i = 0; i < $#; i++)); do
        if [[ -f "lane$i/failed" ]]; then
            tail -n 30 "lane$i/driver.log" >&2 || true
            fail "$(cat "lane$i/failed")"
        fi
        read -r c b x <"lane$i/result"
        CUTS=$((CUTS + c))
        BOOTS=$((BOOTS + b))
        SPENT=$((SPENT + x))
        LAST+=("$c")
    done
}

start=$SECONDS
if [[ -n "${FAULT_ONLY_K:-}" ]]; then # debugging one cut: FAULT_ONLY_K=N PF_KEEP_TMP=1
    batch exhaustive "$FAULT_ONLY_K"
    exit 0
fi
batch none 0
[[ ${LAST[0]} == 0 ]] || fail "a run without cuts was cut"
k=1
done_points=0
while ((done_points == 0)); do
    ks=()
    for ((i = 0; i < LANES; i++)); do ks+=($((k + i))); done
    batch exhaustive "${ks[@]}"
    for ((i = 0; i < LANES; i++)); do
        if ((LAST[i] != 1)); then # k + i is past the last crash point of the story
            done_points=1
            POINTS=$((k + i - 1))
            break
        fi
    done
    k=$((k + LANES))
done
# Cuts counted so far include the lanes that ran past the end (they had none).
((POINTS > 50)) || fail "only $POINTS crash points: injection is not reaching the engine"
echo "exhaustive: a cut at each of $POINTS crash points, all recovered" >&2
while ((CUTS < TARGET)); do
    ks=()
    for ((i = 0; i < LANES; i++)); do ks+=(20); done
    batch random "${ks[@]}"
done
echo "fault_update_powercut: $CUTS power cuts ($POINTS exhaustive + random), $BOOTS boots," \
    "$LANES lanes, $((SECONDS - start)) s: every boot verified, every update ended as expected" \
    "($SPENT rolled back because the cuts spent their trial boots)" >&2
