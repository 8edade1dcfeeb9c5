#!/usr/bin/env bash
# test_bundle_cli.sh - posfleet-keys ring commands and posfleet-pack round trips:
# keyring life cycle (init, add, revoke, rotate-root, show), firmware and fee-table
# bundles (create, sign, verify, inspect, extract), and refusals with their codes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

PACK="$PF_BUILD/packaging/posfleet-pack"
KEYS="$PF_KEYS"
pf_require_bin "$PACK"
pf_require_bin "$KEYS"
cd "$PF_TMP"

# expect_refused CODE CMD...: the command exits 1 and names CODE on stderr.
expect_refused() {
    local code="$1" rc=0
    shift
    "$@" >out.txt 2>err.txt || rc=$?
    [[ $rc == 1 ]] || pf_fail "'$*' exited $rc, expected a refusal [$code]: $(cat err.txt)"
    grep -q "\[$code\]" err.txt || pf_fail "'$*' refused without [$code]: $(cat err.txt)"
}

# --- keys -----------------------------------------------------------------
$KEYS init --dir k >init.txt
$KEYS add --dir k --role firmware --name fw-2026 >add.txt
$KEYS add --dir k --role fee-table --name fees-2026 --days 30 >>add.txt
[[ $(stat -c %a k/root.key) == 600 ]] || pf_fail "root.key is not 0600"
[[ $(stat -c %a k/signing/fw-2026.key) == 600 ]] || pf_fail "signing key is not 0600"
for f in k/root.key k/signing/fw-2026.key k/signing/fees-2026.key; do
    secret=$(sed -n 2p "$f")
    ! grep -rqF "$secret" init.txt add.txt k/keyring.json || pf_fail "secret of $f printed"
done
$KEYS init --dir k 2>/dev/null && pf_fail "init over an existing key directory succeeded"
$KEYS show --dir k >show.txt
grep -q "fw-2026" show.txt && grep -q "fees-2026" show.txt || pf_fail "show misses keys"
$KEYS show --dir k --json | jq -e '.serial == 3 and (.keys | length) == 2' >/dev/null ||
    pf_fail "keyring serial/keys unexpected"
cp k/root.pub anchor.pub

# --- firmware bundle --------------------------------------------------------
head -c 1500000 /dev/urandom >fw.img
$PACK create --kind firmware --version 1.4.2 --model PX-200 --hw-rev B --keyring k \
    --key k/signing/fw-2026.key --notes "fixes the printer" -o fw.tar fw.img >/dev/null
tar tf fw.tar >list.txt
diff -u <(printf '%s\n' manifest.json manifest.json.minisig keyring.json keyring.json.minisig fw.img) \
    list.txt || pf_fail "stock tar lists unexpected entries"
$PACK verify --root anchor.pub --kind firmware --model PX-200 --hw-rev B --installed 1.4.1 fw.tar \
    >/dev/null || pf_fail "good bundle refused"
$PACK inspect --json fw.tar | jq -e '.manifest.version == "1.4.2" and
    .manifest.payloads[0].size == 1500000 and .keyring.signer.role == "firmware" and
    .verified == false' >/dev/null || pf_fail "inspect --json"
$PACK inspect fw.tar | grep -q "fw-2026" || pf_fail "inspect does not name the signer"

expect_refused MODEL $PACK verify --root anchor.pub --model PX-900 fw.tar
expect_refused HWREV $PACK verify --root anchor.pub --hw-rev C fw.tar
expect_refused ROLLBACK $PACK verify --root anchor.pub --installed 1.4.2 fw.tar
expect_refused EXPIRED $PACK verify --root anchor.pub \
    --now "$(date -u -d '+100 days' +%Y-%m-%dT%H:%M:%SZ)" fw.tar
$KEYS init --dir other >/dev/null
expect_refused ROOT_CHAIN $PACK verify --root other/root.pub fw.tar

# Extraction: only into a fresh folder, only when everything verified.
$PACK verify --root anchor.pub --extract ex fw.tar >/dev/null
cmp ex/fw.img fw.img || pf_fail "extracted payload differs"
[[ $(ls -A ex | wc -l) == 1 ]] || pf_fail "extraction left extra files"
expect_refused EXIST $PACK verify --root anchor.pub --extract ex fw.tar
cp fw.tar bad.tar
pf_flip_byte bad.tar -20000
expect_refused DIGEST $PACK verify --root anchor.pub --extract ex2 bad.tar
[[ ! -e ex2 ]] || pf_fail "refused extraction left its folder behind"

# --- sign as a separate step, compressed -------------------------------------
$PACK create --kind firmware --version 1.5.0 --model PX-200 --hw-rev B --keyring k \
    --signer k/signing/fw-2026.pub --compress zstd -o fw2.tar.zst fw.img >/dev/null
expect_refused NO_SIG $PACK verify --root anchor.pub fw2.tar.zst
expect_refused KEY_UNKNOWN $PACK sign --key k/signing/fees-2026.key fw2.tar.zst
$PACK sign --key k/signing/fw-2026.key fw2.tar.zst >/dev/null
$PACK verify --root anchor.pub --installed 1.4.2 fw2.tar.zst >/dev/null || pf_fail "signed zstd bundle"
$PACK inspect --json fw2.tar.zst | jq -e '.compression == "zstd"' >/dev/null || pf_fail "zstd"

