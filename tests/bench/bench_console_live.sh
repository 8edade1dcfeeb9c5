#!/usr/bin/env bash
# bench_console_live.sh - what 50 open rollout pages cost posfleetd (docs/console.md,
# "Live"): 50 consoles polling GET /v1/rollouts/{id} every INTERVAL s with If-None-Match
# (the console's way: 304 without a body while unchanged) against the same 50 polling
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
# be) poll at INTERVAL s, their starts spread over the interval. Per repetition, one
# PHASE s phase each of: no client, ETag polling, plain polling (their order rotated from
# one repetition to the next); posfleetd's CPU time (utime + stime, /proc/PID/stat) over
# the phase, its RSS at the end of the phase (VmRSS), the clients' requests, 304 share
# and body bytes. Medians over REPS repetitions; the ratio is ETag / plain of the CPU
# above the idle phase. Server-sent events are not implemented, so not measured
# (docs/benchmarks.md). Rows:
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
SOAK=${SOAK:-$(((PHASE + 15) * 3 * REPS / 16))} # a phase takes about PHASE + 15 s
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
ro_stack "$FLEET" CL
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

# phase MODE: one phase; prints "cpu_ms rss_kib requests share304 bytes moved"
phase() {
    local c0 c1 m0 m1 out="0 0 0"
    m0=$(installed)
    c0=$(cpu_ticks)
    if [[ $1 == idle ]]; then
        python3 -c "import time; time.sleep($PHASE)" # the phase's length, no client
    else
        out=$(python3 - "$1" "$POSFLEET_URL" "$POSFLEET_CACERT" "$session" "$id" "$CLIENTS" \
            "$INTERVAL" "$PHASE" <<'PY'
import http.client, ssl, sys, threading, time, urllib.parse
mode, url, ca, token, rid, n, interval, length = sys.argv[1:9]
n, interval, length = int(n), float(interval), float(length)
u = urllib.parse.urlparse(url)
ctx = ssl.create_default_context(cafile=ca)
lock = threading.Lock()
tot = {"req": 0, "304": 0, "bytes": 0, "err": 0}
end = time.monotonic() + length

def client(k):
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)
    etag = None
    nxt = time.monotonic() + interval * k / n
    while True:
        now = time.monotonic()
        if nxt >= end:
            break
        if nxt > now:
            time.sleep(nxt - now)
        nxt += interval
        h = {"Authorization": "Bearer " + token, "Accept": "application/json"}
        if mode == "etag" and etag:
            h["If-None-Match"] = etag
        try:
            conn.request("GET", "/v1/rollouts/" + rid, headers=h)
            r = conn.getresponse()
            body = r.read()
            if mode == "etag" and r.status == 200:
                etag = r.getheader("ETag")
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

ts = [threading.Thread(target=client, args=(k,)) for k in range(n)]
for t in ts:
    t.start()
for t in ts:
    t.join()
if tot["err"]:
    print("errors: %d" % tot["err"], file=sys.stderr)
print(tot["req"], "%.3f" % (tot["304"] / max(tot["req"], 1)), tot["bytes"])
PY
        ) || pf_fail "the clients failed"
    fi
    c1=$(cpu_ticks)
    m1=$(installed)
    echo "$(((c1 - c0) * 1000 / $(getconf CLK_TCK))) $(rss_kib) $out $((m1 - m0))"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -A res
orders=("idle etag plain" "etag plain idle" "plain idle etag") # drift spread over the modes
for ((r = 0; r < REPS; r++)); do
    for m in ${orders[r % 3]}; do
        read -r cpu rss req share bytes moved < <(phase "$m")
        pf_log "rep $r $m: cpu ${cpu} ms, rss ${rss} KiB, $req requests, 304 share $share, $bytes body bytes, $moved members finished"
        res[$m.cpu]+="$cpu " res[$m.rss]+="$rss " res[$m.req]+="$req " res[$m.share]+="$share "
        res[$m.bytes]+="$bytes " res[$m.moved]+="$moved "
    done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
pf_log "load average: start $load0, end $load1; FLEET=$FLEET CLIENTS=$CLIENTS INTERVAL=$INTERVAL PHASE=$PHASE REPS=$REPS"
med() { tr ' ' '\n' <<<"${res[$1]}" | grep . | median; }
idle=$(med idle.cpu) etag=$(med etag.cpu) plain=$(med plain.cpu)
de=$(awk -v a="$etag" -v b="$idle" 'BEGIN {print a - b}')
dp=$(awk -v a="$plain" -v b="$idle" 'BEGIN {print a - b}')
ratio=$(awk -v a="$de" -v b="$dp" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}')
per_s=$(awk -v c="$de" -v p="$PHASE" 'BEGIN {printf "%.1f", c / p}')
echo "ROW|posfleetd CPU ms per s for $CLIENTS consoles polling a running rollout every ${INTERVAL} s with If-None-Match, above idle (idle $idle ms/${PHASE} s); load $load0 → $load1|$per_s ms/s ($(med etag.req) requests, $(med etag.share) were 304, $(med etag.bytes) body bytes)|plain polling: $(awk -v c="$dp" -v p="$PHASE" 'BEGIN {printf "%.1f", c / p}') ms/s ($(med plain.bytes) body bytes)|$ratio|≤ 1|$(awk -v r="$ratio" 'BEGIN {print (r <= 1) ? "yes" : "no"}')"
echo "ROW|posfleetd RSS with $CLIENTS consoles polling (ETag), KiB|$(med etag.rss)|idle: $(med idle.rss); plain polling: $(med plain.rss)|$(awk -v a="$(med etag.rss)" -v b="$(med idle.rss)" 'BEGIN {printf "%.2f", a / b}')|≤ 1.1|$(awk -v a="$(med etag.rss)" -v b="$(med idle.rss)" 'BEGIN {print (a / b <= 1.1) ? "yes" : "no"}')"
