#!/usr/bin/env bash
# bench_rollout_fleet.sh - a 4-stage firmware rollout taken end to end over TERMINALS
# (10,000) simulated terminals on this machine: wall time from create to completed, the
# peak of concurrent downloads, and the bundle bytes posfleetd moved (docs/rollouts.md).
#
# Setup (not timed): a local Mosquitto and posfleetd (posfleetd's defaults except the
# test stack's, rollout.join_scan_s = 3600 so no registration scan runs, and TICK_MS when
# set), TERMINALS terminals imported with their certificates and run by one posfleet-sim
# with the update engine (every terminal a real agent core over TLS with its own
# certificate, A/B slot files in its state directory on /dev/shm; a reboot starts its agent
# again, a new TLS session through the sim's connect gate at RATE per second), reporting
# every INTERVAL s (posfleetd's report_interval_s the same); one signed PX-500/r1 firmware
# bundle 2.0.0 with a BUNDLE_KIB payload uploaded.
#
# Measured: `posfleet rollout create BUNDLE --stages 1%,10%,50%,100% --soak SOAKs
# --window 00:00-24:00 --max-concurrent MAX_CONCURRENT`, wall time from just before the CLI
# starts until posfleetd's own time of completion (the rollout's updated_ms; the same
# clock); the store is polled every second to see the end: a bench that forks a sqlite3
# shell every 50 ms took about a fifth of this 2-core machine from the rollout it measured
# (perf record -a, 2026-12-08). posfleetd's created_ms -> updated_ms and each stage's
# opened/settled times are logged.
#   Peak concurrent downloads, exact: from posfleetd's record of the terminals' update events
#   (update_events.recv_ms), a terminal downloads from its `accepted` event (it requests the
#   bundle's metadata chunks at once) until its `verifying` event (the payload is complete
#   and its digest checked) or an outcome; the largest number of overlapping intervals. The
#   same way, in progress (posfleetd's offer created_ms until the outcome event: what
#   max_concurrent limits). Sampled: the rollout's counters (rollout_counts, what
#   `GET /v1/rollouts/ID` reports: offered, downloading, installing) read from the store with
#   the sqlite3 shell every SAMPLE_MS (a reader beside posfleetd, no load on its HTTP loop).
#   Bytes moved: posfleetd's posfleet_chunk_bytes_total (GET /metrics: data bytes of the
#   chunk frames it published) across the rollout, against the floor members x the bytes a
#   terminal requests (the four metadata entries and the payload of the bundle's tar); the
#   terminals' side: the target slot file of every terminal holds the payload (sha256).
#   Floor (issue 15): the bytes moved at the one-terminal chunk transfer rate, plus the
#   stages' soaks (the last stage soaks too before the rollout completes). The rate is
#   measured in the same run, on the same broker and posfleetd, before the fleet starts:
#   one real posfleet-agent (PX-500/r2, not a target of the rollout's r1 bundle, so never a
#   member; the agent's default chunk size and window, as every simulated terminal uses;
#   slots and state on /dev/shm like theirs) downloads a TRANSFER_MIB firmware bundle, PROBES
#   times (one bundle each); rate = the median of payload bytes / (terminal time of its
#   `verifying` event - of its `downloading 0 %` event), as bench_transfer.sh measures it.
# Checked at the end (a failure fails the bench): completed, every member installed,
# counters exact (ro_exact), every terminal reporting 2.0.0 to posfleetd; logged: terminals
# offered more than once, chunk errors, the sim's reboots.
#
# Stragglers (issue 15): NO_ANSWER_PCT and DEFER_PCT give that share of the fleet
# posfleet-sim's no_answer fault (never answers an offer) and battery_low (defers every
# offer); the rollout is then created from a definition with offer_timeout_s OFFER_TIMEOUT,
# defer_limit_s DEFER_LIMIT (max_deferrals 0) and a deadline DEADLINE_S after creation, and
# must end completed before it with exactly those terminals timed_out and deferred_out and
# every other one installed.
#
# Knobs: TERMINALS=10000 MAX_CONCURRENT=500 SOAK=5 BUNDLE_KIB=128 RATE=300 INTERVAL=60
# SAMPLE_MS=1000 TICK_MS= (posfleetd's default rollout.tick_ms, 1000, when empty)
# NO_ANSWER_PCT=0 DEFER_PCT=0 OFFER_TIMEOUT=60 DEFER_LIMIT=60 DEADLINE_S=3600
# KEEP_STORE= (a file: posfleetd's store is copied there at the end, failed or not, for
# a closer look at the update events) TRANSFER_MIB=32 PROBES=3 RESEND= (posfleet-sim --resend; the agent's default, 30 s, when empty)
# SIM_BIN= (posfleet-sim of this build when empty) ONLINE_S= (the wait for the whole fleet
# online, TERMINALS / RATE × 3 + 180 s when empty; at load 30 TLS handshakes take far longer).
# 10,000 terminals need 10,064 descriptors in the simulator and ~10,000 in the broker: the
# soft limit is raised to the hard one (inherited by both), and the bench stops at once
# when that is too low.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/stack.sh"
. "$(dirname "$0")/../integration/update_lib.sh"
. "$(dirname "$0")/../integration/rollout_lib.sh"

