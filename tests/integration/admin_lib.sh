# shellcheck shell=bash
#
# admin_lib.sh - what the backup and upgrade tests compare: the records posfleetd
# must never lose, read through its API (source after lib.sh and stack.sh).
#
#   adm_populate PREFIX    merchants (one rejected), terminals bound to them, a swap (its
#                          repair), a second repair moved on, and a firmware rollout run to
#                          completion on three terminals; needs ro_stack's fleet running
#   adm_snapshot OUT       writes OUT: one line per kind (merchants, terminals, rollouts,
#                          repairs, audit) with its row count and the SHA-256 of its
#                          canonical JSON (keys sorted; a terminal's changing health
#                          and connection fields, and the audit's org and addr, left out)

adm__get() {
    curl -fsS --max-time 30 -H "Authorization: Bearer $(cat "${PF_CLI_TOKEN:-$PF_TOKEN_OPS}")" \
        "$POSFLEET_URL$1"
}

adm_snapshot() {
    local out="$1" dir
    dir=$(mktemp -d "$PF_TMP/snapshot.XXXXXX")
    adm__get "/v1/merchants?limit=1000" | jq -S '.merchants' >"$dir/merchants"
    adm__get "/v1/devices?limit=1000" |
        jq -S '[.devices[] | {serial, model, hw_rev, merchant_id, status, created_ms, revoked_ms}]' \
            >"$dir/terminals"
    adm__get "/v1/rollouts" | jq -S '[.rollouts[] | del(.next_window_ms, .now_ms)]' >"$dir/rollouts"
    adm__get "/v1/repairs?state=all&limit=1000" | jq -S '.repairs' >"$dir/repairs"
    # org and addr came after schema 12 (null on the rows written before them).
    adm__get "/v1/audit?limit=1000" | jq -S '.audit | map(del(.org, .addr))' >"$dir/audit"
    : >"$out"
    for k in merchants terminals rollouts repairs audit; do
        printf '%s %s %s\n' "$k" "$(jq length "$dir/$k")" \
            "$(sha256sum <"$dir/$k" | cut -d' ' -f1)" >>"$out"
    done
}

adm__merchant() {
    pf_cli merchant add "$1" --uscc "$3" --name "$2" --address "9 Market St" \
        --contact "Wang Fang" --phone 13800000000 --settlement T0 --mcc 5411 --tz UTC \
        >/dev/null || pf_fail "merchant add $1"
}

adm_populate() {
    local p="$1" id fw
    adm__merchant "M-${p}1" "Corner Shop" 9144030071526726XG
    adm__merchant "M-${p}2" "Night Market Stall" 9144030071526728XJ
    adm__merchant "M-${p}3" "Closed Bakery" 9144030071526729XK
    pf_cli merchant approve "M-${p}1" >/dev/null
    pf_cli merchant approve "M-${p}2" >/dev/null
    pf_cli merchant reject "M-${p}3" --reason "licence expired" >/dev/null ||
        pf_fail "merchant reject"
    pf_cli bind "${p}00001" "M-${p}1" >/dev/null
    pf_cli bind "${p}00002" "M-${p}1" >/dev/null
    pf_cli bind "${p}00003" "M-${p}2" >/dev/null
    PF_CLI_TOKEN=$PF_TOKEN_SUPPORT pf_cli swap "${p}00002" "${p}00004" --reason "reader dead" --yes \
        >/dev/null || pf_fail "swap"
    PF_CLI_TOKEN=$PF_TOKEN_SUPPORT pf_cli repair open "${p}00005" --reason "cracked screen" \
        --faults CARD_READER >/dev/null || pf_fail "repair open"
    PF_CLI_TOKEN=$PF_TOKEN_SUPPORT pf_cli repair update "$(adm__get "/v1/repairs?serial=${p}00005" |
        jq '.repairs[0].id')" --state received --notes "arrived by courier" >/dev/null ||
        pf_fail "repair update"
    fw=$(ro_fw_bundle 2.0.0)
    id=$(pf_cli --json rollout create "$fw" --cohort "serials=${p}00006,${p}00007,${p}00008" \
        --stages 100% --soak 1s --window 00:00-24:00 | pf_json_get '$.id')
    pf_wait_for 180 "rollout $id to complete" ro_state_is "$id" completed
}
