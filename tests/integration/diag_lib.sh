# shellcheck shell=bash
#
# diag_lib.sh - shared steps of the diagnostics end-to-end tests; sourced after
# lib.sh and stack.sh.

# diag_stack [POSFLEETD_EXTRA_CONF]: broker, posfleetd, and the support token for the CLI.
diag_stack() {
    pf_pki_init "$(pf_tmpdir pki)"
    pf_broker_start "$PF_PKI"
    pf_server_start "${1:-}"
    export PF_CLI_TOKEN="$PF_TOKEN_SUPPORT"
}

# diag_agent SERIAL [KEY=VALUE...]: registers SERIAL and starts its agent; waits until online.
diag_agent() {
    local serial="$1"
    shift
    PF_CLI_TOKEN=$PF_TOKEN_OPS pf_cli device add "$serial" --model PX-500 --hw-rev r2 >/dev/null ||
        pf_fail "device add $serial"
    pf_agent_start "$serial" "$@"
    pf_wait_for 30 "$serial online" pf_device_online "$serial"
}

# diag_json ID: the stored request as the API returns it.
diag_json() {
    pf_cli --json diag show "$1" 2>/dev/null
}

# diag_field ID PATH: one field of the stored request ('$.status').
diag_field() {
    diag_json "$1" | pf_json_get "$2"
}

# diag_post SERIAL COMMAND [JSON_ARGS [DEADLINE_S]]: posts a request with curl, prints its id.
diag_post() {
    local body
    body="{\"command\":\"$2\",\"args\":${3:-{\}}${4:+,\"deadline_s\":$4}}"
    curl -sS -X POST -H "Authorization: Bearer $(cat "$PF_TOKEN_SUPPORT")" \
        -H 'Content-Type: application/json' --data "$body" \
        "$POSFLEET_URL/v1/devices/$1/diag" | pf_json_get '$.id'
}
