#!/usr/bin/env bash
# bench_console_live.sh - what 50 open rollout pages cost posfleetd (docs/console.md,
# "Live"): 50 consoles following the rollout by server-sent events (GET /v1/events?rollout=ID,
# the console's way: a held stream, and GET /v1/rollouts/{id} with If-None-Match on each
# event), against the same 50 polling GET /v1/rollouts/{id} every INTERVAL s with
# If-None-Match (the fallback: 304 without a body while unchanged), against 50 polling
# without it (a full 200 each time) and against no console at all, while a rollout runs.
#
#   tests/bench/bench_console_live.sh          (run.sh calls it so)
#   SMOKE=1 tests/bench/bench_console_live.sh  a short run (5 s phases, one repetition)
#
# Method: one stack (Mosquitto, posfleetd over HTTPS, posfleet-sim with FLEET terminals
# running the update engine), one firmware rollout of the whole fleet with a window open
# now, 16 stages and a soak that spreads them over the run, so members move during the
# whole run. 50 clients in one Python process (a thread and one kept-alive HTTPS
# connection each, a session token of one logged-in user as the console's cookie would
# be) poll at INTERVAL s, their starts spread over the interval; with events, each client
# holds a stream (its own connection, opened before the phase starts, as an open page's
# is) and refetches on a second connection when told. Per repetition, one PHASE s phase
# each of: no client, events, ETag polling, plain polling (their order rotated from one
# repetition to the next); posfleetd's CPU time (utime + stime, /proc/PID/stat) over the
# phase, its RSS at the end of the phase (VmRSS), the clients' requests, 304 share, body
# bytes and events heard. Medians over REPS repetitions; the ratios are events / ETag
# polling and ETag / plain polling of the CPU above the idle phase. posfleetd runs with
# http.events_per_user = 64 (the 50 clients are one user) and http.max_conns_per_ip = 256
# (100 connections from 127.0.0.1 with events). Rows:
#   ROW|figure|posfleet|baseline|ratio|target|met
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/stack.sh"
. "$(dirname "$0")/../integration/update_lib.sh"
. "$(dirname "$0")/../integration/rollout_lib.sh"

if [[ -n "${SMOKE:-}" ]]; then
    PHASE=${PHASE:-5} REPS=${REPS:-1} FLEET=${FLEET:-20}
fi
PHASE=${PHASE:-25}
REPS=${REPS:-3}
SOAK=${SOAK:-$(((PHASE + 15) * 4 * REPS / 16))} # a phase takes about PHASE + 15 s
FLEET=${FLEET:-200}
CLIENTS=${CLIENTS:-50}
INTERVAL=${INTERVAL:-2}
load0=$(cut -d' ' -f1-3 /proc/loadavg)

export PF_HTTP_TLS=1
mkdir -p "$PF_TMP/server"
for role in admin ops support viewer; do
    "$PF_KEYS" api-token --name "bench-$role" --role "$role" --file "$PF_TMP/server/tokens" \
        >"$PF_TMP/server/$role.token" || pf_fail "api token"
done
RO_SERVER_CONF="http.events_per_user = 64
http.max_conns_per_ip = 256" ro_stack "$FLEET" CL
fw=$(ro_fw_bundle 2.0.0)
# 16 stages of FLEET/16 terminals (the last one the rest) with a soak of SOAK s each: the rollout moves (a stage
# installs, settles, soaks, the next opens) during the whole run, as a staged rollout does.
step=$((FLEET / 16)) stages=
for ((k = 1; k < 16; k++)); do stages+="${stages:+,}$((k * step))"; done
stages+=",100%"
id=$(pf_cli --json rollout create "$fw" --stages "$stages" --window 00:00-24:00 \
    --max-concurrent 20 --soak "${SOAK}s" | pf_json_get '$.id')
[[ -n "$id" ]] || pf_fail "rollout create"
PW='bench password long enough'
curl -sf --cacert "$POSFLEET_CACERT" -o /dev/null -H "Authorization: Bearer $(cat "$PF_TMP/server/admin.token")" \
    -H 'Content-Type: application/json' --data "{\"name\":\"console.bench\",\"role\":\"viewer\",\"org\":\"headquarters\",\"password\":\"$PW\"}" \
    "$POSFLEET_URL/v1/users" || pf_fail "user"
session=$(curl -sf --cacert "$POSFLEET_CACERT" -H 'Content-Type: application/json' \
    --data "{\"user\":\"console.bench\",\"password\":\"$PW\"}" "$POSFLEET_URL/v1/login" | pf_json_get '$.token')
[[ -n "$session" ]] || pf_fail "login"
pid=$(pf_pid_of posfleetd)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
installed() { pf_sql "select count(*) from rollout_members where rollout = $id and status in ('installed','rolled_back','failed')"; }

