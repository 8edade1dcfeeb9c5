# shellcheck shell=bash
#
# update_lib.sh - signed bundles, update-capable agents and reboots for the
# update integration tests; sourced after lib.sh and stack.sh.
#
#   upd_keys_init                 signing keys in $PF_TMP/k (root, firmware, fee-table)
#   upd_server_start [EXTRA]      posfleetd trusting $PF_TMP/k/root.pub
#   upd_agent_start SERIAL [K=V]  an agent with A/B slot files, a file boot environment,
#                                 a fee-table directory, and exit-on-reboot
#   upd_pack_fw VERSION FILE OUT  a firmware bundle for PX-500 / r2
#   upd_upload BUNDLE             prints the bundle id posfleetd stored it under
#   upd_offer SERIAL ID [ARGS]    posfleet update
#   upd_reboot SERIAL N           waits for the agent's Nth reboot request, then
#                                 starts it again (the simulated boot)
#   upd_status SERIAL             the status of the terminal's current update

PF_PACK="$PF_BUILD/packaging/posfleet-pack"
UPD_KEYS="$PF_TMP/k"

upd_keys_init() {
    pf_require_bin "$PF_PACK"
    "$PF_KEYS" init --dir "$UPD_KEYS" >/dev/null || pf_fail "posfleet-keys init"
    "$PF_KEYS" add --dir "$UPD_KEYS" --role firmware --name fw >/dev/null || pf_fail "keys add fw"
    "$PF_KEYS" add --dir "$UPD_KEYS" --role fee-table --name fees >/dev/null ||
        pf_fail "keys add fees"
}

upd_server_start() {
    pf_server_start "update.trust_root = $UPD_KEYS/root.pub
${1:-}"
}

upd_agent_start() {
    local serial="$1" dir="$PF_TMP/agents/$1"
    shift
    mkdir -p "$dir/fees"
    pf_agent_start "$serial" \
        "update.slot_a=$dir/slot_a" "update.slot_b=$dir/slot_b" \
        "update.boot_env=$dir/bootenv" "update.trust_root=$UPD_KEYS/root.pub" \
        "update.feetable_dir=$dir/fees" "update.exit_on_reboot=1" \
        "update.retry_s=1" "update.resend_s=1" "$@"
}

# upd_agent_restart SERIAL: the agent again with the configuration it had.
upd_agent_restart() {
    local dir="$PF_TMP/agents/$1"
    echo $(($(upd_boots "$1") + 1)) >"$dir/boots"
    pf_spawn "agent-$1" "$PF_AGENTD" -c "$dir/agent.conf"
}

upd_pack_fw() {
    "$PF_PACK" create --kind firmware --version "$1" --model PX-500 --hw-rev r2 \
        --keyring "$UPD_KEYS" --key "$UPD_KEYS/signing/fw.key" -o "$3" "$2" >/dev/null ||
        pf_fail "posfleet-pack create firmware $1"
}

upd_upload() {
    pf_cli --json bundle upload "$1" | pf_json_get '$.id'
}

upd_offer() {
    local serial="$1" id="$2"
    shift 2
    pf_cli update "$serial" "$id" "$@" >/dev/null || pf_fail "posfleet update $serial $id"
}

# upd_boots SERIAL: how many times the test restarted the agent as a reboot.
upd_boots() {
    local f="$PF_TMP/agents/$1/boots"
    [[ -f "$f" ]] && cat "$f" || echo 0
}

# upd__reboots SERIAL: reboot requests of the running agent process (the sim HAL
# counts per process).
upd__reboots() {
    local f="$PF_TMP/agents/$1/hal/reboots"
    [[ -f "$f" ]] && cat "$f" || echo 0
}

upd_reboot() {
    local serial="$1" n="$2" pid
    pf_wait_for 120 "$serial to ask for reboot $n" eval "(( \$(upd__reboots $serial) >= $n ))"
    pid="$(pf_pid_of "agent-$serial")"
    # exit_on_reboot: the agent exits by itself right after asking.
    local deadline=$((SECONDS + 20))
    while kill -0 "$pid" 2>/dev/null && [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" != Z* ]]; do
        ((SECONDS < deadline)) || pf_fail "$serial did not exit after asking for a reboot"
        sleep 0.05
    done
    wait "$pid" 2>/dev/null || true
    upd_agent_restart "$serial"
}

upd_status() {
    pf_device_json "$1" | pf_json_get '$.update.status'
}

# upd_events SERIAL STATUS: how many events of that status posfleetd recorded.
upd_events() {
    pf_sql "select count(*) from update_events where serial='$1' and status='$2'"
}

# upd__exited SERIAL: true when the agent process has exited (a zombie counts).
upd__exited() {
    local pid
    pid="$(pf_pid_of "agent-$1")" || return 1
    ! kill -0 "$pid" 2>/dev/null || [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" == Z* ]]
}

# upd__status_is SERIAL STATUS: restarts the agent whenever it exited for a reboot,
# then compares the current update's status.
upd__status_is() {
    if upd__exited "$1"; then
        wait "$(pf_pid_of "agent-$1")" 2>/dev/null || true
        upd_agent_restart "$1"
    fi
    [[ "$(upd_status "$1")" == "$2" ]]
}

# upd_wait_status SERIAL STATUS TIMEOUT_S: waits for the status, acting as the
# bootloader (restarting the agent after each reboot request) meanwhile.
upd_wait_status() {
    pf_wait_for "$3" "$1's update to reach $2" upd__status_is "$1" "$2"
}

# upd_pack_fees VERSION EFFECTIVE_AT OUT: a fee-table bundle.
upd_pack_fees() {
    cat >"$PF_TMP/fees-$1.json" <<JSON
{"schema": 1, "version": "$1", "currency": "EUR",
 "effective_at": "$2",
 "rates": {"debit_card": {"rate_bp": 90, "cap_minor": 500},
           "credit_card": {"rate_bp": 150, "cap_minor": 1000},
           "qr_code": {"rate_bp": 60, "cap_minor": 300},
           "contactless": {"rate_bp": 80, "cap_minor": 500}},
 "settlement": {"t0_surcharge_bp": 25, "t1_surcharge_bp": 0},
 "mcc": ["5411", "5812"]}
JSON
    "$PF_PACK" create --kind fee-table --fee-table "$PF_TMP/fees-$1.json" --model PX-500 \
        --hw-rev r2 --keyring "$UPD_KEYS" --key "$UPD_KEYS/signing/fees.key" -o "$3" >/dev/null ||
        pf_fail "posfleet-pack create fee-table $1"
}