# --- fee tables ---------------------------------------------------------------
cat >fees.json <<'JSON'
{"schema": 1, "version": "2026.12.1", "currency": "EUR",
 "effective_at": "2026-12-01T00:00:00Z",
 "rates": {"debit_card": {"rate_bp": 90, "cap_minor": 500},
           "credit_card": {"rate_bp": 150, "cap_minor": 1000},
           "qr_code": {"rate_bp": 60, "cap_minor": 300},
           "contactless": {"rate_bp": 80, "cap_minor": 500}},
 "settlement": {"t0_surcharge_bp": 25, "t1_surcharge_bp": 0},
 "mcc": ["5411", "5812"]}
JSON
$PACK create --kind fee-table --fee-table fees.json --model PX-200 --hw-rev B --keyring k \
    --key k/signing/fees-2026.key -o fees.tar >/dev/null
$PACK verify --root anchor.pub --kind fee-table --installed 2026.11.5 fees.tar >/dev/null ||
    pf_fail "fee-table bundle refused"
tar tf fees.tar | grep -qx fee-table.json || pf_fail "fee table payload name"
expect_refused KEY_ROLE $PACK create --kind fee-table --fee-table fees.json --model PX-200 \
    --hw-rev B --keyring k --key k/signing/fw-2026.key -o role.tar
[[ ! -e role.tar ]] || pf_fail "refused create left a bundle"
jq '.rates.credit_card.rate_bp = 12000' fees.json >bad-fees.json
expect_refused FEETABLE $PACK create --kind fee-table --fee-table bad-fees.json --model PX-200 \
    --hw-rev B --keyring k --key k/signing/fees-2026.key -o badfees.tar
grep -q "rates.credit_card: rate_bp" err.txt || pf_fail "fee table refusal does not name the field"
[[ ! -e badfees.tar ]] || pf_fail "invalid fee table was packed"
# The same invalid table, validly signed by hand (digest, size and signature
# right): only the table is wrong, so the terminal would refuse it after the
# download. posfleetd must refuse it at upload (below).
mkdir badft && (cd badft && tar xf ../fees.tar && cp ../bad-fees.json fee-table.json &&
    jq --arg d "$(b2sum -l 256 fee-table.json | cut -d' ' -f1)" \
        --argjson n "$(stat -c %s fee-table.json)" \
        '.payloads[0].size = $n | .payloads[0].blake2b_256 = $d' manifest.json >m.json &&
    mv m.json manifest.json && rm manifest.json.minisig &&
    minisign -S -s ../k/signing/fees-2026.key -m manifest.json -t "hand-made" >/dev/null 2>&1 &&
    tar --format=ustar -cf ../signed-badfees.tar manifest.json manifest.json.minisig \
        keyring.json keyring.json.minisig fee-table.json) || pf_fail "hand-made fee-table bundle"
$PACK verify --root anchor.pub --kind fee-table signed-badfees.tar >/dev/null ||
    pf_fail "the hand-made fee-table bundle is not validly signed; the test proves nothing"

# --- revocation and root rotation ---------------------------------------------
$KEYS revoke --dir k --name fw-2026 --reason "laptop stolen" >/dev/null
# fw.tar embeds the older keyring; the current keyring wins.
expect_refused KEY_REVOKED $PACK verify --root anchor.pub --keyring k fw.tar
$KEYS add --dir k --role firmware --name fw-2027 >/dev/null
$KEYS rotate-root --dir k >/dev/null
[[ -e k/retired ]] && [[ $(stat -c %a k/retired/*.key) == 600 ]] || pf_fail "retired root"
cmp -s k/root.pub anchor.pub && pf_fail "rotate-root kept the old root"
$KEYS show --dir k --root anchor.pub | grep -q "endorsed by the previous root" ||
    pf_fail "show does not walk the chain from the old anchor"
$PACK create --kind firmware --version 1.6.0 --model PX-200 --hw-rev B --keyring k \
    --key k/signing/fw-2027.key -o fw3.tar fw.img >/dev/null
# A terminal that shipped with the first root walks the chain to the new one.
$PACK verify --root anchor.pub --installed 1.5.0 fw3.tar >/dev/null || pf_fail "chain walk"
$PACK verify --root k/root.pub fw3.tar >/dev/null || pf_fail "new root"
expect_refused KEY_REVOKED $PACK create --kind firmware --version 1.7.0 --model PX-200 \
    --hw-rev B --keyring k --key k/signing/fw-2026.key -o revoked.tar fw.img

# --- posfleetd's upload check ---------------------------------------------------
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
pf_server_start "update.trust_root = $PF_TMP/anchor.pub"
# expect_upload_refused CODE REASON BUNDLE: refused at upload, nothing stored.
expect_upload_refused() {
    local rc=0
    pf_cli bundle upload "$3" >out.txt 2>err.txt || rc=$?
    [[ $rc != 0 ]] || pf_fail "upload of $3 accepted: $(cat out.txt)"
    grep -q "\[$1\]" err.txt || pf_fail "upload of $3 refused without [$1]: $(cat err.txt)"
    grep -q "$2" err.txt || pf_fail "upload of $3: reason '$2' missing: $(cat err.txt)"
}
pf_cli --json bundle upload fees.tar | pf_json_get '$.id' >/dev/null || pf_fail "valid fee table"
expect_upload_refused FEETABLE "rates.credit_card: rate_bp" signed-badfees.tar
[[ $(pf_cli --json bundles | jq '[.bundles[] | select(.kind == "fee-table")] | length') == 1 ]] ||
    pf_fail "the refused fee-table bundle was stored"
gzip -c fees.tar | gzip | gzip >fees3.tar.gz
expect_upload_refused INVAL "gzip-compressed" fees3.tar.gz
pf_log "ok"
