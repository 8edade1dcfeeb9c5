#!/usr/bin/env bash
# test_accounts.sh - people with the real binaries: the tokens file's admin
# (the bootstrap) creates an agent, a user and a merchant user; `posfleet
# login` keeps the session in a 0600 file under XDG_CONFIG_HOME and later
# commands use it; an API token made with `posfleet token create` works for
# scripts until `posfleet token revoke`; `posfleet logout` ends the session
# and removes the file; wrong passwords are audited (never the password) and
# lock the account; the audit answers who, from where, what, before and after.
# The admin's commands: `posfleet org add|list|show`, `posfleet user
# add|list|show|role|disable|enable|passwd`, each change audited.
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

as_admin() { PF_CLI_TOKEN="$PF_TMP/server/admin.token" pf_cli "$@"; }
# api TOKEN_FILE METHOD PATH [BODY]: the status, the body into $PF_TMP/api.body.
api() {
    curl -s -o "$PF_TMP/api.body" -w '%{http_code}' -X "$2" -H "Authorization: Bearer $(cat "$1")" \
        -H 'Content-Type: application/json' ${4:+--data "$4"} "$POSFLEET_URL$3"
}
# me: posfleet with no token option at all, so the session file is what it has.
me() { XDG_CONFIG_HOME="$PF_TMP/xdg" TZ=UTC "$PF_CLI" --server "$POSFLEET_URL" "$@"; }

admin="$PF_TMP/server/admin.token"
# The organisation and the user, with the CLI (the password from POSFLEET_PASSWORD, never an option).
as_admin org add agent-sz >"$PF_TMP/org.out" || pf_fail "org add: $(cat "$PF_TMP/org.out")"
grep -Eq '^ +2 +agent-sz +agent +1 +/1/2/$' "$PF_TMP/org.out" || pf_fail "org add said: $(cat "$PF_TMP/org.out")"
POSFLEET_PASSWORD="$PW" as_admin user add li.wei --role ops --org agent-sz >"$PF_TMP/user.out" ||
    pf_fail "user add: $(cat "$PF_TMP/user.out")"
grep -Eq '^li.wei +ops +agent-sz +- +active +0 ' "$PF_TMP/user.out" || pf_fail "user add said: $(cat "$PF_TMP/user.out")"

# login: the session file, 0600, and commands that use it.
POSFLEET_PASSWORD="$PW" me login --user li.wei >"$PF_TMP/login.out" || pf_fail "login failed"
grep -q 'logged in as li.wei (ops, agent-sz)' "$PF_TMP/login.out" || pf_fail "login said: $(cat "$PF_TMP/login.out")"
session="$PF_TMP/xdg/posfleet/session"
[[ -f "$session" ]] || pf_fail "no session file"
[[ "$(stat -c %a "$session")" == 600 ]] || pf_fail "session file mode $(stat -c %a "$session")"
me whoami | grep -q '^li.wei (ops, agent-sz) by session' || pf_fail "whoami: $(me whoami 2>&1)"
pf_log "logged in; the session file is 0600"

# A script's API token: works, shows its last use, stops when revoked.
me token create nightly --expires-days 7 >"$PF_TMP/token.out" || pf_fail "token create"
tail -n 1 "$PF_TMP/token.out" >"$PF_TMP/nightly.token"
[[ "$(api "$PF_TMP/nightly.token" GET /v1/me)" == 200 ]] || pf_fail "API token refused"
grep -q '"via":"token"' "$PF_TMP/api.body" || pf_fail "me by token: $(cat "$PF_TMP/api.body")"
me token list | grep -Eq 'nightly +li.wei .*(ago|just now)' || pf_fail "token list: $(me token list 2>&1)"
id=$(me --json token list | pf_json_get '$.tokens[0].id')
me token revoke "$id" | grep -q "token $id revoked" || pf_fail "revoke"
[[ "$(api "$PF_TMP/nightly.token" GET /v1/me)" == 401 ]] || pf_fail "revoked token still works"

# Logout: the session ends and its file goes.
token=$(head -n 1 "$session")
printf '%s\n' "$token" >"$PF_TMP/session.token"
me logout | grep -q 'logged out' || pf_fail "logout"
[[ ! -e "$session" ]] || pf_fail "session file left after logout"
[[ "$(api "$PF_TMP/session.token" GET /v1/me)" == 401 ]] || pf_fail "session alive after logout"
pf_log "API token revoked, session ended"

# Wrong passwords: refused, audited without the password, then the account locks.
for _ in 1 2 3 4 5; do
    if POSFLEET_PASSWORD='not my password' me login --user li.wei >/dev/null 2>&1; then
        pf_fail "a wrong password logged in"
    fi
done
if POSFLEET_PASSWORD="$PW" me login --user li.wei >"$PF_TMP/locked.out" 2>&1; then
    pf_fail "a locked account logged in"