TERMINALS=${TERMINALS:-10000}
MAX_CONCURRENT=${MAX_CONCURRENT:-500}
SOAK=${SOAK:-5}
BUNDLE_KIB=${BUNDLE_KIB:-128}
RATE=${RATE:-300}
INTERVAL=${INTERVAL:-60}
SAMPLE_MS=${SAMPLE_MS:-1000}
TICK_MS=${TICK_MS:-}
NO_ANSWER_PCT=${NO_ANSWER_PCT:-0}
DEFER_PCT=${DEFER_PCT:-0}
OFFER_TIMEOUT=${OFFER_TIMEOUT:-60}
DEFER_LIMIT=${DEFER_LIMIT:-60}
DEADLINE_S=${DEADLINE_S:-3600}
TRANSFER_MIB=${TRANSFER_MIB:-32}
PROBES=${PROBES:-3}
KEEP_STORE=${KEEP_STORE:-}
RESEND=${RESEND:-}
ONLINE_S=${ONLINE_S:-$((TERMINALS / RATE * 3 + 180))}
faults=()
[[ $NO_ANSWER_PCT != 0 ]] && faults+=(--fault "no_answer=$NO_ANSWER_PCT")
[[ $DEFER_PCT != 0 ]] && faults+=(--fault "battery_low=$DEFER_PCT")
STAGES="1%,10%,50%,100%"
# SIM_BIN: another posfleet-sim (an older build's) for a before/after with the same stack.
PF_SIM=${SIM_BIN:-$PF_SIM}
N=$TERMINALS
pf_require_bin "$PF_SIM"
pf_require_bin "$PF_PACK"
if nm -an "$PF_BUILD/server/posfleetd" 2>/dev/null | grep -q __asan_init; then
    pf_log "warning: posfleetd is built with AddressSanitizer; figures will be meaningless"
