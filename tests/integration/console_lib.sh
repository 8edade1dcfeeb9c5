# shellcheck shell=bash
# console_lib.sh - what the console's browser tests share (sourced after lib.sh, stack.sh and
# update_lib.sh): the browser they need, and a stack with its first tokens.

# Sets CHROME, DRIVER and PY (a python3 with Debian's python3-selenium, which is in the
# system Python, not necessarily the first python3); skips the test (77) only when Chromium
# is not installed.
console_need_browser() {
    local py
    CHROME=$(command -v chromium || true)
    DRIVER=$(command -v chromedriver || true)
    if [[ -z "$CHROME" || -z "$DRIVER" ]]; then
        echo "SKIP: chromium and chromium-driver are not installed (packaging/scripts/deps.sh)"
        exit 77
    fi
    PY=
    for py in /usr/bin/python3 "$(command -v python3)"; do
        if [[ -x "$py" ]] && "$py" -c 'import selenium' 2>/dev/null; then PY=$py && break; fi
    done
    [[ -n "$PY" ]] ||
        pf_fail "python3-selenium is missing while chromium is installed (packaging/scripts/deps.sh)"
}

# Keys, PKI and broker, and the tokens file with boot-admin (admin) and test-ops (ops) in
# $PF_TMP/server/{admin,ops}.token, for upd_server_start to read.
console_stack_tokens() {
    upd_keys_init
    pf_pki_init "$(pf_tmpdir pki)"
    pf_broker_start "$PF_PKI"
    mkdir -p "$PF_TMP/server"
    "$PF_KEYS" api-token --name boot-admin --role admin --file "$PF_TMP/server/tokens" \
        >"$PF_TMP/server/admin.token" || pf_fail "cannot create the admin token"
    "$PF_KEYS" api-token --name test-ops --role ops --file "$PF_TMP/server/tokens" \
        >"$PF_TMP/server/ops.token" || pf_fail "cannot create the ops token"
}
