#!/usr/bin/env bash
# test_packages.sh - the Debian packages as installed: builds them from a copy
# of the source (dpkg-buildpackage, nocheck, parallel=2), installs them with
# dpkg, checks the user, state directory, conffiles and units
# (systemd-analyze verify), starts Mosquitto and posfleetd from the installed
# files with the installed configuration (ports moved to free loopback ones
# in copies, posfleetd as the posfleet user, as the unit runs it), lets the
# installed agent report once and checks that the installed CLI sees the
# terminal. The first run is `posfleetd init` (PKI, broker material, the API's
# HTTPS certificate and the CLI's CA file, configuration, admin token), and the
# admin takes a backup over HTTPS. Then it purges
# the packages and checks that nothing is left but the documented state
# (/var/lib/posfleet and the posfleet user).
# Needs root (dpkg); exits 77 (skipped) otherwise.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [[ $(id -u) -ne 0 ]]; then
    echo "SKIP test_packages: needs root to install packages (CI runs as root)" >&2
    exit 77
fi
for tool in dpkg-buildpackage dh fakeroot systemd-analyze setpriv; do
    command -v "$tool" >/dev/null || pf_fail "$tool missing: packaging/scripts/deps.sh installs it"
done
PKGS=(posfleet-server posfleet-broker-config posfleet-agent posfleet-tools)
for p in "${PKGS[@]}"; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        pf_fail "$p is already installed on this machine; the test would purge it"
    fi
done
[[ ! -e /var/lib/posfleet ]] || pf_fail "/var/lib/posfleet exists already; the test would take it over"

# dpkg waits for nobody: while another installation on this machine holds its lock
# (apt-get elsewhere), pkg_dpkg fails and pf_wait_for tries again; any other failure
# ends the test at once.
pkg_dpkg() {
    local log="$1"
    shift
    dpkg "$@" >"$log" 2>&1 && return 0
    grep -q "lock" "$log" || pf_fail "dpkg $1 failed: $(tail -3 "$log")"
    return 1
}

# On any exit: the packages, and the state this test created, go.
purge_all() {
    local log="$PF_TMP/logs/dpkg-purge-exit.log" deadline=$((SECONDS + 600))
    # Polled (an exit hook cannot use pf_fail): until purged, or a failure that is not the lock.
    until dpkg --purge "${PKGS[@]}" >"$log" 2>&1 || ! grep -q "lock" "$log" ||
        ((SECONDS >= deadline)); do
        sleep 1
    done
    rm -rf /var/lib/posfleet /var/lib/posfleet-agent
    deluser --system --quiet posfleet >/dev/null 2>&1 || true
}
pf_at_exit purge_all

# --- build, out of the source tree
src="$PF_TMP/build/posfleet"
mkdir -p "$src"
if git -C "$PF_SRC" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$PF_SRC" && git ls-files -co --exclude-standard -z | tar --null -cf - -T -) | tar -xf - -C "$src"
else
    tar -C "$PF_SRC" --exclude=./build -cf - . | tar -xf - -C "$src"
fi
pf_log "dpkg-buildpackage (nocheck, parallel=2)"
(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b) \
    >"$PF_TMP/logs/dpkg-buildpackage.log" 2>&1 || pf_fail "dpkg-buildpackage failed"
debs=()
for p in "${PKGS[@]}"; do
    f=$(ls "$PF_TMP"/build/"${p}"_*.deb)
    debs+=("$f")
done

# --- install
pf_wait_for 600 "the dpkg lock, to install" pkg_dpkg "$PF_TMP/logs/dpkg-i.log" -i "${debs[@]}"
for p in "${PKGS[@]}"; do
    dpkg-query -L "$p" >"$PF_TMP/files.$p"
done
id posfleet >/dev/null 2>&1 || pf_fail "no posfleet user after install"
[[ $(stat -c %U:%a /var/lib/posfleet) == posfleet:750 ]] ||
    pf_fail "/var/lib/posfleet is $(stat -c %U:%a /var/lib/posfleet), not posfleet:750"
dpkg-query -W -f='${Conffiles}\n' posfleet-server | grep -q ' /etc/posfleet/posfleetd.conf ' ||
    pf_fail "/etc/posfleet/posfleetd.conf is not a conffile"
dpkg-query -W -f='${Conffiles}\n' posfleet-agent | grep -q ' /etc/posfleet/agent.conf ' ||
    pf_fail "/etc/posfleet/agent.conf is not a conffile"
