#!/usr/bin/env bash
# bench_footprint.sh - posfleet-agent connected and idle, side by side with mosquitto_sub
# connected to the same broker with the same TLS settings (the floor for any libmosquitto
# client): total resident memory (VmRSS), private anonymous memory (smaps_rollup
# "Anonymous"), median of SAMPLES readings; and the stripped agent binary's size.
# A second agent runs as under systemd (NOTIFY_SOCKET names a datagram socket a
# listener reads, as systemd's would): an agent built with libsystemd loads it
# only then (agent/notify/notify_systemd.c), so that agent's figures are what a
# terminal run by the unit pays; without a libsystemd build the two are alike.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/stack.sh"

SAMPLES=${SAMPLES:-5}
pf_pki_init "$(pf_tmpdir pki)"
pf_device_cert "$PF_PKI" FOOT-SUB
pf_broker_start "$PF_PKI"

PF_REPORT_INTERVAL=60 pf_agent_start FOOT-AGENT
sock="$PF_TMP/notify.sock"
pf_spawn notify python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    m = s.recv(4096)
    with open(sys.argv[2], "ab") as f:
        f.write(m + b"\n")
' "$sock" "$PF_TMP/notify.log"
pf_wait_for 60 "the notify listener bound" eval "[[ -S '$sock' ]]"
NOTIFY_SOCKET="$sock" PF_REPORT_INTERVAL=60 pf_agent_start FOOT-SD
read -r crt key < <(pf_cert_of FOOT-SUB)
pf_spawn sub mosquitto_sub -h 127.0.0.1 -p "$PF_BROKER_PORT" --cafile "$PF_PKI/ca.crt" \
    --cert "$crt" --key "$key" -V mqttv5 -q 1 -t 'pf/v1/cmd/FOOT-SUB/#'
pf_wait_for 20 "both clients connected" \
    eval "grep -q 'as FOOT-AGENT' '$PF_TMP/logs/mosquitto.log' && grep -q 'as FOOT-SUB' '$PF_TMP/logs/mosquitto.log'"
# Let the agent finish its start-up (birth, first report) and go idle.
pf_wait_for 20 "the agent's first report acknowledged" \
    eval "[[ -f '$PF_TMP/agents/FOOT-AGENT/state/seq' && -f '$PF_TMP/agents/FOOT-SD/state/seq' ]]"
sd=no
if grep -q libsystemd.so.0 "$PF_AGENTD"; then
    pf_wait_for 20 "READY=1 from the agent under a notify socket" \
        eval "grep -q READY=1 '$PF_TMP/notify.log' 2>/dev/null"
    sd=yes
fi

kb() { awk -v k="$2:" '$1 == k { print $2 }' "$1"; }
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
apid=$(pf_pid_of agent-FOOT-AGENT); spid=$(pf_pid_of sub); dpid=$(pf_pid_of agent-FOOT-SD)
for i in $(seq 1 "$SAMPLES"); do
    kb /proc/$apid/status VmRSS >>"$PF_TMP/a_rss"; kb /proc/$spid/status VmRSS >>"$PF_TMP/s_rss"
    kb /proc/$apid/smaps_rollup Anonymous >>"$PF_TMP/a_anon"; kb /proc/$spid/smaps_rollup Anonymous >>"$PF_TMP/s_anon"
    kb /proc/$dpid/status VmRSS >>"$PF_TMP/d_rss"; kb /proc/$dpid/smaps_rollup Anonymous >>"$PF_TMP/d_anon"
    sleep 1 # sampling interval of the measurement, not a wait for a condition
done
a_rss=$(median <"$PF_TMP/a_rss"); s_rss=$(median <"$PF_TMP/s_rss")
a_anon=$(median <"$PF_TMP/a_anon"); s_anon=$(median <"$PF_TMP/s_anon")
d_rss=$(median <"$PF_TMP/d_rss"); d_anon=$(median <"$PF_TMP/d_anon")
d_maps=$(grep -c 'libsystemd' /proc/$dpid/maps || true); a_maps=$(grep -c 'libsystemd' /proc/$apid/maps || true)
echo "libsystemd in the build: $sd; mappings of libsystemd: $a_maps without NOTIFY_SOCKET, $d_maps with; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
ratio=$(awk -v a="$a_rss" -v b="$s_rss" 'BEGIN { printf "%.2f", a / b }')
cp "$PF_AGENTD" "$PF_TMP/agent.stripped"; strip --strip-all "$PF_TMP/agent.stripped"
size=$(stat -c %s "$PF_TMP/agent.stripped")
echo "ROW|agent idle resident memory (VmRSS)|$a_rss KiB|mosquitto_sub: $s_rss KiB|$ratio|≤ 1.25|$(awk -v r="$ratio" 'BEGIN { print (r <= 1.25) ? "yes" : "no" }')"
echo "ROW|agent idle private anonymous memory|$a_anon KiB|mosquitto_sub: $s_anon KiB|$(awk -v a="$a_anon" -v b="$s_anon" 'BEGIN { printf "%.2f", a / b }')|≤ 1024 KiB|$( ((a_anon <= 1024)) && echo yes || echo no)"
echo "ROW|the same under systemd (NOTIFY_SOCKET; libsystemd loaded: $sd)|$d_anon KiB (VmRSS $d_rss KiB)|mosquitto_sub: $s_anon KiB|$(awk -v a="$d_anon" -v b="$s_anon" 'BEGIN { printf "%.2f", a / b }')|≤ 1024 KiB|$( ((d_anon <= 1024)) && echo yes || echo no)"
echo "ROW|agent stripped binary|$((size / 1024)) KiB|—|—|≤ 256 KiB|$( ((size <= 262144)) && echo yes || echo no)"
