#!/usr/bin/env bash
# test_api_preauth.sh - a request that may not be made is refused on its
# headers, before posfleetd reads its body. Four parallel unauthenticated
# 120 MB uploads, two to POST /v1/bundles and two to POST /v1/devices/import
# (the routes with the 128 MiB bulk limit), must each get 401 while
# posfleetd's peak resident memory (VmHWM) grows by at most 16 MiB; when the
# bodies were buffered before the token was checked, the same four took it
# up by about 400 MiB. Four more send their bodies without waiting for
# "100 Continue": refused the same way, within the same memory bound. A
# viewer's upload gets 403 the same way, and ops can still import afterwards.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

BODY_BYTES=120000000
GROWTH_MAX_KIB=$((16 * 1024))

command -v curl >/dev/null 2>&1 || pf_fail "curl not found: apt-get install curl"
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
pf_server_start
pid="$(pf_pid_of posfleetd)"

# status_kib PID FIELD: a /proc/PID/status field in KiB (VmRSS, VmHWM).
status_kib() {
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# A sparse file: 120 MB to send, no disk space or client memory spent on it.
big="$PF_TMP/big.bin"
truncate -s "$BODY_BYTES" "$big"

# upload NAME PATH EXPECT [TOKEN_FILE]: POSTs the big file as one request with its
# Content-Length; EXPECT "wait" sends "Expect: 100-continue" as curl and libcurl
# do for large bodies, "blast" sends the body at once without waiting. Writes
# the status posfleetd answered into $PF_TMP/NAME.status (000: no answer read).
upload() {
    local name="$1" path="$2" expect=() auth=()
    [[ "$3" == blast ]] && expect=(-H 'Expect:')
    [[ "$3" == wait ]] && expect=(-H 'Expect: 100-continue' --expect100-timeout 30)
    if [[ -n "${4:-}" ]]; then
        auth=(-H "Authorization: Bearer $(cat "$4")")
    fi
    curl -s -o "$PF_TMP/$name.body" -w '%{http_code}' --max-time 120 -X POST -T "$big" \
        -H 'Content-Type: application/octet-stream' "${expect[@]}" "${auth[@]}" \
        "$POSFLEET_URL$path" >"$PF_TMP/$name.status" 2>/dev/null || true
}

# four EXPECT: four parallel unauthenticated uploads, two per bulk route,
# sampling posfleetd's VmRSS while they run (into rss_peak).
four() {
    local pids=() rss
    upload "$1-b1" /v1/bundles "$1" &
    pids+=($!)
    upload "$1-b2" /v1/bundles "$1" &
    pids+=($!)
    upload "$1-i1" /v1/devices/import "$1" &
    pids+=($!)
    upload "$1-i2" /v1/devices/import "$1" &
    pids+=($!)
    rss_peak="$(status_kib "$pid" VmRSS)"
    while kill -0 "${pids[@]}" 2>/dev/null; do
        rss="$(status_kib "$pid" VmRSS)"
        ((rss > rss_peak)) && rss_peak="$rss"
        sleep 0.05
    done
    wait "${pids[@]}"
}

# grown LABEL: fails when posfleetd's peak memory grew by more than the bound.
grown() {
    local hwm
    hwm="$(status_kib "$pid" VmHWM)"
    pf_log "$1: VmRSS peak seen $rss_peak KiB, VmHWM $hwm KiB (+$((hwm - hwm_before)) KiB)"
    ((hwm - hwm_before <= GROWTH_MAX_KIB)) ||
        pf_fail "$1: posfleetd's peak memory grew by $((hwm - hwm_before)) KiB" \
            "(more than $GROWTH_MAX_KIB): the refused bodies were read"
}

hwm_before="$(status_kib "$pid" VmHWM)"
pf_log "posfleetd $pid before: VmRSS $(status_kib "$pid" VmRSS) KiB, VmHWM $hwm_before KiB"

# Clients that wait for "100 Continue" get 401 and never send the body.
four wait
grown "4 x $BODY_BYTES B waiting for 100 Continue"
for n in b1 b2 i1 i2; do
    [[ "$(cat "$PF_TMP/wait-$n.status")" == 401 ]] ||
        pf_fail "unauthenticated upload $n: HTTP $(cat "$PF_TMP/wait-$n.status"), want 401"
    jq -e '.error == "AUTH" and .message == "missing bearer token"' "$PF_TMP/wait-$n.body" \
        >/dev/null || pf_fail "upload $n: error body $(cat "$PF_TMP/wait-$n.body"), want AUTH"
done

# Clients that send the body regardless are answered 401 on the headers and
# cut off; the answer may be lost in the reset, but nothing else is answered
# and the bodies are not kept.
four blast
grown "4 x $BODY_BYTES B sent without waiting"
for n in b1 b2 i1 i2; do
    case "$(cat "$PF_TMP/blast-$n.status")" in
    401 | 000) ;;
    *) pf_fail "unauthenticated upload $n sent at once: HTTP $(cat "$PF_TMP/blast-$n.status")" ;;
    esac
done

# A known token with too low a role is refused just as early.
upload viewer /v1/bundles wait "$PF_TOKEN_VIEWER"
[[ "$(cat "$PF_TMP/viewer.status")" == 403 ]] ||
    pf_fail "viewer upload: HTTP $(cat "$PF_TMP/viewer.status"), want 403"
grown "a viewer's upload"

# The CLI asks before it sends a large body, so the refusal arrives as an
# answer (exit 5), never as a reset in the middle of the upload (exit 3).
for n in 1 2 3; do
    rc=0
    PF_CLI_TOKEN=$PF_TOKEN_VIEWER pf_cli bundle upload "$big" >"$PF_TMP/cli-viewer.out" 2>&1 || rc=$?
    [[ $rc -eq 5 ]] || pf_fail "viewer's CLI upload $n: exit $rc, want 5: $(cat "$PF_TMP/cli-viewer.out")"
done
grown "a viewer's CLI upload"

# posfleetd is still whole: ops imports through the same route.
printf 'serial,model\nPRE-1,PX-500\nPRE-2,PX-500\n' >"$PF_TMP/ok.csv"
pf_cli device import "$PF_TMP/ok.csv" >/dev/null || pf_fail "ops import after the refusals"
pf_cli --json device PRE-2 | jq -e '.serial == "PRE-2"' >/dev/null ||
    pf_fail "PRE-2 not registered by the import"
pf_alive posfleetd || pf_fail "posfleetd died"