for u in posfleetd.service posfleet-agent.service; do
    systemd-analyze verify "/lib/systemd/system/$u" >"$PF_TMP/logs/verify-$u.log" 2>&1 ||
        pf_fail "systemd-analyze verify $u failed: $(cat "$PF_TMP/logs/verify-$u.log")"
done
# mosquitto.service with posfleet's drop-in.
systemd-analyze verify /lib/systemd/system/mosquitto.service >"$PF_TMP/logs/verify-mosq.log" 2>&1 ||
    pf_fail "systemd-analyze verify mosquitto.service (with the drop-in) failed"
systemd-analyze cat-config systemd/system/mosquitto.service.d/mosquitto-posfleet.conf >/dev/null 2>&1 ||
    [[ -f /lib/systemd/system/mosquitto.service.d/mosquitto-posfleet.conf ]] ||
    pf_fail "mosquitto.service drop-in not installed"
grep -q '^ExecStart=/usr/sbin/posfleetd -c /etc/posfleet/posfleetd.conf$' /lib/systemd/system/posfleetd.service ||
    pf_fail "posfleetd.service does not run the installed configuration"
pf_log "installed: user, state directory, conffiles, units verified"

# --- first run: `posfleetd init` with the installed defaults (docs/operations.md)
KEYS=/usr/bin/posfleet-keys
pki=/etc/posfleet/pki
bdir=/etc/mosquitto/posfleet
export PF_PKI=$pki
/usr/sbin/posfleetd init --broker-host localhost >"$PF_TMP/init.out" 2>"$PF_TMP/logs/init.log" ||
    pf_fail "posfleetd init failed: $(cat "$PF_TMP/logs/init.log")"
