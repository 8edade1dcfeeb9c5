#!/usr/bin/env bash
# deps.sh - install what posfleet needs on Debian 12 (as root), or print the
# exact apt-get line to run when not root. Idempotent: installs only what is missing.
set -euo pipefail

PKGS=(build-essential cmake pkg-config
      libmosquitto-dev mosquitto-dev mosquitto mosquitto-clients
      libuv1-dev libsqlite3-dev sqlite3 libjansson-dev libsodium-dev libarchive-dev
      # the PostgreSQL backend (libpq) and its tests (a throw-away PostgreSQL 15: tests/pg/)
      libpq-dev postgresql-15 postgresql-client-15
      libmicrohttpd-dev libcurl4-openssl-dev libssl-dev openssl check libsystemd-dev
      minisign time procps curl clang-format git python3-yaml python3-jsonschema
      u-boot-tools libubootenv-tool grub-common
      help2man debhelper fakeroot lintian dpkg-dev adduser
      # the back office's libraries (served from /usr/share/javascript), and its browser test
      libjs-jquery libjs-jquery-datatables libjs-dygraphs
      chromium chromium-driver python3-selenium fonts-wqy-microhei)

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "posfleet: missing packages. Run as root:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi
echo "posfleet: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's mosquitto package enables a system broker on port 1883; posfleet starts its own
# brokers on free loopback ports and never uses that one.
