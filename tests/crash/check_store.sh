#!/usr/bin/env bash
# check_store.sh STORY DIR - the verdict on one crash state of posfleetd's
# store (test_store_smoke.sh): the database passes SQLite's integrity_check,
# then the real store code opens it (WAL recovery, migrations) and every change
# acknowledged before the cut (DIR/acks) is there with its audit row.
set -u
STORY="$1" DIR="$2"
out=$(sqlite3 "$DIR/posfleet.db" 'PRAGMA integrity_check' 2>&1)
[[ $out == ok ]] || { echo "integrity_check: $out"; exit 1; }
"$STORY" check "$DIR"