TOKEN=$(grep -A1 '^first admin token for admin' "$PF_TMP/init.out" | tail -1)
[[ ${#TOKEN} == 43 ]] || pf_fail "posfleetd init printed no admin token"
if grep -q "PRIVATE KEY" "$PF_TMP/init.out" "$PF_TMP/logs/init.log"; then
    pf_fail "posfleetd init printed a private key"
fi
for f in "$pki/ca.crt" "$pki/posfleetd.crt" "$pki/posfleetd.key" "$bdir/broker.crt" \
    "$bdir/broker.key" "$bdir/crl.pem" /etc/posfleet/tokens; do
    [[ -f "$f" ]] || pf_fail "posfleetd init did not write $f"
done
[[ $(stat -c %G:%a "$pki/posfleetd.key") == posfleet:640 ]] ||
    pf_fail "posfleetd.key is $(stat -c %G:%a "$pki/posfleetd.key"), not posfleet:640"
[[ $(stat -c %G:%a /etc/posfleet/tokens) == posfleet:640 ]] || pf_fail "tokens not posfleet:640"
[[ $(stat -c %G:%a "$pki/api.key") == posfleet:640 ]] || pf_fail "api.key not posfleet:640"
grep -q '^http.tls = on$' /etc/posfleet/posfleetd.conf || pf_fail "init did not turn HTTPS on"
grep -q "^http.cert = $pki/api.crt$" /etc/posfleet/posfleetd.conf || pf_fail "init wrote no http.cert"
cmp -s "$pki/ca.crt" /etc/posfleet/api-ca.crt || pf_fail "the CLI's CA is not at /etc/posfleet/api-ca.crt"
if /usr/sbin/posfleetd init >/dev/null 2>&1; then pf_fail "a second posfleetd init ran"; fi
$KEYS device-cert --dir "$pki" --serial PKG-0001 >/dev/null
$KEYS device-cert --dir "$pki" --serial "$PF_PROBE_ID" >/dev/null
pf_log "posfleetd init: PKI, broker material, configuration and admin token in place"

# --- broker: the installed configuration, on a free loopback port
run=$(mktemp -d /tmp/pf-packages-run.XXXXXX)
pf_at_exit "rm -rf '$run'"
chmod 0755 "$run"
mkdir -p "$run/mosq"
PF_BROKER_PORT=$(pf_free_port)
export PF_BROKER_PORT
sed -e "s|^listener 8883 0.0.0.0$|listener $PF_BROKER_PORT 127.0.0.1|" \
    -e "s|^user mosquitto$|user root|" \
    -e "s|^persistence_location .*|persistence_location $run/mosq/|" \
    "$bdir/posfleet.conf" >"$run/mosquitto.conf"
grep -q "^listener $PF_BROKER_PORT 127.0.0.1$" "$run/mosquitto.conf" ||
    pf_fail "installed broker configuration has no 'listener 8883 0.0.0.0' line"
grep -q "^plugin /usr/lib/.*/posfleet/posfleet_acl.so$" "$run/mosquitto.conf" ||
    pf_fail "installed broker configuration does not load the installed plugin"
pf_spawn mosquitto env OPENSSL_CONF="$bdir/openssl.cnf" /usr/sbin/mosquitto -c "$run/mosquitto.conf"
pf_wait_for 20 "installed broker to accept TLS" pf__broker_ready

# --- posfleetd: the installed configuration, as the unit runs it
HTTP_PORT=$(pf_free_port)
printf '%s\n' "$TOKEN" >"$PF_TMP/token"
sed -e "s|^mqtt.port = 8883$|mqtt.port = $PF_BROKER_PORT|" \
    -e "s|^http.port = 8080$|http.port = $HTTP_PORT|" \
    /etc/posfleet/posfleetd.conf >"$run/posfleetd.conf"
chmod 0644 "$run/posfleetd.conf"
grep -q "^mqtt.port = $PF_BROKER_PORT$" "$run/posfleetd.conf" || pf_fail "no mqtt.port line to move"
setpriv --reuid=posfleet --regid=posfleet --init-groups /usr/sbin/posfleetd -c "$run/posfleetd.conf" --check-config ||
    pf_fail "installed configuration does not pass --check-config"
pf_spawn posfleetd setpriv --reuid=posfleet --regid=posfleet --init-groups \
    /usr/sbin/posfleetd -c "$run/posfleetd.conf"
# HTTPS with init's certificate; the CLI verifies it with /etc/posfleet/api-ca.crt unasked.
cli() { /usr/bin/posfleet --server "https://127.0.0.1:$HTTP_PORT" --token-file "$PF_TMP/token" "$@"; }
pf_wait_for 20 "installed posfleetd to answer" cli summary
[[ -f /var/lib/posfleet/posfleetd.db ]] || pf_fail "database not at /var/lib/posfleet/posfleetd.db"
[[ $(stat -c %U /var/lib/posfleet/posfleetd.db) == posfleet ]] || pf_fail "database not owned by posfleet"

# --- a terminal (the installed agent) reports; the installed CLI sees it
cli device add PKG-0001 --model PX-500 --hw-rev B >/dev/null || pf_fail "device add failed"
mkdir -p "$run/agent"
cat >"$run/agent.conf" <<CONF
serial = PKG-0001
model = PX-500
hw_rev = B
broker.host = 127.0.0.1
broker.port = $PF_BROKER_PORT
tls.ca = $pki/ca.crt
tls.cert = $pki/devices/PKG-0001.crt
tls.key = $pki/devices/PKG-0001.key
state_dir = $run/agent
CONF
timeout 90 /usr/sbin/posfleet-agent -c "$run/agent.conf" --once >"$PF_TMP/logs/agent.log" 2>&1 ||
    pf_fail "installed agent did not deliver a report"
seen() { cli --json device PKG-0001 | grep -q '"fw_version"'; }
pf_wait_for 20 "posfleet to show PKG-0001's report" seen
cli devices | grep -q PKG-0001 || pf_fail "posfleet devices does not list PKG-0001"
cli admin backup "$run/pkg-backup.db" >/dev/null || pf_fail "admin backup of the installed server"
[[ $(sqlite3 "$run/pkg-backup.db" "select count(*) from devices") == 1 ]] ||
    pf_fail "the backup does not hold PKG-0001"
pf_log "installed stack: the agent reported, posfleet sees it, the admin took a backup"

# --- purge: nothing left but the documented state
pf_kill posfleetd
pf_kill mosquitto
pf_wait_for 600 "the dpkg lock, to purge" pkg_dpkg "$PF_TMP/logs/dpkg-purge.log" --purge "${PKGS[@]}"
for p in "${PKGS[@]}"; do
    while IFS= read -r f; do
        # Directories may be shared with other packages; the two of ours are checked below.
        if [[ -e "$f" && ! -d "$f" ]]; then pf_fail "$f of $p is left after purge"; fi
    done <"$PF_TMP/files.$p"
done
[[ ! -e /etc/posfleet ]] || pf_fail "/etc/posfleet is left after purge: $(find /etc/posfleet | head)"
[[ ! -e "$bdir" ]] || pf_fail "$bdir is left after purge: $(find "$bdir" | head)"
[[ -f /var/lib/posfleet/posfleetd.db ]] || pf_fail "purge removed the fleet database (documented to stay)"
id posfleet >/dev/null 2>&1 || pf_fail "purge removed the posfleet user (documented to stay)"
pf_log "purged: only /var/lib/posfleet and the posfleet user are left (documented)"
