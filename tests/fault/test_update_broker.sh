#!/usr/bin/env bash
# test_update_broker.sh - updates end to end over the real broker (ctest
# fault_update_broker): the real posfleet-agent (sim HAL, file boot
# environment, update.exit_on_reboot = 1 so this script plays the power
# supply), the project's Mosquitto (TLS, client certificates, ACLs), and a
# server-side peer holding posfleetd's certificate that speaks the update
# protocol with the real codecs (unit_update_engine peer). In order:
#   1. firmware 1.1.0: deferred while a sale is in progress; downloaded; the
#      broker is restarted half-way and the download resumes; reboot into slot
#      b, self-test, commit, success - chunk bytes on the wire <= 102 % of the bundle;
#   2. firmware 1.2.0: its self-test fails after the reboot -> fallback to
#      slot b, rolled_back SELFTEST:screen;
#   3. firmware 1.3.0 with a byte flipped in transit: refused DIGEST, no switch;
#   4. a fee table effective a few seconds later: success at once, active.json
#      switches at its time.
# Every outcome is recorded once by id and acknowledged. The firmware images are
# 4 MiB (UPDATE_TEST_FW_MIB=N for more); the offer-2 line gives the MQTT
# transfer rate (first to last chunk) - with 64 MiB on a Release build it is
# the "one terminal over MQTT" figure of docs/benchmarks.md.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"

AGENT="$PF_BUILD/agent/posfleet-agent"
DRV="$PF_BUILD/tests/unit_update_engine"
PACK="$PF_BUILD/packaging/posfleet-pack"
for b in "$AGENT" "$DRV" "$PACK" "$PF_KEYS" /usr/bin/time; do pf_require_bin "$b"; done
SERIAL=TU-0001

PKI="$(pf_tmpdir pki)"
pf_pki_init "$PKI"
pf_device_cert "$PKI" "$SERIAL"
pf_broker_start "$PKI"

W="$(pf_tmpdir work)"
cd "$W"
"$PF_KEYS" init --dir k >/dev/null
"$PF_KEYS" add --dir k --role firmware --name fw >/dev/null
"$PF_KEYS" add --dir k --role fee-table --name fees >/dev/null
for v in 1.1.0 1.2.0 1.3.0; do
    head -c $((${UPDATE_TEST_FW_MIB:-4} * 1024 * 1024)) /dev/urandom >"fw-$v.img"
    "$PACK" create --kind firmware --version "$v" --model PX-200 --hw-rev B --keyring k \
        --key k/signing/fw.key -o "fw-$v.tar" "fw-$v.img" >/dev/null
done
EFFECTIVE=$(date -u -d '+45 seconds' +%Y-%m-%dT%H:%M:%SZ) # after offer 4 is done
cat >fees.json <<JSON
{"schema":1,"version":"2026.12.1","currency":"EUR","effective_at":"$EFFECTIVE",
 "rates":{"debit_card":{"rate_bp":90,"cap_minor":500},"credit_card":{"rate_bp":150,"cap_minor":1000},
  "qr_code":{"rate_bp":60,"cap_minor":300},"contactless":{"rate_bp":80,"cap_minor":500}},
 "settlement":{"t0_surcharge_bp":25,"t1_surcharge_bp":0},"mcc":["5411"]}
JSON
"$PACK" create --kind fee-table --model PX-200 --hw-rev B --keyring k --key k/signing/fees.key \
    --fee-table fees.json -o fees.tar >/dev/null

PEER="$(pf_tmpdir peer)"
cat >"$PEER/offers" <<OFFERS
$W/fw-1.1.0.tar success pause
$W/fw-1.2.0.tar rolled_back
$W/fw-1.3.0.tar refused tamper
$W/fees.tar success
OFFERS
touch "$PEER/pause"
read -r PCRT PKEY < <(pf_cert_of posfleetd)
pf_spawn peer "$DRV" peer "$PEER" 127.0.0.1 "$PF_BROKER_PORT" "$PKI/ca.crt" "$PCRT" "$PKEY" "$SERIAL"
pf_wait_for 10 "peer connected" grep -q "peer: connected" "$(pf_log_of peer)"

