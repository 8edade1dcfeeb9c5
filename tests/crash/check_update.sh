#!/usr/bin/env bash
# check_update.sh DRIVER DIR - the verdict on one crash state of the update
# story (tests/crash/story_update.sh). Boots the terminal on DIR as the disk
# was left (unit_update_engine "run": first the invariants as the bootloader
# and the checker see the disk - every slot the bootloader may boot verifies,
# the active fee table is whole, valid and one that was shipped, the firmware
# floor never moved backwards - then the engine's own start-up and recovery
# through the file boot backend), boot after boot until the story ends, then
# checks that every offer has exactly one final outcome at the server and that
# each ended as expected. Exit 0 if all hold.
set -u
DRV="$1" DIR="$2"
export DRV_FAST=1 # idle waits move the engine clock: thousands of boots in minutes
for ((boot = 1; boot <= 60; boot++)); do
    rc=0
    "$DRV" run "$DIR" || rc=$?
    case $rc in
    0) break ;;
    3) ;;
    *) echo "boot $boot: driver exited $rc"; exit 1 ;;
    esac
done
((boot <= 60)) || { echo "no end after 60 boots"; exit 1; }
offers=$(grep -c . "$DIR/offers")
awk -v want="$offers" '$3 ~ /^(success|failed|rolled_back|refused)$/ { n[$2]++ }
    END { for (o in n) { got++; if (n[o] != 1) { print o ": " n[o] " final outcomes"; bad = 1 } }
          if (got != want) { print got " of " want " offers have a final outcome"; bad = 1 }
          exit bad }' "$DIR/server.log" || exit 1
