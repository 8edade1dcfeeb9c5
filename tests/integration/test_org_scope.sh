#!/usr/bin/env bash
# test_org_scope.sh - organisations with the real binaries: headquarters'
# admin makes agents A and B, their merchants, terminals bound to them and a
# user each; logged in with `posfleet login`, agent A's ops sees A's
# terminals only (list, summary, one by serial, history, audit), gets "not
# found" for B's (guessed serial, filter, swap to B's terminal), is refused
# the bulk import; a merchant user of A sees its merchant's terminal only and
# opens a support request that B's people never see. A diagnostic of A's
# terminal (a real agent answers it) is refused to B's support by its id, on
# every route that names it, and shown to A's ops.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"

PW='correct horse battery'
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
mkdir -p "$PF_TMP/server"
"$PF_KEYS" api-token --name boot-admin --role admin --file "$PF_TMP/server/tokens" \
    >"$PF_TMP/server/admin.token" || pf_fail "cannot create the admin token"
for role in ops support viewer; do
    "$PF_KEYS" api-token --name "test-$role" --role "$role" --file "$PF_TMP/server/tokens" \
        >"$PF_TMP/server/$role.token" || pf_fail "cannot create the $role token"
done
pf_server_start
admin="$PF_TMP/server/admin.token"

# api TOKEN_FILE METHOD PATH [BODY]: the status; the body into $PF_TMP/api.body.
api() {
    curl -s -o "$PF_TMP/api.body" -w '%{http_code}' -X "$2" -H "Authorization: Bearer $(cat "$1")" \
        -H 'Content-Type: application/json' ${4:+--data "$4"} "$POSFLEET_URL$3"
}
must() { # must STATUS TOKEN_FILE METHOD PATH [BODY]
    local got
    got=$(api "${@:2}")
    [[ "$got" == "$1" ]] || pf_fail "$3 $4: $got, want $1: $(cat "$PF_TMP/api.body")"
}
# as USER ARGS...: posfleet logged in as USER (its own session directory).
as() {
    local u="$1"
    shift
    XDG_CONFIG_HOME="$PF_TMP/xdg-$u" TZ=UTC "$PF_CLI" --server "$POSFLEET_URL" "$@"
}
merchant() { # merchant ID UCC17 ORG
    local check
    check=$(python3 -c "
s='$2';a='0123456789ABCDEFGHJKLMNPQRTUWXY';w=[1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28]
print(a[(31-sum(a.index(c)*w[i] for i,c in enumerate(s))%31)%31])")
    pf_cli merchant add "$1" --name "Shop $1" --uscc "$2$check" --mcc 5812 --address '1 Road' \
        --contact Li --phone '+86 138 0000 0000' --tz Asia/Shanghai --settlement T1 \
        --fee-plan fee-1 >/dev/null || pf_fail "merchant $1"
    pf_cli merchant approve "$1" >/dev/null || pf_fail "approve $1"
    must 200 "$admin" POST "/v1/merchants/$1/org" "{\"org\":\"$3\"}"
}

must 201 "$admin" POST /v1/orgs '{"name":"agentA"}'
must 201 "$admin" POST /v1/orgs '{"name":"agentB"}'
merchant MA 91440300715267001 agentA
merchant MB 91440300715267002 agentB
for t in TA1:MA TA2:MA TB1:MB; do
    pf_cli device add "${t%%:*}" --model PX-500 >/dev/null || pf_fail "device $t"
    pf_cli bind "${t%%:*}" "${t##*:}" >/dev/null || pf_fail "bind $t"
done
pf_cli device add TS1 --model PX-500 >/dev/null
must 201 "$admin" POST /v1/users "{\"name\":\"opsA\",\"role\":\"ops\",\"org\":\"agentA\",\"password\":\"$PW\"}"
must 201 "$admin" POST /v1/users "{\"name\":\"supB\",\"role\":\"support\",\"org\":\"agentB\",\"password\":\"$PW\"}"
must 201 "$admin" POST /v1/users "{\"name\":\"shopA\",\"role\":\"merchant\",\"org\":\"agentA\",\"merchant\":\"MA\",\"password\":\"$PW\"}"
for u in opsA supB shopA; do
    POSFLEET_PASSWORD="$PW" as "$u" login --user "$u" >/dev/null || pf_fail "login $u"
done
pf_log "world: agents A and B, 4 terminals, 3 users logged in"

# Agent A's ops: its terminals, nothing of B's or of headquarters' stock.
as opsA devices >"$PF_TMP/a.devices"
grep -q TA1 "$PF_TMP/a.devices" && grep -q TA2 "$PF_TMP/a.devices" || pf_fail "A misses its own: $(cat "$PF_TMP/a.devices")"
if grep -q -e TB1 -e TS1 "$PF_TMP/a.devices"; then pf_fail "A sees others: $(cat "$PF_TMP/a.devices")"; fi
[[ "$(as opsA --json summary | pf_json_get '$.total')" == 2 ]] || pf_fail "A's summary counts others"
as opsA device TA1 >/dev/null || pf_fail "A cannot read TA1"
if as opsA device TB1 >"$PF_TMP/b.out" 2>&1; then pf_fail "A read TB1"; fi
grep -qi 'not found' "$PF_TMP/b.out" || pf_fail "TB1 for A: $(cat "$PF_TMP/b.out")"
if as opsA history TB1 >/dev/null 2>&1; then pf_fail "A read TB1's history"; fi
if as opsA swap TA1 TB1 --reason x >/dev/null 2>&1; then pf_fail "A swapped in B's terminal"; fi
if as opsA swap TA1 TS1 --reason x >/dev/null 2>&1; then pf_fail "A swapped in headquarters' stock"; fi
printf 'serial,model\nTX1,PX-500\n' >"$PF_TMP/import.csv"
if as opsA device import "$PF_TMP/import.csv" >"$PF_TMP/import.out" 2>&1; then pf_fail "A imported"; fi
if as opsA audit --serial TB1 | grep -q TB1; then pf_fail "A's audit shows TB1"; fi
as opsA audit --limit 1000 >"$PF_TMP/a.audit"
if grep -q -e TB1 -e '\bMB\b' -e supB "$PF_TMP/a.audit"; then pf_fail "A's audit shows B: $(cat "$PF_TMP/a.audit")"; fi
pf_log "agent A's ops reaches A's terminals only"

# The merchant user of MA: its terminals, its support request.
as shopA devices >"$PF_TMP/shop.devices"
grep -q TA1 "$PF_TMP/shop.devices" || pf_fail "the merchant misses TA1"
if grep -q -e TB1 -e TS1 "$PF_TMP/shop.devices"; then pf_fail "the merchant sees others"; fi
if as shopA tag TA1 --tags x >/dev/null 2>&1; then pf_fail "the merchant changed a tag"; fi
printf '%s\n' "$(head -n 1 "$PF_TMP/xdg-shopA/posfleet/session")" >"$PF_TMP/shop.token"
must 201 "$PF_TMP/shop.token" POST /v1/support-requests '{"subject":"Printer jams","body":"Every receipt"}'
printf '%s\n' "$(head -n 1 "$PF_TMP/xdg-opsA/posfleet/session")" >"$PF_TMP/opsA.token"
printf '%s\n' "$(head -n 1 "$PF_TMP/xdg-supB/posfleet/session")" >"$PF_TMP/supB.token"
must 200 "$PF_TMP/opsA.token" GET /v1/support-requests
grep -q 'Printer jams' "$PF_TMP/api.body" || pf_fail "A's support misses the request"
must 200 "$PF_TMP/supB.token" GET /v1/support-requests
if grep -q 'Printer jams' "$PF_TMP/api.body"; then pf_fail "B sees A's support request"; fi
pf_log "the merchant user sees its own; B sees none of it"

# A diagnostic of agent A's terminal, asked by A's ops and answered by the real agent.
pf_agent_start TA1
pf_wait_for 30 "TA1 online" pf_device_online TA1
as opsA diag TA1 versions >"$PF_TMP/diag.out" 2>&1 || pf_fail "A's diag: $(cat "$PF_TMP/diag.out")"
did=$(as opsA --json diag list TA1 | pf_json_get '$.diag[0].id')
[[ "$did" == d* ]] || pf_fail "no diagnostic id for TA1: $did"
as opsA diag show "$did" >/dev/null || pf_fail "A cannot read its own diagnostic $did"
# Agent B's support, with the id in hand: absent on every route, the answer never shown.
must 404 "$PF_TMP/supB.token" GET "/v1/diag/$did"
if grep -q -e TA1 -e firmware "$PF_TMP/api.body"; then pf_fail "B's 404 shows A's diagnostic"; fi
must 404 "$PF_TMP/supB.token" GET "/v1/diag/$did/archive"
must 404 "$PF_TMP/supB.token" GET /v1/devices/TA1/diag
must 404 "$PF_TMP/supB.token" POST /v1/devices/TA1/diag '{"command":"versions"}'
if as supB diag show "$did" >"$PF_TMP/b.diag" 2>&1; then pf_fail "B read A's diagnostic"; fi
grep -qi 'not found' "$PF_TMP/b.diag" || pf_fail "A's diagnostic for B: $(cat "$PF_TMP/b.diag")"
# Headquarters' support reads it.
must 200 "$PF_TMP/server/support.token" GET "/v1/diag/$did"
pf_log "A's diagnostic $did: refused to B by id, read by A and headquarters"
pf_log "PASS"
