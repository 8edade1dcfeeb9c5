#!/usr/bin/env bash
# bench_transfer.sh - a bundle transferred over MQTT chunks from a local broker to
# one real terminal: posfleetd answering chunk requests from its stored artifact,
# the agent writing and hashing into its inactive slot (TLS on loopback, as in
# production). Rate = payload bytes / (terminal time of the "verifying" event −
# terminal time of the "downloading 0 %" event; same machine clock). Use a build
# without sanitizers (POSFLEET_BUILD=...): ASan costs more than half the rate.
# Bytes on the wire = chunk data + per chunk the frame header (56 B), the MQTT fixed
# header (5 B) and topic (2 B + its length), against the bundle file size. Chunk requests travel the other way (~130 B each,
# reported separately).
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/stack.sh"
. "$(dirname "$0")/../integration/update_lib.sh"

MIB=${MIB:-128}
CHUNK_KB=${CHUNK_KB:-256}
WINDOW=${WINDOW:-8}
command -v curl >/dev/null || pf_fail "curl is needed"

upd_keys_init
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
upd_server_start "update.window = $((WINDOW * 2))
http.import_max = 1073741824"
pf_cli device add BENCH-T1 --model PX-500 --hw-rev r2 >/dev/null
upd_agent_start BENCH-T1 "update.chunk_kb=$CHUNK_KB" "update.window=$WINDOW" \
    "update.persist_kb=65536" "update.storage_margin_kb=0" "update.stall_s=60"
mkdir -p "$PF_TMP/agents/BENCH-T1/hal"
pf_hal_set BENCH-T1 storage_free_kb $((MIB * 4096))
pf_wait_for 30 "BENCH-T1 online" pf_device_online BENCH-T1

head -c $((MIB * 1048576)) /dev/urandom >"$PF_TMP/fw.img"
upd_pack_fw 9.0.0 "$PF_TMP/fw.img" "$PF_TMP/fw.tar"
rm -f "$PF_TMP/fw.img"
size=$(stat -c %s "$PF_TMP/fw.tar")
id=$(upd_upload "$PF_TMP/fw.tar")
upd_offer BENCH-T1 "$id"
# The terminal reboots into the new slot at the end (the bench restarts it).
upd_wait_status BENCH-T1 success 600
t0=$(pf_sql "select min(ts_ms) from update_events where serial='BENCH-T1' and status='downloading'")
t1=$(pf_sql "select min(ts_ms) from update_events where serial='BENCH-T1' and status='verifying'")
metrics=$(curl -s "$POSFLEET_URL/metrics")
chunks=$(awk '/^posfleet_chunks_sent_total/ {print $2}' <<<"$metrics")
data=$(awk '/^posfleet_chunk_bytes_total/ {print $2}' <<<"$metrics")
topic_str="pf/v1/cmd/BENCH-T1/chunk"
wire=$((data + chunks * (56 + 5 + 2 + ${#topic_str})))
payload=$((MIB * 1048576))
ms=$((t1 - t0))
((ms > 0)) || ms=1
rate=$(awk -v b="$payload" -v ms="$ms" 'BEGIN { printf "%.1f", b / 1048576 / (ms / 1000) }')
pct=$(awk -v w="$wire" -v s="$size" 'BEGIN { printf "%.2f", 100 * w / s }')
pf_log "payload $payload B in $ms ms; $chunks chunks, $data data bytes, $wire on the wire, bundle $size B"
echo "ROW|MQTT chunk transfer to one terminal, $MIB MiB, ${CHUNK_KB} KiB chunks, window $WINDOW|$rate MiB/s|—|—|≥ 50 MiB/s|$(awk -v r="$rate" 'BEGIN { print (r >= 50) ? "yes" : "no" }')"
echo "ROW|bytes on the wire (chunk frames) / bundle size|$pct %|$wire / $size B|—|≤ 102 %|$(awk -v p="$pct" 'BEGIN { print (p <= 102) ? "yes" : "no" }')"
echo "ROW|chunk requests (terminal → server)|$chunks|~130 B each|—|reported|—"
