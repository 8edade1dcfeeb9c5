#!/usr/bin/env bash
# bench_upload.sh - does a large bundle upload stall posfleetd? GET /metrics latency
# while a valid SIZE_MIB bundle is uploaded and verified, against the same server idle,
# and against a baseline posfleetd (another build, e.g. the previous release) in the
# same run, alternated.
#
#   tests/bench/bench_upload.sh                  (run.sh calls it so)
#   POSFLEET_BASELINE_BUILD=DIR [POSFLEET_BASELINE_NAME=TEXT] tests/bench/bench_upload.sh
#   SMOKE=1 tests/bench/bench_upload.sh          a short run (8 MiB, one repetition)
#
# Method: one broker; one signed firmware bundle of SIZE_MIB (default 256) random bytes.
# For each repetition and each build (new, then the baseline when given): posfleetd
# started on an empty store; IDLE sequential GET /metrics (curl's time_total); then the
# bundle POSTed to /v1/bundles by one curl while another curl GETs /metrics back to back
# until the upload is answered. Per build: median and p99 of every latency seen during
# the uploads and idle, over all repetitions pooled; the upload's own time (median).
# The load average is recorded at the start and end. Rows:
#   ROW|figure|posfleet|baseline|ratio|target|met
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/stack.sh"

if [[ -n "${SMOKE:-}" ]]; then
    SIZE_MIB=${SIZE_MIB:-8} REPS=${REPS:-1} IDLE=${IDLE:-20}
fi
SIZE_MIB=${SIZE_MIB:-256}
REPS=${REPS:-3}
IDLE=${IDLE:-200}
BASE_BUILD=${POSFLEET_BASELINE_BUILD:-}
BASE_NAME=${POSFLEET_BASELINE_NAME:-baseline posfleetd}
NEW_SERVERD="$PF_SERVERD"
BASE_SERVERD=${BASE_BUILD:+$BASE_BUILD/server/posfleetd}
PACK="$PF_BUILD/packaging/posfleet-pack"
pf_require_bin "$PACK"
[[ -z "$BASE_SERVERD" ]] || pf_require_bin "$BASE_SERVERD"
command -v curl >/dev/null || pf_fail "curl is needed"

pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
K="$PF_TMP/k"
"$PF_KEYS" init --dir "$K" >/dev/null
"$PF_KEYS" add --dir "$K" --role firmware --name fw >/dev/null
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$PF_TMP/fw.img"
"$PACK" create --kind firmware --version 1.0.0 --model PX-500 --hw-rev r2 --keyring "$K" \
    --key "$K/signing/fw.key" -o "$PF_TMP/fw.tar" "$PF_TMP/fw.img" >/dev/null
rm -f "$PF_TMP/fw.img"

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
p99() { sort -g | awk '{ a[NR] = $1 } END { i = int(NR * 0.99 + 0.999); if (i < 1) i = 1; print a[i] }'; }
ms() { awk '{ printf "%.1f\n", $1 * 1000 }'; }
get_ms() { curl -s -o /dev/null -m 60 -w '%{time_total}\n' "$POSFLEET_URL/metrics"; }

# one BUILD_NAME SERVERD: one repetition against that posfleetd.
one() {
    local name="$1" t0 t1 up
    PF_SERVERD="$2"
    rm -rf "$PF_TMP/server/posfleetd.db"* "$PF_TMP/server/artifacts"
    pf_server_start "update.trust_root = $K/root.pub
http.import_max = $(((SIZE_MIB + 16) * 1024 * 1024))"
    for _ in $(seq 1 "$IDLE"); do get_ms; done | ms >>"$PF_TMP/$name.idle"
    t0=$(date +%s%N)
    curl -s -o "$PF_TMP/up.out" -w '%{http_code}' -H "Authorization: Bearer $(head -1 "$PF_TOKEN_OPS")" \
        -H 'Content-Type: application/octet-stream' --data-binary @"$PF_TMP/fw.tar" \
        "$POSFLEET_URL/v1/bundles" >"$PF_TMP/up.code" &
    up=$!
    while kill -0 "$up" 2>/dev/null; do get_ms; done | ms >>"$PF_TMP/$name.busy"
    wait "$up"
    t1=$(date +%s%N)
    [[ "$(cat "$PF_TMP/up.code")" == 201 ]] || pf_fail "$name: upload answered $(cat "$PF_TMP/up.code")"
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", (b - a) / 1e9 }' >>"$PF_TMP/$name.upload"
    pf_server_stop
    pf_log "$name rep: upload $(tail -1 "$PF_TMP/$name.upload") s, $(wc -l <"$PF_TMP/$name.busy") GETs so far during uploads, load $(cut -d' ' -f1 /proc/loadavg)"
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
for rep in $(seq 1 "$REPS"); do
    one new "$NEW_SERVERD"
    [[ -z "$BASE_SERVERD" ]] || one base "$BASE_SERVERD"
done
load="load $load0 → $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"

fig() { # NAME KIND -> "median p99 n"
    printf '%s %s %s\n' "$(median <"$PF_TMP/$1.$2")" "$(p99 <"$PF_TMP/$1.$2")" "$(wc -l <"$PF_TMP/$1.$2")"
}
read -r nbm nbp nbn < <(fig new busy)
read -r nim nip _ < <(fig new idle)
nup=$(median <"$PF_TMP/new.upload")
if [[ -n "$BASE_SERVERD" ]]; then
    read -r bbm bbp bbn < <(fig base busy)
    read -r bim bip _ < <(fig base idle)
    bup=$(median <"$PF_TMP/base.upload")
    base="$BASE_NAME: p99 $bbp ms, median $bbm ms ($bbn GETs)"
    ratio=$(awk -v a="$nbp" -v b="$bbp" 'BEGIN { printf "%.3f", a / b }')
else
    base="— (no POSFLEET_BASELINE_BUILD)"
    ratio="—"
fi
met=$(awk -v p="$nbp" 'BEGIN { print (p <= 100) ? "yes" : "no" }')
echo "ROW|GET /metrics during a $SIZE_MIB MiB bundle upload and its verification, p99 / median ($REPS uploads, $load)|p99 $nbp ms, median $nbm ms ($nbn GETs)|$base|$ratio|p99 ≤ 100 ms|$met"
if [[ -n "$BASE_SERVERD" ]]; then
    echo "ROW|GET /metrics idle, p99 / median ($((REPS * IDLE)) GETs each)|p99 $nip ms, median $nim ms|baseline: p99 $bip ms, median $bim ms|—|reported|—"
    echo "ROW|the $SIZE_MIB MiB upload itself, POST to answer (median of $REPS)|$nup s|baseline: $bup s|$(awk -v a="$nup" -v b="$bup" 'BEGIN { printf "%.2f", a / b }')|reported|—"
else
    echo "ROW|GET /metrics idle, p99 / median ($((REPS * IDLE)) GETs)|p99 $nip ms, median $nim ms|—|—|reported|—"
    echo "ROW|the $SIZE_MIB MiB upload itself, POST to answer (median of $REPS)|$nup s|—|—|reported|—"
fi
