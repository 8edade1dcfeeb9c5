#!/usr/bin/env bash
# test_http_slow.sh - idle connections cannot lock other clients out. One
# client (127.0.0.1) holds 2,000 connections to posfleetd, each sending one
# more byte of a request head every 2 s and reopened as soon as it is closed;
# meanwhile a second address (127.0.0.2) GETs /metrics every 250 ms and each
# answer must be 200 within 2 s. The slow client's connections past
# http.max_conns_per_ip must be refused or closed at once, and the ones
# posfleetd took must be closed by http.head_timeout_ms (3 s here, swept every
# 750 ms) although each keeps sending. Before the limits, 512 such connections
# filled MHD's only limit and every other client's connection was closed
# unanswered, while MHD's idle timeout restarted with each byte.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

command -v python3 >/dev/null 2>&1 || pf_fail "python3 not found"
python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.2", 0))' 2>/dev/null ||
    pf_fail "cannot bind 127.0.0.2 (the loopback /8 is needed)"
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
pf_server_start "http.max_conns = 4096
http.max_conns_per_ip = 64
http.head_timeout_ms = 3000"

# A slow head lives at most deadline + one sweep (750 ms); 1.5 s of margin
# for a loaded machine.
python3 "$(dirname "$0")/slow_http.py" --port "$PF_HTTP_PORT" --conns 2000 --byte-every 2 \
    --duration 10 --probe-from 127.0.0.2 --path /metrics --probe-max-ms 2000 --per-ip 64 \
    --head-max-ms 5250 --check >"$PF_TMP/slow.json" 2>"$PF_TMP/slow.err" ||
    pf_fail "$(cat "$PF_TMP/slow.json" "$PF_TMP/slow.err")"
pf_log "$(cat "$PF_TMP/slow.json")"

# posfleetd is still whole afterwards, for the slow client's address too.
pf_alive posfleetd || pf_fail "posfleetd died"
pf_wait_for 10 "posfleetd to answer the slow client's address again" pf_cli_quiet summary
pf_log "PASS"