fi
as_admin audit --actor li.wei --addr 127.0.0.1 --action login.failed | grep -q 'li.wei.*agent-sz.*127.0.0.1.*login.failed' ||
    pf_fail "failed logins not in the audit: $(as_admin audit --actor li.wei 2>&1)"
as_admin audit --action login.locked | grep -q 'li.wei' || pf_fail "lock-out not audited"
if pf_sql "SELECT before || after FROM audit WHERE after IS NOT NULL OR before IS NOT NULL" |
    grep -q -e "$PW" -e 'not my password'; then
    pf_fail "a password reached the audit log"
fi
if grep -q -e "$PW" -e 'not my password' "$(pf_log_of posfleetd)"; then
    pf_fail "a password reached posfleetd's log"
fi
pf_log "failures audited, account locked, no password stored or logged"

# Users and organisations with the CLI: list, show, role, disable, enable, passwd.
POSFLEET_PASSWORD="$PW" as_admin user add shop.1 --role merchant --org agent-sz --merchant NOPE \
    >"$PF_TMP/m.out" 2>&1 && pf_fail "a merchant user of an unknown merchant was added"
grep -q 'merchant NOPE does not exist' "$PF_TMP/m.out" || pf_fail "unknown merchant: $(cat "$PF_TMP/m.out")"
if echo short | as_admin user add zhang.min --role viewer --org agent-sz >"$PF_TMP/short.out" 2>&1; then
    pf_fail "a short password was taken"
fi
echo "$PW" | as_admin user add zhang.min --role viewer --org agent-sz >/dev/null || pf_fail "user add (stdin)"
as_admin user list >"$PF_TMP/users.out"
head -n 1 "$PF_TMP/users.out" | grep -Eq '^NAME +ROLE +ORG +MERCHANT +STATE +FAILED +CREATED$' ||
    pf_fail "user list header: $(cat "$PF_TMP/users.out")"
grep -Eq '^li.wei +ops +agent-sz +- +locked +5 ' "$PF_TMP/users.out" || pf_fail "user list: $(cat "$PF_TMP/users.out")"
grep -Eq '^zhang.min +viewer +agent-sz ' "$PF_TMP/users.out" || pf_fail "user list: $(cat "$PF_TMP/users.out")"
[[ "$(as_admin --json user show zhang.min | pf_json_get '$.disabled')" == 0 ]] || pf_fail "user show --json"
as_admin user role zhang.min support | grep -Eq '^zhang.min +support ' || pf_fail "user role"
POSFLEET_PASSWORD="$PW" me login --user zhang.min >/dev/null || pf_fail "zhang.min cannot log in"
as_admin user disable zhang.min | grep -Eq '^zhang.min +support +agent-sz +- +disabled ' || pf_fail "user disable"
if me whoami >/dev/null 2>&1; then pf_fail "a disabled user's session still works"; fi
if POSFLEET_PASSWORD="$PW" me login --user zhang.min >"$PF_TMP/dis.out" 2>&1; then pf_fail "a disabled user logged in"; fi
grep -q 'account disabled' "$PF_TMP/dis.out" || pf_fail "disabled login said: $(cat "$PF_TMP/dis.out")"
as_admin user enable zhang.min | grep -q ' active ' || pf_fail "user enable"
POSFLEET_PASSWORD='a new password 1' as_admin user passwd zhang.min >/dev/null || pf_fail "user passwd"
if POSFLEET_PASSWORD="$PW" me login --user zhang.min >/dev/null 2>&1; then pf_fail "the old password works"; fi
POSFLEET_PASSWORD='a new password 1' me login --user zhang.min >/dev/null || pf_fail "the new password fails"
if as_admin user show nobody >"$PF_TMP/nobody.out" 2>&1; then pf_fail "user show nobody"; fi
grep -q 'not found' "$PF_TMP/nobody.out" || pf_fail "user show nobody said: $(cat "$PF_TMP/nobody.out")"
as_admin org list | grep -Eq '^ +1 +headquarters +headquarters ' || pf_fail "org list: $(as_admin org list 2>&1)"
as_admin org show agent-sz >"$PF_TMP/orgshow.out" || pf_fail "org show"
grep -q '^users: li.wei, zhang.min$' "$PF_TMP/orgshow.out" || pf_fail "org show: $(cat "$PF_TMP/orgshow.out")"
[[ "$(as_admin --json org show 2 | pf_json_get '$.name')" == agent-sz ]] || pf_fail "org show by id"
# A user that is no admin gets none of it.
if me user list >"$PF_TMP/nonadmin.out" 2>&1; then pf_fail "a support user listed users"; fi
for action in user.role user.disable user.enable user.password; do
    as_admin audit --action "$action" --target zhang.min | grep -q "$action" ||
        pf_fail "$action not audited: $(as_admin audit --target zhang.min 2>&1)"
done
as_admin user --help | grep -Eq '^  disable NAME +refuse' || pf_fail "user --help"
pf_log "user add/list/show/role/disable/enable/passwd and org add/list/show"
pf_log "PASS"
