#!/usr/bin/env bash
# test_update_authz.sh - a hostile terminal against the update protocol, played
# by hand on one MQTT connection (pf_mqtt_term) with its own valid certificate:
#  - 2,000 forged "success 9.9.9" events for an offer never made to it: none
#    stored, all counted NOT_OFFERED, all acknowledged (so a real terminal would
#    stop resending), and the log rate limited; an event naming another
#    terminal's real offer is refused the same way; a real offer's event is
#    still recorded and acknowledged;
#  - chunk requests for a bundle not offered to it (stored, or offered to
#    another terminal) get no answer at all and are counted; the terminal an
#    offer was made to gets its chunks; past its byte budget for the offer
#    (update.chunk_budget x the bundle + 8 chunks) it is cut off.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"

TERM_BIN="$PF_BUILD/tests/pf_mqtt_term"
pf_require_bin "$TERM_BIN"
upd_keys_init
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
# A small chunk size and a wide window: many requests in a burst are all answered
# (none busy), so what is left unanswered is what posfleetd refused. The per-terminal
# rate limits are off: bursts of 2,000 forged messages from one certificate must all reach
# the offer checks this test is about (it_flood tests the rate limit).
upd_server_start "update.chunk_max = 65536
update.window = 1024
update.chunk_budget = 1
ingest.rate_per_s = 0
ingest.chunkreq_rate_per_s = 0"
pf_cli device add HA1 --model PX-500 --hw-rev r2 >/dev/null
pf_cli device add HB1 --model PX-500 --hw-rev r2 >/dev/null
pf_device_cert "$PF_PKI" HA1
pf_device_cert "$PF_PKI" HB1

# term SERIAL ARGS...: pf_mqtt_term connected as SERIAL.
term() {
    local serial="$1" crt key
    shift
    read -r crt key < <(pf_cert_of "$serial")
    "$TERM_BIN" --port "$PF_BROKER_PORT" --cafile "$PF_PKI/ca.crt" --cert "$crt" --key "$key" "$@"
}
metric() { # NAME{LABELS} -> value (0 when absent)
    curl -s "$POSFLEET_URL/metrics" | awk -v m="$1" '$1 == m {v = $2} END {print v + 0}'
}
NOW_MS="$(date +%s000)"
event() { # SERIAL ID OFFER BUNDLE VERSION STATUS
    printf 'pf/v1/dev/%s/event {"v":1,"id":"%s","offer":"%s","bundle":"%s","kind":"firmware","version":"%s","status":"%s","ts":%s}\n' \
        "$1" "$2" "$3" "$4" "$5" "$6" "$NOW_MS"
}
chunkreq() { # SERIAL BUNDLE OFFSET LENGTH REQ
    printf 'pf/v1/dev/%s/chunkreq {"v":1,"bundle":"%s","offset":%s,"length":%s,"req":%s}\n' "$@"
}

head -c 300000 /dev/urandom >"$PF_TMP/a.img"
head -c 300000 /dev/urandom >"$PF_TMP/b.img"
upd_pack_fw 1.1.0 "$PF_TMP/a.img" "$PF_TMP/a.tar"
upd_pack_fw 1.2.0 "$PF_TMP/b.img" "$PF_TMP/b.tar"
ida=$(upd_upload "$PF_TMP/a.tar")
idb=$(upd_upload "$PF_TMP/b.tar")
upd_offer HB1 "$idb"
offb=$(pf_sql "select id from update_offers where serial='HB1'")
[[ -n "$offb" ]] || pf_fail "HB1's offer was not recorded"

# --- events: 2,000 forged outcomes of an offer never made ---
for i in $(seq 1 2000); do
    event HA1 "forged$i" "o-forged-$i" "$ida" 9.9.9 success
done >"$PF_TMP/forged.txt"
pf_log "publishing 2000 forged events"
term HA1 --sub pf/v1/cmd/HA1/ack --expect 2000 --wait-ms 60000 <"$PF_TMP/forged.txt" \
    >"$PF_TMP/acks.txt" || pf_fail "forged events: not all published or acknowledged: $(tail -1 "$PF_TMP/acks.txt")"
acked=$(grep -c '^pf/v1/cmd/HA1/ack ' "$PF_TMP/acks.txt" || true)
distinct=$(grep -o '"id":"forged[0-9]*"' "$PF_TMP/acks.txt" | sort -u | wc -l)
((distinct == 2000)) || pf_fail "$distinct of 2000 forged events acknowledged ($acked acks)"
[[ "$(pf_sql "select count(*) from update_events where serial='HA1'")" == 0 ]] ||
    pf_fail "forged events were stored"
[[ "$(pf_sql "select count(*) from update_state where serial='HA1'")" == 0 ]] ||
    pf_fail "a forged event gave HA1 a current update"
n=$(metric 'posfleet_messages_rejected_total{reason="NOT_OFFERED"}')
((n == 2000)) || pf_fail "$n forged events counted NOT_OFFERED, want 2000"
lines=$(grep -c 'rejected NOT_OFFERED' "$(pf_log_of posfleetd)" || true)
((lines >= 1 && lines <= 40)) || pf_fail "$lines log lines for 2000 refusals: not rate limited"
pf_log "2000 forged events: none stored, all acknowledged and counted, $lines log lines"