fi
now_ms() { date +%s%3N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
secs() { awk -v m="$1" 'BEGIN { printf "%.1f", m / 1000 }'; }
nf=$(echo "$N" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta')
pf_log "load before: $(uptime)"
ulimit -n "$(ulimit -Hn)"
nofile=$(ulimit -n)
[[ $nofile == unlimited ]] || ((nofile >= N + 200)) ||
    pf_fail "$N terminals need $((N + 200)) descriptors in the simulator and the broker; the hard limit is $nofile"

# ---- the stack (ro_stack's, with the report interval and the rate of this bench) --------------
export PF_REPORT_INTERVAL=$INTERVAL
upd_keys_init
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
upd_server_start "rollout.join_scan_s = 3600${TICK_MS:+
rollout.tick_ms = $TICK_MS}"
RO_WORK=$(pf_tmpdir rollout)
[[ -z "$KEEP_STORE" ]] || pf_at_exit "sqlite3 '$PF_STORE' \".backup '$KEEP_STORE'\""

# ---- the floor's transfer rate: one real agent, before the fleet ------------------------------
pf_cli device add RFX-RATE --model PX-500 --hw-rev r2 >/dev/null
# Its slots and state on tmpfs, as the simulated terminals' are (not the disk of PF_TMP).
RATE_DIR=$(mktemp -d "$([[ -w /dev/shm ]] && echo /dev/shm || echo "$PF_TMP")/pf-rorate.XXXXXX")
pf_at_exit "rm -rf '$RATE_DIR'"
mkdir -p "$PF_TMP/agents"
ln -s "$RATE_DIR" "$PF_TMP/agents/RFX-RATE"
upd_agent_start RFX-RATE "update.storage_margin_kb=0" "update.stall_s=60"
mkdir -p "$PF_TMP/agents/RFX-RATE/hal"
pf_hal_set RFX-RATE storage_free_kb $((TRANSFER_MIB * 4096))
pf_wait_for 30 "RFX-RATE online" pf_device_online RFX-RATE
# PROBES downloads, one after the other, each its own bundle (9.N.0); the rate is their
# median, since one probe's rate swings with the machine's load.
rates=()
for ((p = 0; p < PROBES; p++)); do
    head -c $((TRANSFER_MIB * 1048576)) /dev/urandom >"$RO_WORK/rate.img"
    upd_pack_fw "9.$p.0" "$RO_WORK/rate.img" "$RO_WORK/rate.tar"
    rm -f "$RO_WORK/rate.img"
    upd_offer RFX-RATE "$(upd_upload "$RO_WORK/rate.tar")"
    upd_wait_status RFX-RATE success 600
    # The events sent just before the reboot may come again only after it (the agent's resend).
    pf_wait_for 60 "RFX-RATE's verifying event of 9.$p.0" eval \
        "(( \$(pf_sql \"select count(*) from update_events where serial = 'RFX-RATE' and version = '9.$p.0' and status = 'verifying'\") > 0 ))"
    ms=$(pf_sql "select (select min(ts_ms) from update_events where serial = 'RFX-RATE'
        and version = '9.$p.0' and status = 'verifying') - (select min(ts_ms) from
        update_events where serial = 'RFX-RATE' and version = '9.$p.0' and status = 'downloading')")
    ((ms > 0)) || ms=1
    rates+=("$(awk -v b=$((TRANSFER_MIB * 1048576)) -v ms="$ms" 'BEGIN { printf "%.1f", b / 1048576 / (ms / 1000) }')")
    pf_log "one-terminal chunk transfer $((p + 1))/$PROBES: $TRANSFER_MIB MiB in $ms ms = ${rates[-1]} MiB/s; load $(cut -d' ' -f1-3 /proc/loadavg)"
done
rate=$(printf '%s\n' "${rates[@]}" | sort -g | awk '{ v[NR] = $1 } END { printf "%.1f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
pf_log "one-terminal chunk transfer rate: median $rate MiB/s of ${rates[*]}"
pf_kill agent-RFX-RATE 10
pf_wait_for 60 "RFX-RATE offline" eval "! pf_device_online RFX-RATE"
RO_STATE=$(mktemp -d "$([[ -w /dev/shm ]] && echo /dev/shm || echo "$PF_TMP")/pf-rofleet.XXXXXX")
pf_at_exit "pf_alive sim && pf_kill sim 60; rm -rf '$RO_STATE'"
export POSFLEET_KEYS="$PF_KEYS"
t=$(date +%s)
"$PF_SIM" --count "$N" --prefix RF --seed 11 --emit-csv "$RO_WORK/fleet.csv"
pf_cli device import "$RO_WORK/fleet.csv" --pki "$PF_PKI" \
    --credentials-out "$RO_WORK/creds" >/dev/null
pf_log "imported $N terminals and issued their certificates in $(($(date +%s) - t)) s"
t0=$(now_ms)
ro_sim_start --rate "$RATE" --interval "$INTERVAL" ${RESEND:+--resend "$RESEND"} "${faults[@]}"
online() { pf_cli --json summary | pf_json_get '$.online'; }
pf_wait_for "$ONLINE_S" "posfleetd to see all $N online" \
    eval "pf_alive sim && [[ \$(online) == $N ]]"
pf_log "$N terminals online in $(($(now_ms) - t0)) ms; load $(load)"
# The simulator writes the faults it gave before it connects anything.
# The two faults are drawn independently: a terminal given both never answers (it has no update
# engine to defer with), so it times out and does not count among the deferring.
silent=$(ro_sim_serials no_answer | wc -l)
deferring=$(comm -23 <(ro_sim_serials battery_low) <(ro_sim_serials no_answer) | wc -l)
want=$((N - silent - deferring))

# ---- the bundle -----------------------------------------------------------------------------
head -c $((BUNDLE_KIB * 1024)) /dev/urandom >"$RO_WORK/fw.img"
"$PF_PACK" create --kind firmware --version 2.0.0 --model PX-500 --hw-rev r1 \
    --keyring "$UPD_KEYS" --key "$UPD_KEYS/signing/fw.key" -o "$RO_WORK/fw.tar" \
    "$RO_WORK/fw.img" >/dev/null || pf_fail "posfleet-pack create"
fw=$(upd_upload "$RO_WORK/fw.tar")
[[ -n "$fw" ]] || pf_fail "bundle upload"
# What one terminal requests: the data of every tar entry (four metadata entries, the payload).
tar -tvf "$RO_WORK/fw.tar" >"$RO_WORK/fw.list"
pf_log "bundle $fw, $(stat -c %s "$RO_WORK/fw.tar") bytes: $(awk '{ printf "%s %s; ", $6, $3 }' "$RO_WORK/fw.list")"
[[ $(wc -l <"$RO_WORK/fw.list") == 5 ]] || pf_fail "the bundle has not 5 entries"
per_term=$(awk '{ s += $3 } END { print s }' "$RO_WORK/fw.list")
img_sum=$(sha256sum <"$RO_WORK/fw.img" | cut -d' ' -f1)

metric() { curl -sSf "$POSFLEET_URL/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
hz=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
srv=$(pf_pid_of posfleetd)
sim=$(pf_pid_of sim)

# ---- the rollout ----------------------------------------------------------------------------
# sample ID: the rollout's counters every SAMPLE_MS,
# "ms offered downloading installing installed load1".
sample() {
    local pause
    pause=$(awk -v m="$SAMPLE_MS" 'BEGIN { print m / 1000 }')
    while :; do
        sqlite3 -batch -noheader -separator ' ' "$PF_STORE" "select $(now_ms),
            coalesce(sum(n) filter (where status = 'offered'), 0),
            coalesce(sum(n) filter (where status = 'downloading'), 0),
            coalesce(sum(n) filter (where status = 'installing'), 0),
            coalesce(sum(n) filter (where status = 'installed'), 0),
            '$(cut -d' ' -f1 /proc/loadavg)'
            from rollout_counts where rollout = $1" >>"$RO_WORK/samples" 2>/dev/null || true
        sleep "$pause" # the sampling period (a measurement, not a wait for a condition)
    done
}
bytes0=$(metric posfleet_chunk_bytes_total)
dup0=$(metric posfleet_update_events_duplicate_total)
s0=$(ticks "$srv"); b0=$(ticks "$PF_BROKER_PID"); m0=$(ticks "$sim")
pf_log "rollout: $STAGES, soak ${SOAK}s, max $MAX_CONCURRENT concurrent; load $(load)"
t0=$(now_ms)
if ((${#faults[@]})); then
    pf_log "stragglers: $silent never answer, $deferring always defer; offer_timeout_s $OFFER_TIMEOUT, defer_limit_s $DEFER_LIMIT, deadline in $DEADLINE_S s"
    cat >"$RO_WORK/def.json" <<JSON
{"name": "bench fleet", "bundle": "$fw", "stages": ["1%", "10%", "50%", "100%"],
 "soak_s": $SOAK, "window": {"start": "00:00", "end": "24:00"}, "max_concurrent": $MAX_CONCURRENT,
 "offer_timeout_s": $OFFER_TIMEOUT, "max_deferrals": 0, "defer_limit_s": $DEFER_LIMIT,
 "deadline": "$(date -u -d "+$DEADLINE_S seconds" +%Y-%m-%dT%H:%M:%SZ)"}
JSON
    pf_cli --json rollout create --definition "$RO_WORK/def.json" >"$RO_WORK/create.json"
else
    pf_cli --json rollout create "$fw" --name "bench fleet" --stages "$STAGES" --soak "${SOAK}s" \
        --window 00:00-24:00 --max-concurrent "$MAX_CONCURRENT" >"$RO_WORK/create.json"
fi
id=$(pf_json_get '$.id' <"$RO_WORK/create.json")
pf_spawn sampler sample "$id"
[[ $(pf_json_get '$.members' <"$RO_WORK/create.json") == "$N" ]] || pf_fail "plan has not $N members"
state() { pf_sql "select state from rollouts where id = $id"; }
left_running() {
    local s
    s=$(state)
    [[ -n "$s" && "$s" != running && "$s" != scheduled ]]
}
deadline=$(($(now_ms) + (N / 2 + 900) * 1000))
until left_running; do
    (($(now_ms) < deadline)) || pf_fail "timed out waiting for rollout $id to leave running"
    sleep 1 # polling period, kept long: see "Measured" above
done
s1=$(ticks "$srv"); b1=$(ticks "$PF_BROKER_PID"); m1=$(ticks "$sim")
pf_kill sampler
[[ $(state) == completed ]] ||
    pf_fail "rollout $id is $(state): $(ro_json "$id" '$.pause') $(ro_json "$id" '$.totals')"
read -r c_ms u_ms < <(pf_sql "select created_ms, updated_ms from rollouts where id = $id" | tr '|' ' ')
wall=$((u_ms - t0))
bytes=$(($(metric posfleet_chunk_bytes_total) - bytes0))
dups=$(($(metric posfleet_update_events_duplicate_total) - dup0))
events=$(pf_sql "select count(*) from update_events where bundle = '$fw'")
cpu() { awk -v d="$1" -v hz="$hz" 'BEGIN { printf "%.1f", d / hz }'; }
cpus="posfleetd CPU $(cpu $((s1 - s0))) s, broker $(cpu $((b1 - b0))) s, sim $(cpu $((m1 - m0))) s"
pf_log "rollout $id completed in $wall ms; $cpus; load $(load)"
pf_log "posfleetd: created -> completed (updated_ms) $((u_ms - c_ms)) ms"
stage_times=$(pf_sql "select idx, opened_ms, settled_ms from rollout_stages where rollout = $id
    order by idx" | awk -F'|' -v c="$c_ms" -v u="$u_ms" '
    { o[NR] = $2; s[NR] = $3; n = NR }
    END { for (i = 1; i <= n; i++) {
        nx = (i < n) ? o[i + 1] : u
        printf "%s%.1f", (i > 1) ? "/" : "", (nx - o[i]) / 1000 } }')
pf_log "stages (opened -> next opened or completed, s): $stage_times"
pf_sql "select idx, opened_ms - $c_ms, settled_ms - $c_ms from rollout_stages where rollout = $id
    order by idx" | while IFS='|' read -r k o s; do
    pf_log "  stage $((k + 1)): opened +$o ms, settled +$s ms"
done

# ---- end state ------------------------------------------------------------------------------
[[ $(ro_count "$id" installed) == "$want" ]] ||
    pf_fail "$(ro_count "$id" installed) installed, want $want: $(ro_json "$id" '$.totals')"
[[ $(ro_count "$id" timed_out) == "$silent" ]] ||
    pf_fail "$(ro_count "$id" timed_out) timed out, want $silent: $(ro_json "$id" '$.totals')"
[[ $(ro_count "$id" deferred_out) == "$deferring" ]] ||
    pf_fail "$(ro_count "$id" deferred_out) deferred out, want $deferring: $(ro_json "$id" '$.totals')"
ro_exact "$id"
pf_wait_for 120 "posfleetd to see every installed terminal on 2.0.0" eval \
    "[[ \$(pf_sql \"select count(*) from device_state where fw_version = '2.0.0'\") == $want ]]"
twice=$(pf_sql "select count(*) from (select serial from update_offers where bundle = '$fw'
    group by serial having count(*) > 1)")
attempts=$(pf_sql "select max(attempts) from rollout_members where rollout = $id")
cerr=$(curl -sSf "$POSFLEET_URL/metrics" | awk '/^posfleet_chunk_errors_total/ { printf "%s ", $0 }')
reboots=$(pf_json_get '$.reboots' <"$RO_WORK/status.json")
pf_log "end state: $want installed, $silent timed out, $deferring deferred out, counters exact, $want on 2.0.0; terminals offered twice: $twice (max attempts $attempts); sim reboots $reboots; $cerr"

# ---- peaks ----------------------------------------------------------------------------------
# peak SQL-START SQL-END: the most intervals [start, end) of this bundle's offers overlapping,
# each end counted before a start of the same millisecond.
peak() {
    pf_sql "with iv as (select o.id, $1 as s, $2 as e from update_offers o
            join update_events v on v.offer = o.id where o.bundle = '$fw' group by o.id),
        ev as (select s as t, 1 as d from iv where s is not null
            union all select e, -1 from iv where s is not null and e is not null)
        select coalesce(max(c), 0) from (select sum(d) over (order by t, d
            rows between unbounded preceding and current row) as c from ev)"
}
dl=$(peak "min(case when v.status = 'accepted' then v.recv_ms end)" \
    "min(case when v.status in ('verifying', 'installing', 'rebooting', 'success', 'failed',
        'refused', 'rolled_back') then v.recv_ms end)")
prog=$(peak "o.created_ms" \
    "min(case when v.status in ('success', 'failed', 'refused', 'rolled_back') then v.recv_ms end)")
read -r sp_dl sp_prog nsamples lo hi < <(awk '{ if ($3 > d) d = $3; if ($2 + $3 + $4 > p) p = $2 + $3 + $4
        if (NR == 1 || $6 < lo) lo = $6; if ($6 > hi) hi = $6 }
    END { print d + 0, p + 0, NR, lo + 0, hi + 0 }' "$RO_WORK/samples")
ld="1-min load $lo–$hi during the rollout"
pf_log "peak downloading: $dl exact (update events), $sp_dl sampled; in progress: $prog exact, $sp_prog sampled ($nsamples samples)"
# Offer delivery: posfleetd's offer created_ms to the terminal's own time of accepting it
# (same machine clock), and the accepted event's way back (terminal ts_ms to recv_ms).
pf_sql "select v.ts_ms - o.created_ms, v.recv_ms - v.ts_ms from update_offers o
    join update_events v on v.offer = o.id and v.status = 'accepted' where o.bundle = '$fw'" |
    tr '|' ' ' >"$RO_WORK/latency"
read -r lat50 lat99 latmax < <(cut -d' ' -f1 "$RO_WORK/latency" | sort -n |
    awk '{ a[NR] = $1 } END { printf "%.1f %.1f %.1f\n", a[int((NR + 1) / 2)] / 1000, a[int(NR * 0.99 + 0.5)] / 1000, a[NR] / 1000 }')
pf_log "offer created -> accepted on the terminal: p50 $lat50 s, p99 $lat99 s, max $latmax s; accepted event -> posfleetd: p50 $(cut -d' ' -f2 "$RO_WORK/latency" | sort -n |
    awk '{ a[NR] = $1 } END { printf "%d ms, max %d ms", a[int((NR + 1) / 2)], a[NR] }')"
pf_log "update events: $events recorded, $dups duplicates (resent before posfleetd's ack arrived)"
((prog <= MAX_CONCURRENT)) || pf_log "warning: $prog offers in progress at once, limit $MAX_CONCURRENT"

# ---- bytes ----------------------------------------------------------------------------------
floor=$((want * per_term))
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
good=$(find "$RO_STATE" -name slot_b -type f -print0 | xargs -0 -r sha256sum |
    awk -v h="$img_sum" '$1 == h { n++ } END { print n + 0 }')
pf_log "bytes: $bytes chunk data bytes, floor $want x $per_term = $floor; slot files holding the payload: $good of $want"
[[ $good == "$want" ]] || pf_fail "$good of $want installed terminals hold the payload in slot B"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
conf="soak $SOAK s, max $MAX_CONCURRENT concurrent, bundle $BUNDLE_KIB KiB"
((${#faults[@]})) && conf="$conf; $silent never answer, $deferring always defer: $silent timed out, $deferring deferred out"
nst=$(pf_sql "select count(*) from rollout_stages where rollout = $id")
floor_ms=$(awk -v b="$bytes" -v r="$rate" -v n="$nst" -v s="$SOAK" \
    'BEGIN { printf "%d", b / 1048576 / r * 1000 + n * s * 1000 }')
per_dup=$(awk -v d="$dups" -v e="$events" 'BEGIN { printf "%.3f", (e > 0) ? d / e : 0 }')
met=$(awk -v w="$wall" -v f="$floor_ms" 'BEGIN { print (w <= 2 * f) ? "yes" : "no" }')
pf_log "floor: $(mib "$bytes") at $rate MiB/s + $nst × $SOAK s soak = $(secs "$floor_ms") s; create → completed $(secs "$wall") s = $(ratio "$wall" "$floor_ms") × floor; duplicates $per_dup per event"
echo "ROW|4-stage rollout ($STAGES), $nf sim terminals end to end, create → completed ($conf)|$(secs "$wall") s (stages $stage_times s; offer → accepted on the terminal p50 $lat50 s, max $latmax s; $events update events + $dups duplicates, $per_dup per event; $cpus; $ld)|floor $(secs "$floor_ms") s ($(mib "$bytes") at the one-terminal rate $rate MiB/s measured in the run + $nst × $SOAK s soaks)|$(ratio "$wall" "$floor_ms")|≤ 2 × floor|$met"
echo "ROW|peak concurrent downloads in that rollout (accepted → verifying, exact from posfleetd's update events)|$dl (sampled every $SAMPLE_MS ms from the rollout's counters: $sp_dl downloading; in progress $prog exact, $sp_prog sampled; $ld)|max_concurrent: $MAX_CONCURRENT|$(ratio "$dl" "$MAX_CONCURRENT")|record|yes"
echo "ROW|bytes moved in that rollout (posfleetd posfleet_chunk_bytes_total)|$(mib "$bytes") ($bytes B; all $want installed terminals' slot files hold the payload; $ld)|floor $want × $per_term B: $(mib "$floor")|$(ratio "$bytes" "$floor")|record|yes"
pf_log "load after: $(uptime)"