# phase MODE: one phase; prints "cpu_ms rss_kib requests share304 bytes events moved"
phase() {
    local c0 c1 m0 m1 line out="0 0 0 0"
    m0=$(installed)
    if [[ $1 == idle ]]; then
        c0=$(cpu_ticks)
        python3 -c "import time; time.sleep($PHASE)" # the phase's length, no client
        c1=$(cpu_ticks)
    else
        # The clients print "start" once connected (streams open, first loads done), then
        # their totals; the phase's CPU counts from "start".
        exec 7< <(python3 - "$1" "$POSFLEET_URL" "$POSFLEET_CACERT" "$session" "$id" "$CLIENTS" \
            "$INTERVAL" "$PHASE" <<'PY'
import http.client, select, socket, ssl, sys, threading, time, urllib.parse
mode, url, ca, token, rid, n, interval, length = sys.argv[1:9]
n, interval, length = int(n), float(interval), float(length)
u = urllib.parse.urlparse(url)
GAP = interval  # what console/js/rollouts.js gives PF.live.follow
ctx = ssl.create_default_context(cafile=ca)
lock = threading.Lock()
tot = {"req": 0, "304": 0, "bytes": 0, "err": 0, "events": 0}
end = None


def start_phase():
    global end
    end = time.monotonic() + length


ready = threading.Barrier(n + 1, action=start_phase)  # the phase starts once all are ready

def fetch(conn, etag, count=True):
    """GET the rollout (with If-None-Match when etag): (conn, etag) after it. A kept-alive
    connection the server closed while idle (http.head_timeout_ms) is opened again and the
    request sent once more, as a browser does."""
    h = {"Authorization": "Bearer " + token, "Accept": "application/json"}
    if etag:
        h["If-None-Match"] = etag
    try:
        try:
            conn.request("GET", "/v1/rollouts/" + rid, headers=h)
            r = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionError, ssl.SSLError, OSError):
            conn.close()
            conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)
            conn.request("GET", "/v1/rollouts/" + rid, headers=h)
            r = conn.getresponse()
        body = r.read()
        if r.status == 200:
            etag = r.getheader("ETag")
        if count:
            with lock:
                tot["req"] += 1
                tot["bytes"] += len(body)
                tot["304"] += r.status == 304
                tot["err"] += r.status not in (200, 304)
    except Exception:
        with lock:
            tot["err"] += 1
        conn.close()
        conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)
    return conn, etag

def events(k):
    """An open page: a held stream, a refetch with If-None-Match on each event. The stream
    is read from the TLS socket itself (select, then recv): each event is one chunk, one
    TLS record, so counting "event: rollout" in what arrives counts the events."""
    raw = socket.create_connection((u.hostname, u.port), timeout=30)
    s = ctx.wrap_socket(raw, server_hostname=u.hostname)
    s.sendall(("GET /v1/events?rollout=%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
               "Accept: text/event-stream\r\n\r\n" % (rid, u.netloc, token)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        d = s.recv(4096)
        if not d:
            break
        head += d
    if not head.startswith(b"HTTP/1.1 200"):
        with lock:
            tot["err"] += 1
        ready.wait()
        return
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)
    conn, etag = fetch(conn, None, False)  # the page's first load, before the phase
    ready.wait()
    tail = b""
    last = -GAP  # the page refetches at once, then at most once per GAP s (live.js)
    owed = False
    while time.monotonic() < end:
        now = time.monotonic()
        if owed and now - last >= GAP:
            conn, etag = fetch(conn, etag)
            last, owed = time.monotonic(), False
            continue
        wait = min(0.2, max(0.0, last + GAP - now)) if owed else 0.2
        if not s.pending() and not select.select([s], [], [], wait)[0]:
            continue
        d = s.recv(16384)
        if not d:
            break
        data = tail + d
        seen = data.count(b"event: rollout")
        tail = data[-13:]  # shorter than the needle: never counted twice
        if seen:
            with lock:
                tot["events"] += seen
            owed = True
    s.close()
    conn.close()

def client(k):
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)
    etag = None
    ready.wait()
    nxt = time.monotonic() + interval * k / n
    while True:
        now = time.monotonic()
        if nxt >= end:
            break
        if nxt > now:
            time.sleep(nxt - now)
        nxt += interval
        conn, etag = fetch(conn, etag if mode == "etag" else None)

ts = [threading.Thread(target=events if mode == "sse" else client, args=(k,))
      for k in range(n)]
for t in ts:
    t.start()
ready.wait()  # every stream open, every first load done
print("start", flush=True)
for t in ts:
    t.join()
if tot["err"]:
    print("errors: %d" % tot["err"], file=sys.stderr)
