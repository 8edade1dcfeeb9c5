#!/usr/bin/env bash
# bench_console_paint.sh - the back office's first meaningful paint in headless Chromium with
# 1,000,000 registered terminals; target: the dashboard and the terminals list each within 1 s,
# and a terminal's page with 30 days of health at a 60 s interval (43,200 reports) rendering its
# charts within 1 s.
#
#   tests/bench/bench_console_paint.sh        (run.sh console_paint runs it on a Release build)
#   SMOKE=1 tests/bench/bench_console_paint.sh   10,000 terminals, 3 loads (LOADS=N: N loads)
#
# Method: two stores are filled the way bench_search.sh fills them (bench_search: posfleetd's
# migrations, then the rows the store writes: 100,000 merchants, 95% of terminals seen, 2% with
# an open alert), one with 1,000,000 terminals and, as the baseline, one with 1,000. Terminal
# PF0000001 gets 43,200 health reports (30 days every 60 s, ending now). For each store
# posfleetd (Release, plain HTTP on loopback, no broker) serves the console; an ops user of
# headquarters logs in once, then console_paint.py loads each page LOADS times (a new document
# each time, the session kept) and reads the Performance API: "meaningful" is the mark
# pf-PAGE-painted that the page sets in the first animation frame after its data is in the DOM
# (dashboard: the summary's counts, versions and fee tables; terminals: the first page of the
# list with merchant names) - docs/console.md. first-contentful-paint is printed beside it.
# The terminal page: PF0000001 with 30 days of reports and, as the baseline in the same run,
# PF0000002 with 1 day (1,440 reports), each opened on its 30-day range
# ("#terminal/SERIAL?range=30"); "meaningful" is the mark pf-terminal-painted, set in the first
# animation frame after dygraphs drew all four charts (the page's data-drawn). posfleetd keeps
# store.health_keep = 50000 reports per terminal. The data's answer,
# GET /v1/devices/PF0000001?health=1000 (the most reports the API returns), is also timed with
# curl. Medians; the load average at the start and the end is printed on stderr.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${POSFLEET_BUILD:-$src/build}
fill=$build/tests/bench/bench_search
serverd=$build/server/posfleetd
keys=$build/keys/posfleet-keys
for b in "$fill" "$serverd" "$keys"; do
    [ -x "$b" ] || { echo "missing $b (cmake --build $build)" >&2; exit 2; }
done
chrome=$(command -v chromium || true)
driver=$(command -v chromedriver || true)
if [ -z "$chrome" ] || [ -z "$driver" ]; then
    echo "chromium and chromium-driver are needed (packaging/scripts/deps.sh)" >&2
    exit 2
