#!/usr/bin/env bash
# bench_registry.sh - the registry at 1,000,000 terminals, most never connected.
#
# Import: `posfleet device import` of TERMINALS rows (one CSV, one transaction, audit row
# and registry counts per terminal), wall time of the CLI, side by side with the sqlite3
# shell's `.import` of the same CSV into the same `devices` table shape (no audit, no
# triggers: the floor of a bulk insert). Then CONNECTED of them connect through
# posfleet-sim (some with paper out), and with the server live the CLI's `posfleet
# summary` and filtered `posfleet devices` pages are timed (wall time of the whole
# command: process start, HTTP, JSON, rendering), median of REPS, side by side with the
# sqlite3 shell running the equivalent SQL on the same database file.
#
# Knobs: TERMINALS=1000000 CONNECTED=1000 REPS=21.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/stack.sh"

TERMINALS=${TERMINALS:-1000000}
CONNECTED=${CONNECTED:-1000}
REPS=${REPS:-21}
PF_SIM="$PF_BUILD/tests/sim/posfleet-sim"
pf_require_bin "$PF_SIM"
shm=$( [[ -w /dev/shm ]] && echo /dev/shm || echo "$PF_TMP")
state=$(mktemp -d "$shm/pf-bench-registry.XXXXXX")
pf_at_exit "rm -rf '$state'"

pf_pki_init "$state/pki"
pf_broker_start "$PF_PKI"
PF_REPORT_INTERVAL=60 pf_server_start

