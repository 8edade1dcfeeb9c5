#!/bin/bash
# shellcheck shell=bash
#
# pg.sh - a throw-away PostgreSQL 15 for tests and benchmarks.
#
# As a library (bash):
#   . tests/pg/pg.sh
#   pg_start DIR            # initdb + pg_ctl start in DIR, database "posfleet"
#   pg_dsn DIR              # the libpq connection string (unix socket in DIR)
#   pg_psql DIR SQL         # runs SQL, prints unaligned rows
#   pg_restart DIR          # pg_ctl restart -m fast (same socket, same data)
#   pg_stop DIR             # pg_ctl stop -m fast, then removes DIR
#   pg_stop_at_exit DIR     # trap: pg_stop DIR when the shell exits
# As a command (ctest fixtures, C tests, benches):
#   pg.sh start DIR | stop DIR | restart DIR | dsn DIR | psql DIR SQL
#
# The server listens on no TCP port at all (listen_addresses = ''): only on a
# unix socket inside DIR, so parallel tests never collide and nothing leaves
# the machine. DIR must not exist or be empty; `start` writes DIR/dsn.
#
# PostgreSQL's binaries refuse to run as root. Run as root (CI containers), the
# server side (initdb, pg_ctl, postgres) runs as the unprivileged "postgres"
# account Debian's postgresql package creates (override: PF_PG_USER), through
# setpriv, the way Debian's pg_virtualenv hands its clusters to that account;
# DIR is chowned to it. The client side (psql, libpq in tests) stays root and
# logs in as the database superuser named in the DSN (trust authentication on
# the socket, which only DIR's owner and root can reach: mode 0700).
#
# Binaries: PF_PG_BINDIR, default /usr/lib/postgresql/15/bin (Debian's
# postgresql-15). A missing binary is an error with its name, never a skip.

PF_PG_BINDIR="${PF_PG_BINDIR:-/usr/lib/postgresql/15/bin}"
PF_PG_DB="${PF_PG_DB:-posfleet}"

pg__die() {
    printf 'pg.sh: %s\n' "$*" >&2
    return 1
}

# pg__check_bins: fails with the reason when PostgreSQL 15 is not installed.
pg__check_bins() {
    local b
    for b in initdb pg_ctl postgres psql; do
        [[ -x "$PF_PG_BINDIR/$b" ]] ||
            pg__die "$PF_PG_BINDIR/$b not found: install Debian's postgresql-15" \
                "(packaging/scripts/deps.sh) or set PF_PG_BINDIR" || return 1
    done
}

# pg__as_owner CMD...: runs CMD as the cluster's owner (root: PF_PG_USER).
pg__as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        setpriv --reuid="${PF_PG_USER:-postgres}" --regid="$(id -g "${PF_PG_USER:-postgres}")" \
            --init-groups -- "$@"
    else
        "$@"
    fi
}

# pg__superuser: the database superuser initdb creates (the owner's name).
pg__superuser() {
    if [[ "$(id -u)" == 0 ]]; then
        printf '%s' "${PF_PG_USER:-postgres}"
    else
        id -un
    fi
}

pg_dsn() {
    local dir="$1"
    printf 'host=%s dbname=%s user=%s connect_timeout=5' "$dir" "$PF_PG_DB" "$(pg__superuser)"
}

pg_psql() {
    local dir="$1"
    shift
    "$PF_PG_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$(pg_dsn "$dir")" -c "$*"
}

pg_start() {
    local dir="$1" owner
    pg__check_bins || return 1
    [[ -n "$dir" ]] || pg__die "start: no directory" || return 1
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [[ -n "$(ls -A "$dir")" ]]; then
        pg__die "start: $dir is not empty" || return 1
    fi
    chmod 700 "$dir"
    if [[ "$(id -u)" == 0 ]]; then
        owner="${PF_PG_USER:-postgres}"
        id "$owner" >/dev/null 2>&1 ||
            pg__die "running as root needs the unprivileged account '$owner' (Debian's postgresql package creates 'postgres'; or set PF_PG_USER)" ||
            return 1
        chown "$owner:" "$dir"
    fi
    pg__as_owner "$PF_PG_BINDIR/initdb" -D "$dir/data" -A trust -E UTF8 --no-locale \
        -U "$(pg__superuser)" --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; pg__die "initdb failed in $dir" || return 1; }
    # Tests only: fsync off would make a restart test meaningless, so keep it;
    # small shared memory so several clusters fit beside each other.
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$dir'
shared_buffers = 32MB
max_connections = 60
logging_collector = off
log_min_messages = warning
EOF
    pg__as_owner "$PF_PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
        start >/dev/null ||
        { tail -n 30 "$dir/postgres.log" >&2; pg__die "pg_ctl start failed in $dir" || return 1; }
    "$PF_PG_BINDIR/psql" -X -q -d "host=$dir dbname=postgres user=$(pg__superuser)" \
        -c "CREATE DATABASE $PF_PG_DB" ||
        pg__die "CREATE DATABASE $PF_PG_DB failed" || return 1
    pg_dsn "$dir" >"$dir/dsn"
}

pg_restart() {
    local dir="$1"
    pg__as_owner "$PF_PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
        -m fast restart >/dev/null ||
        { tail -n 30 "$dir/postgres.log" >&2; pg__die "pg_ctl restart failed in $dir"; }
}

pg_stop() {
    local dir="$1"
    [[ -n "$dir" && -d "$dir" ]] || return 0
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        pg__as_owner "$PF_PG_BINDIR/pg_ctl" -D "$dir/data" -w -t 60 -m fast stop \
            >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

pg_stop_at_exit() {
    # shellcheck disable=SC2064 # the directory is fixed now
    trap "pg_stop '$1'" EXIT
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    cmd="${1:-}"
    dir="${2:-}"
    [[ -n "$cmd" && -n "$dir" ]] || { echo "usage: pg.sh start|stop|restart|dsn|psql DIR [SQL]" >&2; exit 2; }
    case "$cmd" in
    start) pg_start "$dir" ;;
    stop) pg_stop "$dir" ;;
    restart) pg_restart "$dir" ;;
    dsn) pg_dsn "$dir" && echo ;;
    psql) shift 2; pg_psql "$dir" "$@" ;;
    *) echo "pg.sh: unknown command $cmd" >&2; exit 2 ;;
    esac
fi