fi
py=/usr/bin/python3
"$py" -c 'import selenium' 2>/dev/null || { echo "python3-selenium is needed" >&2; exit 2; }
if [ "${SMOKE:-0}" = 1 ]; then big=10000 loads=3; else big=1000000 loads=7; fi
loads=${LOADS:-$loads} # LOADS=7 with SMOKE=1: the full count of loads on the small store
small=1000
work=$(mktemp -d "${TMPDIR:-/tmp}/pf-bench-paint.XXXXXX")
pid=
port=
cleanup() { [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# seed N: a store of N terminals (N/10 merchants) with PF0000001's 30 days of health.
seed() {
    local db="$work/$1/posfleetd.db" t0
    mkdir -p "$work/$1"
    t0=$(date +%s)
    "$fill" "$db" "$1" $(($1 / 10 > 0 ? $1 / 10 : 1)) 1 >/dev/null 2>"$work/$1/fill.log"
    "$py" - "$db" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
# PF0000001: 30 days every 60 s; PF0000002: the last day only (the terminal page's baseline).
cols = [(r[1], r[2], r[3], r[4]) for r in db.execute("PRAGMA table_info(health)")]
now = int(time.time() * 1000)
n = 30 * 24 * 60
vals = {"queued": 0, "charging": 0, "net_type": 1, "fw_version": "2.1.0",
        "fw_slot": 0, "fee_version": "fee-2026.11", "selftest": "", "currency": "CNY"}
names = [c[0] for c in cols if c[0] != "id"]
def row(serial, i):
    ts = now - (n - i) * 60000
    v = dict(vals, serial=serial, seq=i + 1, ts_ms=ts, recv_ms=ts, stored_ms=ts, battery_pct=20 + (i * 7) % 80,
             signal_dbm=-60 - i % 40, temp_c=30 + i % 15, storage_free_kb=500000 - i,
             mem_free_kb=60000, uptime_s=i * 60)
    out = []
    for name, typ, notnull, default in cols:
        if name == "id":
            continue
        if name in v:
            out.append(v[name])
        elif notnull and default is None:
            out.append("" if "TEXT" in (typ or "").upper() else 0)
        else:
            out.append(None)
    return out
db.execute("BEGIN")
db.executemany("INSERT INTO health (%s) VALUES (%s)" % (",".join(names), ",".join("?" * len(names))),
               (row("PF0000001", i) for i in range(n)))
db.executemany("INSERT INTO health (%s) VALUES (%s)" % (",".join(names), ",".join("?" * len(names))),
               (row("PF0000002", i) for i in range(n - 1440, n)))
db.commit()
PY
    echo "seed: $1 terminals and 43,200 health reports in $(($(date +%s) - t0)) s" >&2
}

# serve N: posfleetd on store N with the console (pid in $pid, port in $port); an ops user.
serve() {
    local dir="$work/$1"
    port=$(free_port)
    "$keys" api-token --name bench-admin --role admin --file "$dir/tokens" >"$dir/admin.token"
    cat >"$dir/posfleetd.conf" <<CONF
store.path = $dir/posfleetd.db
http.addr = 127.0.0.1
http.port = $port
http.tls = off
http.tokens = $dir/tokens
http.console_dir = $src/console
mqtt.host = 127.0.0.1
mqtt.port = $(free_port)
log_level = warn
store.health_keep = 50000
CONF
    "$serverd" -c "$dir/posfleetd.conf" >"$dir/posfleetd.log" 2>&1 &
    pid=$!
    for _ in $(seq 600); do
        curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break
        sleep 0.1 # polling posfleetd's start (a condition with a 60 s deadline)
    done
    curl -sf -o /dev/null -H "Authorization: Bearer $(cat "$dir/admin.token")" \
        -H 'Content-Type: application/json' --data \
        '{"name":"bench.ops","role":"ops","org":"headquarters","password":"correct horse battery"}' \
        "http://127.0.0.1:$port/v1/users" || { echo "user add failed" >&2; exit 1; }
}

# measure N: prints "page median_ms fcp_ms" lines and "health median_ms".
measure() {
    local dir="$work/$1"
    serve "$1"
    "$py" "$src/tests/bench/console_paint.py" --url "http://localhost:$port" \
        --user bench.ops --password "correct horse battery" --loads "$loads" \
        --chromium "$chrome" --driver "$driver" --profile "$dir/chromium" \
        --page "terminal30d=terminal=terminal/PF0000001?range=30" \
        --page "terminal1d=terminal=terminal/PF0000002?range=30" >"$dir/paint.txt"
    for _ in $(seq "$loads"); do
        curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $(cat "$dir/admin.token")" \
            "http://127.0.0.1:$port/v1/devices/PF0000001?health=1000"
    done | sort -n | awk '{a[NR]=$1} END {printf "health %.1f\n", a[int((NR+1)/2)]*1000}' >>"$dir/paint.txt"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=
    cat "$dir/paint.txt" >&2
}

seed "$small"
seed "$big"
echo "load average after the fill: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
measure "$small"
measure "$big"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

get() { awk -v k="$2" '$1 == k {print $2}' "$work/$1/paint.txt"; }
for what in dashboard terminals health terminal30d; do
    b=$(get "$big" "$what")
    s=$(get "$small" "$what")
    case $what in
    dashboard) fig="dashboard first meaningful paint" ;;
    terminals) fig="terminals list first meaningful paint" ;;
    health) fig="terminal health answer (43,200 reports stored, 1,000 returned)" ;;
    terminal30d) fig="terminal page, 30-day charts drawn (PF0000001: 43,200 reports drawn as 600 points)" ;;
    esac
    ratio=$(awk -v b="$b" -v s="$s" 'BEGIN {printf "%.2f", (s > 0 ? b / s : 0)}')
    if [ "$what" = terminal30d ]; then # the baseline: 1 day of reports, same store, same run
        s=$(get "$big" terminal1d)
        ratio=$(awk -v b="$b" -v s="$s" 'BEGIN {printf "%.2f", (s > 0 ? b / s : 0)}')
        met=$(awk -v b="$b" 'BEGIN {print (b <= 1000) ? "yes" : "no"}')
        printf 'ROW|%s, %d terminals (median of %d loads)|%.0f ms|PF0000002 with 1 day (1,440 reports): %.0f ms|%s|<= 1000 ms|%s\n' \
            "$fig" "$big" "$loads" "$b" "$s" "$ratio" "$met"
        continue
    fi
    met=$(awk -v b="$b" 'BEGIN {print (b <= 1000) ? "yes" : "no"}')
    printf 'ROW|%s, %d terminals (median of %d loads)|%.0f ms|%d terminals: %.0f ms|%s|<= 1000 ms|%s\n' \
        "$fig" "$big" "$loads" "$b" "$small" "$s" "$ratio" "$met"
done
