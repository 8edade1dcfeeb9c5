#!/usr/bin/env bash
# test_events.sh - GET /v1/events, the server-sent events an open console page follows
# (docs/server.md, "GET /v1/events"), with curl on the stream over HTTPS:
#   - an event arrives after a change: a rollout paused through the API, a terminal tagged
#     through the API, a terminal's first health report (told once the batch is committed);
#   - keep-alive comments while nothing changes;
#   - scope: an agent's user watching its own rollout never hears of another agent's
#     rollout changing, and asking to watch that one (or its terminal) is a 404 as absent;
#   - the per-user limit (http.events_per_user = 2): the third stream is refused with 429
#     and a message naming the setting; once a stream's client went away, the next one is
#     accepted (the watcher is released when its connection is found closed);
#   - refusals: no subject, an unknown parameter, no credentials.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"

export PF_HTTP_TLS=1
PW='correct horse battery'
upd_keys_init
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
mkdir -p "$PF_TMP/server"
"$PF_KEYS" api-token --name boot-admin --role admin --file "$PF_TMP/server/tokens" \
    >"$PF_TMP/server/admin.token" || pf_fail "cannot create the admin token"
"$PF_KEYS" api-token --name test-ops --role ops --file "$PF_TMP/server/tokens" \
    >"$PF_TMP/server/ops.token" || pf_fail "cannot create the ops token"
upd_server_start "http.events_per_user = 2
http.events_keepalive_s = 1"
admin=$(cat "$PF_TMP/server/admin.token")

api() { # api TOKEN METHOD PATH [BODY]: the status, the body into $PF_TMP/api.body.
    curl -s --cacert "$POSFLEET_CACERT" -o "$PF_TMP/api.body" -w '%{http_code}' -X "$2" \
        -H "Authorization: Bearer $1" -H 'Content-Type: application/json' ${4:+--data "$4"} \
        "$POSFLEET_URL$3"
}
must() { # must STATUS TOKEN METHOD PATH [BODY]
    local got
    got=$(api "${@:2}")
    [[ "$got" == "$1" ]] || pf_fail "$3 $4: $got, want $1: $(cat "$PF_TMP/api.body")"
}
merchant() { # merchant ID USCC ORG
    must 201 "$admin" POST /v1/merchants "{\"id\":\"$1\",\"name\":\"Shop $1\",\"uscc\":\"$2\",
        \"mcc\":\"5812\",\"address\":\"1 Test Rd\",\"contact_name\":\"Li Na\",
        \"contact_phone\":\"13800000000\",\"tz\":\"Asia/Shanghai\",\"settlement\":\"T1\",
        \"fee_plan\":[\"fee-1\"]}"
    must 200 "$admin" POST "/v1/merchants/$1/approve" '{}'
    must 200 "$admin" POST "/v1/merchants/$1/activate" '{}'
    must 200 "$admin" POST "/v1/merchants/$1/org" "{\"org\":\"$3\"}"
}
login() { # login USER: its session token
    curl -sf --cacert "$POSFLEET_CACERT" -H 'Content-Type: application/json' \
        --data "{\"user\":\"$1\",\"password\":\"$PW\"}" "$POSFLEET_URL/v1/login" | pf_json_get '$.token'
}
# stream NAME TOKEN QUERY: a client on GET /v1/events?QUERY, its output in $PF_TMP/NAME.sse.
stream() {
    pf_spawn "sse-$1" curl -sN --cacert "$POSFLEET_CACERT" -D "$PF_TMP/$1.head" \
        -o "$PF_TMP/$1.sse" -H "Authorization: Bearer $2" "$POSFLEET_URL/v1/events?$3"
}
heard() { grep -qF -- "$2" "$PF_TMP/$1.sse" 2>/dev/null; } # heard NAME TEXT
count() { grep -cF -- "$2" "$PF_TMP/$1.sse" 2>/dev/null || true; }

# --- the world: agents A and B, a merchant, a terminal and a rollout each ---
must 201 "$admin" POST /v1/orgs '{"name":"agentA"}'
must 201 "$admin" POST /v1/orgs '{"name":"agentB"}'
merchant MA 9144030071526726XG agentA
merchant MB 9144030071526727XH agentB
pf_cli device add EA-1 --model PX-500 --merchant MA >/dev/null || pf_fail "device add EA-1"
pf_cli device add EB-1 --model PX-500 --merchant MB >/dev/null || pf_fail "device add EB-1"
for u in ops.a:agentA ops.b:agentB; do
    must 201 "$admin" POST /v1/users "{\"name\":\"${u%%:*}\",\"role\":\"ops\",\"org\":\"${u#*:}\",\"password\":\"$PW\"}"
