#!/usr/bin/env bash
# test_agent_linux_hal.sh - the real agent with hal = linux against a fake sysfs/procfs
# tree, reporting to a real posfleetd over the real broker:
#   1. the health report carries what the tree says (battery, external power, link,
#      temperature, MemAvailable, the system's uptime);
#   2. the agent tells a service manager it is ready and keeps pinging the watchdog
#      (NOTIFY_SOCKET is a real datagram socket, as systemd gives it);
#   3. a garbled tamper file is not a tamper, a battery that disappears is reported
#      as unknown, and flipping the tamper file to 1 locks the terminal at once:
#      posfleetd locks, the agent writes the payment switch and confirms.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
pf_server_start

S=LNX-0001
ROOT="$(pf_tmpdir fakeroot)"
SHARED="$PF_TMP/agents/$S/hal" # hal.dir, as pf_agent_start writes it
SLOG="$(pf_log_of posfleetd)"

# put REL CONTENT: one file of the fake tree, replaced atomically as sysfs never tears.
put() {
    mkdir -p "$(dirname "$ROOT/$1")"
    printf '%s\n' "$2" >"$ROOT/$1.tmp" && mv "$ROOT/$1.tmp" "$ROOT/$1"
}
put sys/class/power_supply/BAT0/type Battery
put sys/class/power_supply/BAT0/capacity 63
put sys/class/power_supply/BAT0/status Discharging
put sys/class/power_supply/AC/type Mains
put sys/class/power_supply/AC/online 0
put sys/class/net/lo/operstate unknown
put sys/class/net/eth0/operstate down
put sys/class/net/wlan0/operstate up
put sys/class/net/wlan0/carrier 1
put proc/net/route "$(printf 'Iface\tDestination\tGateway\tFlags\nwlan0\t00000000\t0101A8C0\t0003')"
put proc/net/wireless "$(printf '%s\n%s\n%s' \
    'Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE' \
    ' face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22' \
    'wlan0: 0000   54.  -61.  -256        0      0      0      0     12        0')"
put sys/class/thermal/thermal_zone0/temp 39000
put sys/class/thermal/thermal_zone1/temp 47200
put proc/meminfo "$(printf 'MemTotal: 1012345 kB\nMemFree: 20000 kB\nMemAvailable: 222333 kB')"
put proc/uptime "987654.32 1000.00"
REBOOT="$PF_TMP/reboot.sh"
printf '#!/bin/sh\necho reboot >>"%s/reboots"\n' "$PF_TMP" >"$REBOOT"
chmod 755 "$REBOOT"

life() { pf_cli --json lifecycle "$S" 2>/dev/null | pf_json_get "$1"; }
state_is() { [[ "$(life '$.state')" == "$1" ]]; }
acked_is() { [[ "$(life '$.lock.acknowledged')" == "$1" ]]; }
payments() { [[ "$(cat "$SHARED/payments" 2>/dev/null)" == "$1" ]]; }
# latest COLUMNS: the newest stored health row of the terminal, '|'-separated.
latest() { pf_sql "select $1 from health where serial = '$S' order by id desc limit 1"; }
latest_is() { [[ "$(latest "$1")" == "$2" ]]; }
reports() { pf_sql "select count(*) from health where serial = '$S'"; }
reports_at_least() { (($(reports) >= $1)); }

pf_cli merchant add M-LNX --name "Harbour Bakery" --uscc 9144030071526726XG --mcc 5411 \
    --address "8 Harbour Road" --contact "Chen Jing" --phone "+86 138 0000 0001" \
    --tz Asia/Shanghai --settlement T1 --fee-plan fee-2026.11 >/dev/null || pf_fail "merchant add"
pf_cli merchant approve M-LNX >/dev/null || pf_fail "merchant approve"
pf_cli device add "$S" --model PX-500 >/dev/null || pf_fail "device add"
pf_cli bind "$S" M-LNX >/dev/null || pf_fail "bind"

