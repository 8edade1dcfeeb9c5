#!/usr/bin/env bash
# test_bundle_minisign.sh - interoperability with Debian's stock minisign:
# `minisign -V` verifies a bundle's manifest (and the keyring) as signed by
# posfleet-pack and posfleet-keys, and a manifest signed by minisign itself with
# a posfleet-keys key is accepted by the verifier.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PACK="$PF_BUILD/packaging/posfleet-pack"
KEYS="$PF_KEYS"
pf_require_bin "$PACK"
pf_require_bin "$KEYS"
command -v minisign >/dev/null || pf_fail "minisign is not installed (apt-get install minisign)"
cd "$PF_TMP"

$KEYS init --dir k >/dev/null
$KEYS add --dir k --role firmware --name fw >/dev/null
head -c 300000 /dev/urandom >fw.img
$PACK create --kind firmware --version 3.0.0 --model PX-200 --hw-rev B --keyring k \
    --key k/signing/fw.key -o b.tar fw.img >/dev/null

mkdir x && tar -C x -xf b.tar
minisign -V -p k/signing/fw.pub -m x/manifest.json >v.txt 2>&1 ||
    pf_fail "minisign -V refused the manifest: $(cat v.txt)"
grep -q "Trusted comment: posfleet kind:firmware version:3.0.0" v.txt ||
    pf_fail "trusted comment not shown: $(cat v.txt)"
minisign -V -p k/root.pub -m x/keyring.json >/dev/null 2>&1 || pf_fail "minisign -V keyring"

# A changed manifest or another key must fail minisign too.
sed 's/3.0.0/3.0.1/' x/manifest.json >x/manifest2.json
cp x/manifest.json.minisig x/manifest2.json.minisig
minisign -V -p k/signing/fw.pub -m x/manifest2.json >/dev/null 2>&1 &&
    pf_fail "minisign accepted a modified manifest"
$KEYS add --dir k --role firmware --name other >/dev/null
minisign -V -p k/signing/other.pub -m x/manifest.json >/dev/null 2>&1 &&
    pf_fail "minisign accepted the wrong key"

# The other direction: minisign signs with a posfleet-keys secret key.
rm x/manifest.json.minisig
minisign -S -s k/signing/fw.key -m x/manifest.json -t "signed by minisign" >/dev/null 2>&1 ||
    pf_fail "minisign -S with a posfleet-keys key"
(cd x && tar --format=ustar -cf ../re.tar manifest.json manifest.json.minisig keyring.json \
    keyring.json.minisig fw.img)
$PACK verify --root k/root.pub re.tar >/dev/null || pf_fail "minisign-signed manifest refused"
pf_log "ok"
