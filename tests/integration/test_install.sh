#!/usr/bin/env bash
# test_install.sh - `cmake --install` puts every binary, the broker plugin, the
# manual pages, the bash completion, the documentation and the example
# configurations in the GNU directories (checked in a DESTDIR), and the
# generated pages and completion say what their sources say:
#   - each binary's page lists every option of its --help;
#   - posfleetd.conf(5) lists exactly the keys posfleetd's parser accepts
#     (server/base/config.c, config_notify.c);
#   - the completion offers every command word of `posfleet --help`.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

root="$PF_TMP/root"
DESTDIR="$root" cmake --install "$PF_BUILD" --prefix /usr >"$PF_TMP/install.log" 2>&1 ||
    { cat "$PF_TMP/install.log" >&2; pf_fail "cmake --install failed"; }
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$PF_BUILD/CMakeCache.txt")
[[ -n "$libdir" ]] || pf_fail "CMAKE_INSTALL_LIBDIR not in the cache"

expected=(
    usr/sbin/posfleetd usr/sbin/posfleet-agent
    usr/bin/posfleet usr/bin/posfleet-keys usr/bin/posfleet-pack usr/bin/posfleet-sim
    "usr/$libdir/posfleet/posfleet_acl.so"
    usr/share/man/man8/posfleetd.8 usr/share/man/man8/posfleet-agent.8
    usr/share/man/man1/posfleet.1 usr/share/man/man1/posfleet-keys.1
    usr/share/man/man1/posfleet-pack.1 usr/share/man/man1/posfleet-sim.1
    usr/share/man/man5/posfleetd.conf.5
    usr/share/bash-completion/completions/posfleet
    usr/share/posfleet/mosquitto/posfleet.conf.in usr/share/posfleet/mosquitto/posfleet.acl
    usr/share/posfleet/mosquitto/openssl.cnf
    usr/share/doc/posfleet/README.md usr/share/doc/posfleet/operations.md
    usr/share/doc/posfleet/server.md usr/share/doc/posfleet/security.md
    usr/share/doc/posfleet/examples/posfleetd.conf usr/share/doc/posfleet/examples/agent.conf
)
for f in "${expected[@]}"; do
    [[ -f "$root/$f" ]] || pf_fail "not installed: /$f"
done
for b in usr/sbin/posfleetd usr/sbin/posfleet-agent usr/bin/posfleet usr/bin/posfleet-keys \
    usr/bin/posfleet-pack usr/bin/posfleet-sim; do
    [[ -x "$root/$b" ]] || pf_fail "not executable: /$b"
done
# Nothing outside the GNU directories under the prefix.
stray=$(cd "$root" && find . -type f | grep -Ev "^\./usr/(s?bin|$libdir|share/(man|doc|bash-completion|posfleet))/" || true)
[[ -z "$stray" ]] || pf_fail "installed outside the GNU directories: $stray"
pf_log "cmake --install: ${#expected[@]} expected files present"

# Manual pages: the roff text with escapes removed.
man_text() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(em/-/g' "$1"; }
check_page() { # BINARY PAGE
    local bin=$1 page=$2 opts o text
    text=$(man_text "$root/$page")
    opts=$("$root/$bin" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
    [[ -n "$opts" ]] || pf_fail "$bin --help lists no option"
    for o in $opts; do
        grep -qF -- "$o" <<<"$text" || pf_fail "$page does not list $o of $bin --help"
    done
}
check_page usr/sbin/posfleetd usr/share/man/man8/posfleetd.8
check_page usr/sbin/posfleet-agent usr/share/man/man8/posfleet-agent.8
check_page usr/bin/posfleet usr/share/man/man1/posfleet.1
check_page usr/bin/posfleet-sim usr/share/man/man1/posfleet-sim.1
# posfleet-keys and posfleet-pack list commands rather than options: each command is on the page.
for pair in posfleet-keys posfleet-pack; do
    cmds=$("$root/usr/bin/$pair" --help 2>&1 | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p')
    [[ -n "$cmds" ]] || pf_fail "$pair --help lists no command"
    text=$(man_text "$root/usr/share/man/man1/$pair.1")
    for c in $cmds; do
        grep -qw -- "$c" <<<"$text" ||
            pf_fail "$pair.1 does not list the command $c"
    done
done

# posfleetd.conf(5): the keys of the page = the keys of the parser.
# config_notify.c parses notify.* and hook.NAME.<leaf> (the leaf after the last dot).
conf_src=("$PF_SRC/server/base/config.c" "$PF_SRC/server/base/config_notify.c")
src_keys=$( {
    grep -hoE '(STR|INT)\("[a-z_.]+"' "${conf_src[@]}" | sed -E 's/.*"(.*)"/\1/'
    grep -hoE 'strcmp\(key, "[a-z_.]+"\)' "${conf_src[@]}" | sed -E 's/.*"(.*)".*/\1/'
    grep -hoE 'strcmp\(dot, "\.[a-z_]+"\)' "${conf_src[@]}" | sed -E 's/.*"\.(.*)".*/hook.NAME.\1/'
} | sort -u)
page_keys=$(man_text "$root/usr/share/man/man5/posfleetd.conf.5" | awk '/^\.TP/{getline; if ($1 == ".B") print $2}' | sort -u)
[[ $(wc -l <<<"$src_keys") -ge 30 ]] || pf_fail "found only $(wc -l <<<"$src_keys") keys in the config parser"
if [[ "$src_keys" != "$page_keys" ]]; then
    diff <(echo "$src_keys") <(echo "$page_keys") >&2 || true
    pf_fail "posfleetd.conf.5 and server/base/config*.c list different keys (< parser, > page)"
fi
pf_log "manual pages: options and $(wc -l <<<"$src_keys") configuration keys in sync"

# bash completion: every command's first word, and a second word.
comp="$root/usr/share/bash-completion/completions/posfleet"
complete_line() { # WORDS... (the last one is being completed)
    bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _posfleet; printf "%s\n" "${COMPREPLY[@]}"' \
        _ "$comp" "$@"
}
firsts=$("$root/usr/bin/posfleet" --help | sed -n 's/^  \([a-z]\+\)[ A-Z[].*/\1/p' | sort -u)
[[ $(wc -l <<<"$firsts") -ge 10 ]] || pf_fail "posfleet --help lists too few commands"
offered=$(complete_line posfleet "" | sort -u)
[[ "$firsts" == "$offered" ]] || {
    diff <(echo "$firsts") <(echo "$offered") >&2 || true
    pf_fail "completion of 'posfleet ' differs from the commands of posfleet --help"
}
[[ $(complete_line posfleet rollout pa) == pause ]] || pf_fail "'posfleet rollout pa' does not complete to pause"
[[ $(complete_line posfleet devices --status "") == *offline* ]] || pf_fail "--status choices not completed"
[[ $(complete_line posfleet devices --stat | sort | tr "\n" " ") == "--state --status " ]] || pf_fail "devices options not completed"
pf_log "bash completion: $(wc -l <<<"$firsts") commands"