HAL="$(pf_tmpdir hal)"
STATE="$(pf_tmpdir state)"
read -r CRT KEY < <(pf_cert_of "$SERIAL")
cat >agent.conf <<CONF
serial = $SERIAL
model = PX-200
hw_rev = B
broker.host = 127.0.0.1
broker.port = $PF_BROKER_PORT
tls.ca = $PKI/ca.crt
tls.cert = $CRT
tls.key = $KEY
state_dir = $STATE
hal = sim
hal.dir = $HAL
backoff_min_ms = 100
backoff_max_ms = 500
keepalive_s = 10
fw_version = 1.0.0
log_level = debug
update.slot_a = $W/slot_a
update.slot_b = $W/slot_b
update.boot = file
update.boot_env = $W/bootenv
update.trust_root = $W/k/root.pub
update.keyring = $STATE/keyring.json
update.feetable_dir = $W/fees
update.retry_s = 1
update.resend_s = 2
update.stall_s = 60
update.exit_on_reboot = 1
CONF
printf 'factory image\n' >slot_a
echo 1 >"$HAL/busy" # a sale is in progress

BOOT=0
boot() {
    BOOT=$((BOOT + 1))
    if ((BOOT <= 2)); then # downloads 1.1.0 / 1.2.0, then exits at the reboot by itself:
        # its peak RSS goes to rss.N (meaningful on a build without sanitizers)
        pf_spawn "agent$BOOT" /usr/bin/time -f "%M" -o "$W/rss.$BOOT" "$AGENT" -c "$W/agent.conf"
    else
        pf_spawn "agent$BOOT" "$AGENT" -c "$W/agent.conf"
    fi
}
rebooted() { ! pf_alive "agent$BOOT"; }
event() { grep -q " $1 $2 $3\$" "$PEER/events.log" 2>/dev/null; }

boot
pf_wait_for 20 "offer-1 deferred busy" event offer-1 deferred busy
rm "$HAL/busy"
pf_wait_for 30 "download paused half-way" test -e "$PEER/paused"
pf_log "restarting the broker in the middle of the download"
pf_broker_restart
rm "$PEER/pause"
pf_wait_for 60 "reboot into the new slot" rebooted
grep -q "^slot=b" bootenv || pf_fail "boot environment not switched to b: $(cat bootenv)"
cmp -s slot_b fw-1.1.0.img || pf_fail "slot b does not hold 1.1.0"
boot
pf_wait_for 30 "offer-1 success" event offer-1 success -
grep -q "^good=b" bootenv || pf_fail "slot b not committed: $(cat bootenv)"

pf_wait_for 60 "reboot into 1.2.0" rebooted
echo fail >"$HAL/screen" # the new firmware breaks the screen
boot
pf_wait_for 30 "fallback reboot" rebooted
rm "$HAL/screen"
boot
pf_wait_for 30 "offer-2 rolled back" event offer-2 rolled_back SELFTEST:screen
grep -q "^slot=b" bootenv && grep -q "^good=b" bootenv || pf_fail "not back on b: $(cat bootenv)"
cmp -s slot_a fw-1.2.0.img || pf_fail "slot a does not hold the rejected 1.2.0"

pf_wait_for 30 "offer-3 refused" event offer-3 refused DIGEST
grep -q "^slot=b" bootenv || pf_fail "a tampered bundle switched the boot slot"
pf_alive "agent$BOOT" || pf_fail "the agent rebooted for a refused bundle"

pf_wait_for 30 "offer-4 success" event offer-4 success -
[[ ! -e fees/active.json ]] || pf_fail "fee table active before its effective time"
pf_wait_for 60 "fee table active at $EFFECTIVE" grep -q '"2026.12.1"' fees/active.json

# Exactly one final outcome per offer; nothing recorded twice.
[[ $(awk '$3 ~ /^(success|failed|rolled_back|refused)$/' "$PEER/events.log" | wc -l) == 4 ]] ||
    pf_fail "final outcomes: $(cat "$PEER/events.log")"
[[ $(cut -d' ' -f1 "$PEER/events.log" | sort | uniq -d | wc -l) == 0 ]] ||
    pf_fail "an event was recorded twice"
# Bytes on the wire: chunk frames (headers included) for the firmware downloads.
# offer-2 ran without interruption: its time from first to last chunk gives the rate.
awk '$1 == "offer-1" || $1 == "offer-2" { r = $2 / $3; printf "%s: %d frame bytes for a %d-byte bundle (%.2f %%), %.1f MiB/s\n", $1, $2, $3, 100 * r, ($4 > 0 ? $2 / 1048576 / ($4 / 1000) : 0); if (r > 1.02) bad = 1 }
     END { exit bad }' "$PEER/stats" >&2 || pf_fail "more than 102 % of the bundle on the wire"
pf_log "agent peak RSS while downloading 1.1.0 and 1.2.0 (KiB): $(cat rss.1 rss.2 | tr '\n' ' ')"
pf_log "PASS: $(wc -l <"$PEER/events.log") events recorded once each, 4 outcomes as expected"