print(tot["req"], "%.3f" % (tot["304"] / max(tot["req"], 1)), tot["bytes"], tot["events"])
PY
        )
        read -r line <&7 || pf_fail "the clients failed to start"
        [[ $line == start ]] || pf_fail "the clients said: $line"
        c0=$(cpu_ticks)
        read -r out <&7 || pf_fail "the clients failed"
        c1=$(cpu_ticks)
        exec 7<&-
    fi
    m1=$(installed)
    echo "$(((c1 - c0) * 1000 / $(getconf CLK_TCK))) $(rss_kib) $out $((m1 - m0))"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -A res
orders=("idle sse etag plain" "sse etag plain idle" "etag plain idle sse" "plain idle sse etag")
for ((r = 0; r < REPS; r++)); do # drift spread over the modes
    for m in ${orders[r % 4]}; do
        read -r cpu rss req share bytes evs moved < <(phase "$m")
        pf_log "rep $r $m: cpu ${cpu} ms, rss ${rss} KiB, $req requests, 304 share $share, $bytes body bytes, $evs events, $moved members finished"
        res[$m.cpu]+="$cpu " res[$m.rss]+="$rss " res[$m.req]+="$req " res[$m.share]+="$share "
        res[$m.bytes]+="$bytes " res[$m.moved]+="$moved " res[$m.events]+="$evs "
    done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
pf_log "load average: start $load0, end $load1; FLEET=$FLEET CLIENTS=$CLIENTS INTERVAL=$INTERVAL PHASE=$PHASE REPS=$REPS"
med() { tr ' ' '\n' <<<"${res[$1]}" | grep . | median; }
idle=$(med idle.cpu) etag=$(med etag.cpu) plain=$(med plain.cpu) sse=$(med sse.cpu)
ds=$(awk -v a="$sse" -v b="$idle" 'BEGIN {print a - b}')
de=$(awk -v a="$etag" -v b="$idle" 'BEGIN {print a - b}')
dp=$(awk -v a="$plain" -v b="$idle" 'BEGIN {print a - b}')
ratio=$(awk -v a="$de" -v b="$dp" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}')
per_s=$(awk -v c="$de" -v p="$PHASE" 'BEGIN {printf "%.1f", c / p}')
de_s=$(awk -v c="$de" -v p="$PHASE" 'BEGIN {printf "%.1f", c / p}')
ratio_s=$(awk -v a="$ds" -v b="$de" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}')
echo "ROW|posfleetd CPU ms per s for $CLIENTS consoles following a running rollout by server-sent events (a held stream each, GET with If-None-Match on each event), above idle (idle $idle ms/${PHASE} s); load $load0 → $load1|$(awk -v c="$ds" -v p="$PHASE" 'BEGIN {printf "%.1f", c / p}') ms/s ($(med sse.events) events, $(med sse.req) requests, $(med sse.share) were 304, $(med sse.bytes) body bytes)|ETag polling every ${INTERVAL} s: $de_s ms/s|$ratio_s|≤ 1|$(awk -v r="$ratio_s" 'BEGIN {print (r <= 1) ? "yes" : "no"}')"
echo "ROW|posfleetd RSS with $CLIENTS consoles on event streams, KiB|$(med sse.rss)|idle: $(med idle.rss)|$(awk -v a="$(med sse.rss)" -v b="$(med idle.rss)" 'BEGIN {printf "%.2f", a / b}')|≤ 1.1|$(awk -v a="$(med sse.rss)" -v b="$(med idle.rss)" 'BEGIN {print (a / b <= 1.1) ? "yes" : "no"}')"
echo "ROW|posfleetd CPU ms per s for $CLIENTS consoles polling a running rollout every ${INTERVAL} s with If-None-Match, above idle (idle $idle ms/${PHASE} s); load $load0 → $load1|$per_s ms/s ($(med etag.req) requests, $(med etag.share) were 304, $(med etag.bytes) body bytes)|plain polling: $(awk -v c="$dp" -v p="$PHASE" 'BEGIN {printf "%.1f", c / p}') ms/s ($(med plain.bytes) body bytes)|$ratio|≤ 1|$(awk -v r="$ratio" 'BEGIN {print (r <= 1) ? "yes" : "no"}')"
echo "ROW|posfleetd RSS with $CLIENTS consoles polling (ETag), KiB|$(med etag.rss)|idle: $(med idle.rss); plain polling: $(med plain.rss)|$(awk -v a="$(med etag.rss)" -v b="$(med idle.rss)" 'BEGIN {printf "%.2f", a / b}')|≤ 1.1|$(awk -v a="$(med etag.rss)" -v b="$(med idle.rss)" 'BEGIN {print (a / b <= 1.1) ? "yes" : "no"}')"
