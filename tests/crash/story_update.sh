# story_update.sh - the update story the crash tests record, sourced by
# test_update_smoke.sh and run-long.sh. A terminal works through four offers -
# firmware 1.1.0, a fee table, firmware 1.2.0 whose self-test fails on the new
# slot (rolled back), firmware 1.3.0 - served by unit_update_engine's loopback
# server from real signed bundles, with the real engine, slot files, file boot
# environment and fee-table store ("run" mode: one start is one boot).
#
# The boot environment is one of the engine's backends (agent/boot/): file (the
# driver's own, which plays the bootloader itself), uboot (fw_setenv/fw_printenv
# on a redundant environment of two copies) or grub (grub-editenv on a
# grubenv); for uboot and grub pf_crashdrv plays the bootloader before each
# boot with the real tools, as docs/update.md's U-Boot script and grub.cfg do.
#
# story_record WORK [BACKEND]: builds the bundles, records the whole story
# without a cut (WORK/root the terminal's directory, WORK/init its copy before
# the first boot, WORK/trace the file operations) and checks that it ended as
# expected. BACKEND: file (default), uboot or grub.
# story_check WORK [--sample N] [--lanes N]: builds the crash states and checks
# each with pf_crashdrv (one serving process per lane, crashdrv.c).

SRC="${POSFLEET_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
BUILD="${POSFLEET_BUILD:-$SRC/build}"
DRV="$BUILD/tests/crash/pf_crashdrv"
PACK="$BUILD/packaging/posfleet-pack"
KEYS="$BUILD/keys/posfleet-keys"
SHIM="$BUILD/tests/crash/pf_crashrec.so"
GEN="$BUILD/tests/crash/pf_crashstates"

# The server's log, the checker's floor, its list of offers whose trial boots the
# cuts spent (exhausted), the crash budget and the simulated hardware are not on
# the terminal's disk: the generator keeps every write to them (docs/reliability.md).
STORY_EXTERNAL=(--external server.log --external floor --external budget --external hal
    --external offers --external root.pub --external exhausted)
# With uboot and grub the kernel command line and the bootloader's view handed
# to the driver's check (crashdrv.c) are written at each power-on, not kept.
STORY_EXTERNAL_BOOT=(--external cmdline --external bootenv)

story_bins() {
    local b
    for b in "$DRV" "$PACK" "$KEYS" "$SHIM" "$GEN"; do
        [[ -x "$b" || -f "$b" ]] || { echo "missing $b (build first)" >&2; return 1; }
    done
}

story_record() {
    local w="$1" backend="${2:-file}" rc boots=0
    (
        cd "$w"
        "$KEYS" init --dir k >/dev/null
        "$KEYS" add --dir k --role firmware --name fw >/dev/null
        "$KEYS" add --dir k --role fee-table --name fees >/dev/null
        for v in 1.1.0 1.2.0 1.3.0; do
            # Sizes that are not a multiple of a chunk or a page: torn tails matter.
            # STORY_FW_KB (default 160: ten chunks of 16 KiB, so each story has
            # about 700 distinct crash states and the three about 2,100).
            head -c $((${STORY_FW_KB:-160} * 1024 + 1234 * ${v:2:1})) /dev/urandom >"fw-$v.img"
            "$PACK" create --kind firmware --version "$v" --model PX-200 --hw-rev B --keyring k \
                --key k/signing/fw.key -o "fw-$v.tar" "fw-$v.img" >/dev/null
        done
        cat >fees.json <<JSON
{"schema":1,"version":"2026.12.1","currency":"EUR","effective_at":"2026-01-01T00:00:00Z",
 "rates":{"debit_card":{"rate_bp":90,"cap_minor":500},"credit_card":{"rate_bp":150,"cap_minor":1000},
  "qr_code":{"rate_bp":60,"cap_minor":300},"contactless":{"rate_bp":80,"cap_minor":500}},
 "settlement":{"t0_surcharge_bp":25,"t1_surcharge_bp":0},"mcc":["5411","5812"]}
JSON
        "$PACK" create --kind fee-table --model PX-200 --hw-rev B --keyring k \
            --key k/signing/fees.key --fee-table fees.json -o fees.tar >/dev/null
    ) || return 1
    mkdir -p "$w/root/hal"
    cp "$w/k/root.pub" "$w/root/root.pub"
    cat >"$w/root/offers" <<OFFERS
$w/fw-1.1.0.tar success
$w/fees.tar success
$w/fw-1.2.0.tar rolled_back bad
$w/fw-1.3.0.tar success
OFFERS
    if [[ $backend != file ]]; then
        "$DRV" setup "$w/root" "$backend" || { echo "story: $backend setup failed" >&2; return 1; }
        echo "$backend" >"$w/backend"
    fi
    cp -a "$w/root" "$w/init"
    : >"$w/trace"
    while :; do
        boots=$((boots + 1))
        ((boots < 100)) || { echo "story: no end after $boots boots" >&2; return 1; }
        if [[ $backend != file ]]; then
            # Power-on: the bootloader's writes are on the medium before Linux starts.
            LD_PRELOAD="$SHIM" PF_CRASHREC_ROOT="$w/root" PF_CRASHREC_TRACE="$w/trace" \
                "$DRV" bootloader "$w/root" 2>>"$w/record.log" || {
                echo "story: the bootloader failed (see $w/record.log)" >&2
                return 1
            }
            "$GEN" --reboot "$w/trace" || return 1
        fi
        rc=0
        DRV_FAST=1 LD_PRELOAD="$SHIM" PF_CRASHREC_ROOT="$w/root" PF_CRASHREC_TRACE="$w/trace" \
            "$DRV" run "$w/root" 2>>"$w/record.log" || rc=$?
        case $rc in
        0) break ;;
        3) "$GEN" --reboot "$w/trace" || return 1 ;;
        *) echo "story: the recorded run exited $rc (see $w/record.log)" >&2; return 1 ;;
        esac
    done
    STORY_BOOTS=$boots
}

story_check() {
    local w="$1" ext=("${STORY_EXTERNAL[@]}")
    shift
    [[ -f $w/backend ]] && ext+=("${STORY_EXTERNAL_BOOT[@]}")
    mkdir -p "$w/states"
    "$GEN" --serve "$@" "${ext[@]}" "$w/init" "$w/root" "$w/trace" "$w/states" -- "$DRV" serve
}
