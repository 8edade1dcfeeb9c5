# rollout_lib.sh - a fleet of update-capable simulated terminals for the rollout tests
# (source after lib.sh, stack.sh and update_lib.sh).
#
#   ro_stack N PREFIX [SIM_ARGS...]  keys, PKI, broker, posfleetd (rollout tick 200 ms),
#                                  N terminals imported and run by posfleet-sim with the
#                                  update engine; waits until all are online
#   ro_fw_bundle VERSION           a signed PX-500/r1 firmware bundle, uploaded; prints its id
#   ro_fee_bundle VERSION          a signed fee-table bundle, uploaded; prints its id
#   ro_json ID PATH                a field of `posfleet rollout show ID --json`
#   ro_state_is ID STATE           true when the rollout is in STATE
#   ro_count ID STATUS [STAGE]     members in STATUS (stage 1-based; all stages without), rows
#                                  and planned members of stages not opened yet
#   ro_exact ID                    fails unless the counters equal a recount of the members
#                                  (rows, and planned members of stages not opened yet)
#   ro_sim_serials KIND            serials the simulator gave fault KIND

PF_SIM="$PF_BUILD/tests/sim/posfleet-sim"

ro_stack() {
    local n="$1" prefix="$2"
    shift 2
    pf_require_bin "$PF_SIM"
    export PF_REPORT_INTERVAL=2
    upd_keys_init
    pf_pki_init "$(pf_tmpdir pki)"
    pf_broker_start "$PF_PKI"
    upd_server_start "rollout.tick_ms = 200
rollout.join_scan_s = ${RO_JOIN_SCAN_S:-3600}
${RO_SERVER_CONF:-}"
    RO_WORK=$(pf_tmpdir rollout)
    RO_STATE=$(mktemp -d "$([[ -w /dev/shm ]] && echo /dev/shm || echo "$PF_TMP")/pf-ro.XXXXXX")
    # Hooks run before the spawned processes are stopped: stop the simulator first.
    pf_at_exit "pf_alive sim && pf_kill sim 10; rm -rf '$RO_STATE'"
    export POSFLEET_KEYS="$PF_KEYS"
    "$PF_SIM" --count "$n" --prefix "$prefix" --seed 11 --emit-csv "$RO_WORK/fleet.csv"
    pf_cli device import "$RO_WORK/fleet.csv" --pki "$PF_PKI" \
        --credentials-out "$RO_WORK/creds" >/dev/null
    ro_sim_start "$@"
    pf_wait_for 180 "posfleetd to see all $n online" \
        eval "[[ \$(pf_cli --json summary | pf_json_get '\$.online') == $n ]]"
}

# ro_sim_start [SIM_ARGS...]: (re)starts the simulator over the imported fleet.
ro_sim_start() {
    pf_spawn sim "$PF_SIM" --credentials "$RO_WORK/creds" --broker "127.0.0.1:$PF_BROKER_PORT" \
        --ca "$PF_PKI/ca.crt" --rate 200 --interval 2 --backoff-min 200 --backoff-max 2000 \
        --update-trust-root "$UPD_KEYS/root.pub" --state-dir "$RO_STATE" \
        --status "$RO_WORK/status.json" --faults-out "$RO_WORK/faults" --seed 42 --quiet "$@"
}

ro_fw_bundle() {
    local v="$1" img="$RO_WORK/fw-$1.img" tar="$RO_WORK/fw-$1.tar"
    head -c 65536 /dev/urandom >"$img"
    "$PF_PACK" create --kind firmware --version "$v" --model PX-500 --hw-rev r1 \
        --keyring "$UPD_KEYS" --key "$UPD_KEYS/signing/fw.key" -o "$tar" "$img" >/dev/null ||
        pf_fail "posfleet-pack create firmware $v"
    upd_upload "$tar"
}

ro_json() {
    pf_cli --json rollout show "$1" | pf_json_get "$2"
}

ro_state_is() {
    [[ "$(ro_json "$1" '$.state')" == "$2" ]]
}

ro_count() {
    local where=""
    [[ -n "${3:-}" ]] && where=" and stage = $(($3 - 1))"
    pf_sql "select (select count(*) from rollout_members where rollout = $1 and status = '$2'$where)
        + (select coalesce(sum(p.n), 0) from rollout_plan p join rollouts r on r.id = p.rollout
        where p.rollout = $1${where/stage/p.stage} and case when r.state in ('scheduled',
        'running','paused','gated') then 'pending' else 'skipped' end = '$2')"
}

ro_exact() {
    local bad
    bad=$(pf_sql "select count(*) from (select stage, status, sum(n) as n from (select stage,
        status, count(*) as n from rollout_members where rollout = $1 group by 1, 2 union all
        select p.stage, case when r.state in ('scheduled','running','paused','gated')
        then 'pending' else 'skipped' end, sum(p.n) from rollout_plan p join rollouts r on
        r.id = p.rollout where p.rollout = $1 group by 1)
        group by 1, 2) a full join (select stage, status, n from
        rollout_counts where rollout = $1 and n <> 0) b using (stage, status)
        where a.n is not b.n")
    [[ "$bad" == 0 ]] || pf_fail "rollout $1: $bad (stage, status) counters differ from the members"
}

ro_sim_serials() {
    awk -v k="$1" '$2 == k { print $1 }' "$RO_WORK/faults" | sort
}
