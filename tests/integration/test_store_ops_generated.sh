#!/usr/bin/env bash
# test_store_ops_generated.sh - the store's generated dispatch cannot drift from
# its headers: packaging/scripts/gen-store-ops.py --check passes on the tree
# (store_ops.h, store.c and the backends' tables are what a fresh run writes),
# and on a copy whose store header gained a function it fails, naming it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

gen=packaging/scripts/gen-store-ops.py
out=$(python3 "$PF_SRC/$gen" --check 2>&1) ||
    pf_fail "generated store files differ from a fresh run: $out"

copy=$(pf_tmpdir copy)
mkdir -p "$copy/packaging/scripts"
cp "$PF_SRC/$gen" "$copy/$gen"
cp "$PF_SRC/.clang-format" "$copy/"
cp -r "$PF_SRC/server" "$copy/server"
python3 "$copy/$gen" --check >/dev/null 2>&1 || pf_fail "a plain copy of the tree fails --check"
sed -i 's|^#endif|int pfs_store_drift_probe(struct pfs_store *st, int64_t *n) PF_WUR;\n#endif|' \
    "$copy/server/store/store_metrics.h"
if python3 "$copy/$gen" --check >"$copy/diff" 2>&1; then
    pf_fail "--check passed although store_metrics.h gained a function"
fi
grep -q 'pfs_store_drift_probe' "$copy/diff" || pf_fail "the diff does not name the new function"
grep -q 'int (\*drift_probe)(struct pfs_store \*st, int64_t \*n);' "$copy/diff" ||
    pf_fail "the ops table would not gain its member"
pf_log "PASS"