csv="$state/fleet.csv"
"$PF_SIM" --count "$TERMINALS" --prefix RG --models PX-500:5,A920:3,V240m:2 --emit-csv "$csv"
now_ms() { date +%s%3N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
nf=$(printf "%'d" "$TERMINALS")

# ---- import ------------------------------------------------------------------------------
t0=$(now_ms)
pf_cli device import "$csv" >&2
imp=$(($(now_ms) - t0))
[[ $(pf_cli --json summary | pf_json_get '$.total') == "$TERMINALS" ]] || pf_fail "import incomplete"
base_db="$state/baseline.db"
t0=$(now_ms)
sqlite3 -batch "$base_db" <<SQL >/dev/null
PRAGMA journal_mode = WAL;
CREATE TABLE devices (serial TEXT PRIMARY KEY NOT NULL, model TEXT NOT NULL, hw_rev TEXT,
    merchant_id TEXT, status TEXT NOT NULL DEFAULT 'registered', created_ms INTEGER NOT NULL,
    revoked_ms INTEGER) WITHOUT ROWID;
CREATE INDEX devices_model ON devices (model);
CREATE INDEX devices_status ON devices (status);
CREATE TEMP TABLE rows (serial TEXT, model TEXT, hw_rev TEXT);
.import --csv --skip 1 $csv rows
INSERT INTO devices (serial, model, hw_rev, created_ms) SELECT serial, model, hw_rev, 0 FROM rows;
SQL
base_imp=$(($(now_ms) - t0))
pf_log "import: posfleet $imp ms, sqlite3 $base_imp ms"
secs() { awk -v m="$1" 'BEGIN { printf "%.1f", m / 1000 }'; }
echo "ROW|registry import, $nf terminals (posfleet device import)|$(secs "$imp") s|sqlite3 .import, same table: $(secs "$base_imp") s|$(ratio "$imp" "$base_imp")|< 60 s|$( ((imp < 60000)) && echo yes || echo no)"

# ---- a few of them connect (the rest never do) ------------------------------------------------
sed -n "2,$((CONNECTED + 1))p" "$csv" | cut -d, -f1 >"$state/connected.serials"
"$PF_KEYS" device-cert --dir "$PF_PKI" --serials "$state/connected.serials" >/dev/null
{
    echo "serial,model,hw_rev,cert,key"
    sed -n "2,$((CONNECTED + 1))p" "$csv" | awk -F, -v d="$PF_PKI/devices" \
        '{ printf "%s,%s,%s,%s/%s.crt,%s/%s.key\n", $1, $2, $3, d, $1, d, $1 }'
} >"$state/creds"
pf_spawn sim "$PF_SIM" --credentials "$state/creds" --broker "127.0.0.1:$PF_BROKER_PORT" \
    --ca "$PF_PKI/ca.crt" --rate 500 --interval 60 --fault paper_out=5 --state-dir "$state/agents" \
    --quiet
want_alerts=$((CONNECTED * 5 / 100))
pf_wait_for 120 "$CONNECTED terminals online" \
    eval "[[ \$(pf_cli --json summary | pf_json_get '\$.online') == $CONNECTED ]]"
pf_wait_for 60 "$want_alerts paper_out alerts" \
    eval "[[ \$(pf_cli --json summary | pf_json_get '\$.alerts.paper_out') == $want_alerts ]]"

# ---- queries, side by side ----------------------------------------------------------------------
# time_ms CMD...: wall time of one run in ms (output discarded; failure fails the bench).
time_ms() {
    local t
    t=$(date +%s%N)
    "$@" >/dev/null 2>>"$state/stderr" || pf_fail "failed: $* ($(tail -1 "$state/stderr"))"
    awk -v a="$t" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f\n", (b - a) / 1e6 }'
}
sq() { sqlite3 -batch -noheader "$PF_STORE" "$1"; }
summary_sql="SELECT status, sum(n) FROM device_counts GROUP BY status;
SELECT coalesce(sum(s.online=1),0), coalesce(sum(s.online=0),0) FROM device_state s
  CROSS JOIN devices d ON d.serial = s.serial WHERE d.status = 'registered';
SELECT kind, count(*) FROM alerts WHERE closed_ms IS NULL GROUP BY kind ORDER BY kind;
SELECT model, sum(n) FROM device_counts GROUP BY model ORDER BY model;
SELECT s.fw_version, count(*) FROM device_state s CROSS JOIN devices d ON d.serial = s.serial
  WHERE s.fw_version IS NOT NULL AND d.status = 'registered' GROUP BY s.fw_version ORDER BY 1;"
page_cols="d.serial, d.model, d.hw_rev, d.merchant_id, d.status, d.created_ms, s.online,
  s.last_seen_ms, s.fw_version, h.battery_pct, h.paper, h.tamper,
  (SELECT group_concat(kind) FROM alerts a WHERE a.serial = d.serial AND a.closed_ms IS NULL)"
page_from="FROM devices d LEFT JOIN device_state s ON s.serial = d.serial
  LEFT JOIN device_birth b ON b.serial = d.serial LEFT JOIN health h ON h.id = s.health_id"
model_sql="SELECT $page_cols $page_from WHERE d.model = 'A920' ORDER BY d.serial LIMIT 101;"
never_sql="SELECT $page_cols $page_from WHERE d.status = 'registered' AND s.serial IS NULL
  ORDER BY d.serial LIMIT 101;"
online_sql="SELECT $page_cols FROM device_state s CROSS JOIN devices d ON d.serial = s.serial
  LEFT JOIN device_birth b ON b.serial = d.serial LEFT JOIN health h ON h.id = s.health_id
  WHERE d.status = 'registered' AND s.online = 1 ORDER BY s.serial LIMIT 101;"
alert_sql="SELECT $page_cols FROM alerts a0 CROSS JOIN devices d ON d.serial = a0.serial
  LEFT JOIN device_state s ON s.serial = d.serial LEFT JOIN device_birth b ON b.serial = d.serial
  LEFT JOIN health h ON h.id = s.health_id WHERE a0.kind = 'paper_out' AND a0.closed_ms IS NULL
  ORDER BY a0.serial LIMIT 101;"

# bench_row FIGURE SQL CLI-ARGS...: median CLI time vs median sqlite3 time.
bench_row() {
    local figure="$1" sql="$2" i p b
    shift 2
    : >"$state/p"; : >"$state/b"
    pf_cli "$@" >/dev/null 2>&1 # warm-up, not counted
    for ((i = 0; i < REPS; i++)); do
        time_ms pf_cli "$@" >>"$state/p"
        time_ms sq "$sql" >>"$state/b"
    done
    p=$(median <"$state/p"); b=$(median <"$state/b")
    pf_log "$figure: posfleet $p ms, sqlite3 $b ms"
    echo "ROW|$figure, $nf registered, $CONNECTED connected (median of $REPS)|$p ms|sqlite3, same SQL: $b ms|$(ratio "$p" "$b")|< 100 ms|$(awk -v p="$p" 'BEGIN { print (p < 100) ? "yes" : "no" }')"
}
bench_row "posfleet summary" "$summary_sql" summary
bench_row "posfleet devices --model A920 --limit 100" "$model_sql" devices --model A920 --limit 100
bench_row "posfleet devices --status never --limit 100" "$never_sql" devices --status never --limit 100
bench_row "posfleet devices --status online --limit 100" "$online_sql" devices --status online --limit 100
bench_row "posfleet devices --alert paper_out" "$alert_sql" devices --alert paper_out --limit 100
