#!/usr/bin/env bash
# test_update_reoffer.sh - an offer made before the terminal ever connected (no
# session on the broker, so the QoS 1 offer reaches nobody) is sent again under the
# same id when the terminal's birth arrives, and the update completes; a finished
# offer is not sent again at the next birth.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stack.sh"
. "$(dirname "$0")/update_lib.sh"

export PF_REPORT_INTERVAL=1
upd_keys_init
pf_pki_init "$(pf_tmpdir pki)"
pf_broker_start "$PF_PKI"
upd_server_start
pf_cli device add RO1 --model PX-500 --hw-rev r2 >/dev/null

head -c 500000 /dev/urandom >"$PF_TMP/fw.img"
upd_pack_fw 1.6.0 "$PF_TMP/fw.img" "$PF_TMP/fw.tar"
id=$(upd_upload "$PF_TMP/fw.tar")
upd_offer RO1 "$id"
[[ "$(upd_status RO1)" == offered ]] || pf_fail "status after the offer: $(upd_status RO1)"

upd_agent_start RO1
upd_wait_status RO1 success 90
offers=$(pf_sql "select count(*) from update_offers where serial='RO1'")
[[ "$offers" == 1 ]] || pf_fail "$offers offers recorded, want 1 (the same offer sent again)"
[[ "$(pf_sql "select count(distinct offer) from update_events where serial='RO1'")" == 1 ]] ||
    pf_fail "events name more than one offer"
n=$(grep -c "offer sent again" "$(pf_log_of posfleetd)")
((n >= 1)) || pf_fail "posfleetd did not send the offer again at the birth"

# A finished offer stays finished: the next birth sends nothing.
b0=$(pf_sql "select ts_ms from device_birth where serial='RO1'")
pf_kill agent-RO1
upd_agent_restart RO1
pf_wait_for 30 "RO1's next birth stored" \
    eval "[[ \$(pf_sql \"select count(*) from device_birth where serial='RO1' and ts_ms > $b0\") == 1 ]]"
[[ "$(grep -c "offer sent again" "$(pf_log_of posfleetd)")" == "$n" ]] ||
    pf_fail "a finished offer was sent again"
[[ "$(upd_events RO1 success)" == 1 ]] || pf_fail "success recorded $(upd_events RO1 success) times"
pf_log "offer sent again at birth: ok"