# Another terminal's real offer is not this terminal's either.
event HA1 steal1 "$offb" "$idb" 1.2.0 success |
    term HA1 --sub pf/v1/cmd/HA1/ack --expect 1 --wait-ms 15000 >"$PF_TMP/steal.txt" ||
    pf_fail "the event naming HB1's offer was not acknowledged"
[[ "$(pf_sql "select count(*) from update_events where offer='$offb'")" == 0 ]] ||
    pf_fail "HA1's event for HB1's offer was stored"
[[ "$(upd_status HB1)" == offered ]] || pf_fail "HB1's update became $(upd_status HB1)"

# A real offer's event is still recorded and acknowledged.
event HB1 real1 "$offb" "$idb" 1.2.0 accepted |
    term HB1 --sub pf/v1/cmd/HB1/ack --expect 1 --wait-ms 15000 >"$PF_TMP/real.txt" ||
    pf_fail "HB1's real event was not acknowledged"
grep -q '"id":"real1"' "$PF_TMP/real.txt" || pf_fail "no ack of real1: $(cat "$PF_TMP/real.txt")"
[[ "$(upd_events HB1 accepted)" == 1 ]] || pf_fail "HB1's real event was not recorded"
[[ "$(upd_status HB1)" == accepted ]] || pf_fail "HB1's update is $(upd_status HB1), want accepted"

# --- chunks: only for one's own current offer ---
{
    chunkreq HA1 "$ida" 0 1024 1 # stored, offered to nobody
    chunkreq HA1 "$idb" 0 1024 2 # offered to HB1
} | term HA1 --sub 'pf/v1/cmd/HA1/#' --wait-ms 3000 >"$PF_TMP/ha1-chunks.txt" ||
    pf_fail "HA1's chunk requests were not published"
chunkreq HB1 "$idb" 0 1024 3 |
    term HB1 --sub 'pf/v1/cmd/HB1/#' --expect 1 --wait-ms 15000 >"$PF_TMP/hb1-chunks.txt" ||
    pf_fail "HB1 got no answer for its own offer's bundle"
grep -q '^pf/v1/cmd/HB1/chunk <binary 1080>' "$PF_TMP/hb1-chunks.txt" ||
    pf_fail "HB1's answer is not a 1024-byte chunk: $(cat "$PF_TMP/hb1-chunks.txt")"
# The positive control answered within its wait; HA1's waited as long and got nothing.
! grep -q 'cmd/HA1/chunk' "$PF_TMP/ha1-chunks.txt" ||
    pf_fail "HA1 was answered for bundles not offered to it: $(cat "$PF_TMP/ha1-chunks.txt")"
n=$(metric 'posfleet_chunk_refused_total{reason="not_offered"}')
((n == 2)) || pf_fail "$n chunk requests counted not_offered, want 2"
pf_log "chunks of bundles not offered: unanswered and counted"

# --- the byte budget of an offer: chunk_budget (1) x the bundle + 8 chunks ---
size=$(stat -c %s "$PF_TMP/b.tar")
budget=$((size + 8 * 65536))
for pass in 1 2 3; do
    for ((off = 0; off < size; off += 65536)); do
        len=$((size - off < 65536 ? size - off : 65536))
        chunkreq HB1 "$idb" "$off" "$len" "$pass"
    done
done >"$PF_TMP/greedy.txt"
before=$(metric posfleet_chunk_bytes_total)
term HB1 --sub 'pf/v1/cmd/HB1/#' --wait-ms 5000 <"$PF_TMP/greedy.txt" >"$PF_TMP/greedy-out.txt" ||
    pf_fail "HB1's chunk requests were not published"
served=$(($(metric posfleet_chunk_bytes_total) - before + 1024))
((served <= budget)) || pf_fail "served $served bytes of one offer, budget $budget"
((served >= size)) || pf_fail "served only $served bytes: the whole bundle once must fit the budget"
n=$(metric 'posfleet_chunk_refused_total{reason="budget"}')
((n >= 1)) || pf_fail "no request refused for the budget"
! grep -q 'chunkerr' "$PF_TMP/greedy-out.txt" || pf_fail "budget refusals were answered"
# Cut off: a request longer than what is left (less than the refused one) gets nothing.
chunkreq HB1 "$idb" 0 65536 9 | term HB1 --sub 'pf/v1/cmd/HB1/#' --wait-ms 2000 >"$PF_TMP/after.txt"
! grep -q 'cmd/HB1/chunk' "$PF_TMP/after.txt" || pf_fail "HB1 was served past its budget"
pf_log "budget: served $served of $((3 * size)) bytes asked (budget $budget), $n requests refused"

pf_server_stop
! grep -q "Sanitizer\|runtime error" "$(pf_log_of posfleetd)" ||
    pf_fail "posfleetd: sanitizer report: $(grep -m3 "Sanitizer\|runtime error" "$(pf_log_of posfleetd)")"
pf_log "events and chunks only for one's own offers: ok"