done
sa=$(login ops.a) sb=$(login ops.b)
[[ -n "$sa" && -n "$sb" ]] || pf_fail "login"
head -c 4096 /dev/urandom >"$PF_TMP/fw.img"
upd_pack_fw 2.0.0 "$PF_TMP/fw.img" "$PF_TMP/fw.tar"
bundle=$(upd_upload "$PF_TMP/fw.tar")
later=$(date -u -d '+1 year' +%Y-%m-%dT%H:%M:%SZ)
rollout() { # rollout TOKEN: a scheduled rollout made in the token's organisation; its id
    must 201 "$1" POST /v1/rollouts "{\"bundle\":\"$bundle\",\"name\":\"fw 2\",\"stages\":[\"100%\"],\"start_at\":\"$later\"}"
    pf_json_get '$.id' <"$PF_TMP/api.body"
}
ra=$(rollout "$sa") rb=$(rollout "$sb")
[[ -n "$ra" && -n "$rb" && "$ra" != "$rb" ]] || pf_fail "rollouts: '$ra' '$rb'"
pf_log "world: agentA (MA, EA-1, rollout $ra), agentB (MB, EB-1, rollout $rb)"

# --- refusals, before any stream ---
must 400 "$sa" GET /v1/events
grep -q 'rollout or serial' "$PF_TMP/api.body" || pf_fail "no subject: $(cat "$PF_TMP/api.body")"
must 400 "$sa" GET "/v1/events?colour=red"
must 404 "$sa" GET "/v1/events?rollout=$rb" # another agent's rollout: absent
must 404 "$sa" GET "/v1/events?serial=EB-1"
must 404 "$sa" GET "/v1/events?rollout=$ra&serial=EB-1"
[[ $(curl -s --cacert "$POSFLEET_CACERT" -o /dev/null -w '%{http_code}' "$POSFLEET_URL/v1/events?rollout=$ra") == 401 ]] ||
    pf_fail "a stream without credentials was not refused"
pf_log "refused: no subject, unknown parameter, another agent's rollout and terminal, no credentials"

# --- an event after a change, and only of what the stream watches ---
stream a "$sa" "rollout=$ra"
stream b "$sb" "rollout=$rb"
pf_wait_for 10 "stream a open" heard a ': watching'
pf_wait_for 10 "stream b open" heard b ': watching'
grep -qi '^content-type: text/event-stream' "$PF_TMP/a.head" || pf_fail "stream a: $(cat "$PF_TMP/a.head")"
must 200 "$sb" POST "/v1/rollouts/$rb/pause" '{"reason":"agent B checks its shops"}'
pf_wait_for 10 "agent B hearing of its rollout" heard b "data: {\"rollout\":$rb}"
must 200 "$sa" POST "/v1/rollouts/$ra/pause" '{"reason":"agent A checks its shops"}'
pf_wait_for 10 "agent A hearing of its rollout" heard a "data: {\"rollout\":$ra}"
if heard a "\"rollout\":$rb}"; then pf_fail "agent A heard of agent B's rollout: $(cat "$PF_TMP/a.sse")"; fi
if heard b "\"rollout\":$ra}"; then pf_fail "agent B heard of agent A's rollout: $(cat "$PF_TMP/b.sse")"; fi
pf_wait_for 10 "keep-alive comments" heard a ': keep-alive'
pf_log "rollouts: each agent heard its own rollout's pause, never the other's; keep-alive comments"

# --- the limit: two streams per user; the third refused, clearly ---
stream t "$sa" "serial=EA-1"
pf_wait_for 10 "stream t open" heard t ': watching'
got=$(api "$sa" GET "/v1/events?serial=EA-1")
[[ $got == 429 ]] || pf_fail "the third stream of ops.a: $got, want 429: $(cat "$PF_TMP/api.body")"
grep -q 'http.events_per_user' "$PF_TMP/api.body" || pf_fail "429 says: $(cat "$PF_TMP/api.body")"
must 200 "$admin" GET "/v1/rollouts/$ra" # ops.a's limit is ops.a's only: the API answers
pf_log "limit: the third stream of ops.a refused with 429 naming http.events_per_user"

# --- a terminal: an API change, then its first report once committed ---
must 200 "$admin" POST /v1/devices/EA-1/tags '{"tags":["north"]}'
pf_wait_for 10 "EA-1's tag change on the stream" heard t 'data: {"serial":"EA-1"}'
n=$(count t 'data: {"serial":"EA-1"}')
pf_agent_start EA-1
pf_wait_for 30 "EA-1 online" pf_device_online EA-1
more() { (($(count t 'data: {"serial":"EA-1"}') > n)); }
pf_wait_for 20 "EA-1's report on the stream" more
pf_log "terminal: told of a tag change and of its reports"

# --- a client that went away frees its stream: the next one is accepted ---
pf_kill sse-a
api_stream_ok() {
    local code
    code=$(curl -s --cacert "$POSFLEET_CACERT" -o /dev/null -w '%{http_code}' --max-time 2 \
        -H "Authorization: Bearer $sa" "$POSFLEET_URL/v1/events?rollout=$ra" || true)
    [[ $code == 200 ]]
}
pf_wait_for 20 "a stream of ops.a accepted after one closed" api_stream_ok
pf_log "a closed stream's place is given back"
pf_log "PASS"