# The service manager's side of sd_notify: a datagram socket, one line per message.
NSOCK="$PF_TMP/notify.sock"
NLOG="$PF_TMP/notify.log"
: >"$NLOG"
pf_spawn notify python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", " ") + "\n")
        f.flush()
' "$NSOCK" "$NLOG"
pf_wait_for 10 "the notify socket" test -S "$NSOCK"

pf_log "1. the agent reports what the fake tree says"
export NOTIFY_SOCKET="$NSOCK" WATCHDOG_USEC=400000
pf_agent_start "$S" hal=linux "hal.root=$ROOT" "hal.reboot_cmd=$REBOOT" health_interval_s=1 \
    health_jitter_pct=0 tamper_poll_ms=100
unset NOTIFY_SOCKET WATCHDOG_USEC
pf_wait_for 30 "$S active after its first report" state_is active
pf_wait_for 15 "a stored report" reports_at_least 1
got="$(latest "battery_pct, charging, net_type, signal_dbm, temp_c, mem_free_kb, uptime_s, tamper")"
# net_type 2 = wifi (pf_net_type_names); uptime is the system's, not the agent's.
[[ "$got" == "63|0|2|-61|47|222333|987654|0" ]] || pf_fail "health from the fake tree: $got"
payments enabled || pf_wait_for 10 "payments enabled" payments enabled

pf_log "2. READY once, then watchdog pings at half of WATCHDOG_USEC"
pf_wait_for 10 "READY=1" grep -q '^READY=1 STATUS=' "$NLOG"
pings() { grep -c '^WATCHDOG=1$' "$NLOG" || true; }
pings_at_least() { (($(pings) >= $1)); }
pf_wait_for 10 "three watchdog pings" pings_at_least 3
[[ "$(grep -c '^READY=1' "$NLOG")" == 1 ]] || pf_fail "READY sent more than once"
[[ "$(head -n1 "$NLOG")" == READY=1* ]] || pf_fail "a message came before READY: $(head -n1 "$NLOG")"

pf_log "3. garbage is not tamper; a vanished battery is unknown; a real trip locks"
pf_hal_set "$S" tamper "garbled-by-a-bad-driver"
n="$(reports)"
pf_wait_for 15 "two more reports" reports_at_least $((n + 2))
state_is active || pf_fail "a garbled tamper file changed the state to $(life '$.state')"
latest_is tamper 0 || pf_fail "a garbled tamper file was reported as tamper"
# selftest is stored as one check per component (0 pass, 1 fail, 2 skip), secure element last.
[[ "$(latest selftest)" == ?????1 ]] ||
    pf_fail "a garbled tamper file did not fail the secure element's self-test: $(latest selftest)"

rm -rf "$ROOT/sys/class/power_supply/BAT0"
# No battery and no external power: the probe fails, the agent reports 0 % and a failing
# power self-test (hal.h: an unknown value is reported as failing, never guessed).
pf_wait_for 15 "the battery reported gone" latest_is "battery_pct, charging" "0|0"
put sys/class/power_supply/AC/online 1
pf_wait_for 15 "mains power reported" latest_is "battery_pct, charging" "100|1"

t0="$(date +%s%N)"
pf_hal_set "$S" tamper 1
pf_wait_for 10 "$S locked by the tamper event" state_is locked
pf_wait_for 10 "the agent confirmed the lock" acked_is 1
ms=$((($(date +%s%N) - t0) / 1000000))
payments disabled || pf_fail "payments not disabled on the terminal"
grep -q "$S: tamper (tamper event): locking" "$SLOG" ||
    pf_fail "posfleetd did not lock on the tamper event"
grep -q "tamper switch tripped" "$(pf_log_of "agent-$S")" || pf_fail "agent did not log the trip"
[[ ! -e "$PF_TMP/reboots" ]] || pf_fail "the agent asked for a reboot"

pf_kill "agent-$S" 10
pf_wait_for 10 "STOPPING=1" grep -q '^STOPPING=1$' "$NLOG"
pf_log "linux hal: tree -> health, READY + $(pings) watchdog pings, tamper file -> lock in ${ms} ms: OK"
