#!/usr/bin/env bash
# demo.sh - the first quick-start command: installs what is missing, builds, creates a
# development CA and certificates, starts a local Mosquitto (TLS, client certificates,
# pattern ACLs), posfleetd on embedded SQLite and six simulated terminals (one with paper
# out, one tampered, one on a critical battery), waits until they have reported and prints
# the fleet and its alerts as the user ops sees them (logged in over HTTPS); then 200 more terminals in posfleet-sim get a
# signed firmware through a staged rollout (two of them fail the new firmware's self-test
# and roll back), and the rollout's progress is printed. The stack keeps running in the
# background; the last lines give the console's address and the user's password.
#
#   packaging/scripts/demo.sh          start (or restart) the demo
#   packaging/scripts/demo.sh stop     stop everything the demo started
#
# Everything lives in run/demo/ in the source tree (POSFLEET_DEMO_RUN: elsewhere); only
# loopback addresses are used. POSFLEET_DEMO_PREBUILT=1 uses the build in POSFLEET_DEMO_BUILD
# as it is, without installing or building (it_console_demo runs the demo that way);
# POSFLEET_DEMO_ROLLOUT_WAIT_S (default 300) is how long it waits for its rollout to finish.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
run=${POSFLEET_DEMO_RUN:-$src/run/demo}
build=${POSFLEET_DEMO_BUILD:-$src/build}

stop() {
    [ -d "$run/pids" ] || return 0
    for f in "$run"/pids/*; do
        [ -e "$f" ] || continue
        pid=$(cat "$f")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$f"
    done
}

if [ "${1:-}" = stop ]; then
    stop
    echo "posfleet demo stopped (state kept in $run; delete it for a fresh start)"
    exit 0
fi

if [ "${POSFLEET_DEMO_PREBUILT:-0}" != 1 ]; then
    "$src/packaging/scripts/deps.sh"
    echo "== building in $build" >&2
    # A release build: no power-cut injection points (POSFLEET_FAULT) in the binaries.
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPOSFLEET_SANITIZE=OFF \
        -DPOSFLEET_FAULT=OFF >/dev/null
    cmake --build "$build" -j"$(nproc)" >/dev/null
fi

keys=$build/keys/posfleet-keys
cli=$build/server/cli/posfleet
stop
rm -rf "$run"
mkdir -p "$run"/{pids,logs,broker/data,broker/capath,server,agents}
chmod 700 "$run"

free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 12000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
    echo "demo: no free port" >&2; exit 1
}
# wait_for TIMEOUT_S WHAT CMD...: polls CMD until it succeeds.
wait_for() {
    local limit=$(( $(date +%s) + $1 )) what=$2; shift 2
    until "$@" >/dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$limit" ]; then
            echo "demo: timed out waiting for $what; logs in $run/logs" >&2; exit 1
        fi
        sleep 0.1
    done
}
spawn() { # NAME CMD...
    local name=$1; shift
    nohup "$@" >"$run/logs/$name.log" 2>&1 </dev/null &
    echo $! >"$run/pids/$name"
}

echo "== development PKI (device CA, broker, posfleetd and HTTPS API certificates)" >&2
pki=$run/pki
"$keys" ca-init --dir "$pki" --name "posfleet demo device CA" >/dev/null
"$keys" server-cert --dir "$pki" --cn broker --ip 127.0.0.1 --dns localhost >/dev/null
"$keys" server-cert --dir "$pki" --cn posfleetd >/dev/null
"$keys" server-cert --dir "$pki" --cn api --loopback >/dev/null

echo "== Mosquitto" >&2
mport=$(free_port)
cp "$src/packaging/mosquitto/posfleet.acl" "$run/broker/posfleet.acl"
"$keys" crl --dir "$pki" --capath "$run/broker/capath" --install-only >/dev/null
cp "$pki/crl.pem" "$run/broker/crl.pem"
sed -e "s|@ACL_FILE@|$run/broker/posfleet.acl|" -e "s|@USER@|$(id -un)|" \
    -e "s|@PORT@|$mport|" -e "s|@BIND@|127.0.0.1|" -e "s|@CAPATH@|$run/broker/capath|" \
    -e "s|@CRL_FILE@|$run/broker/crl.pem|" -e "s|@CERT_FILE@|$pki/broker.crt|" \
    -e "s|@KEY_FILE@|$pki/broker.key|" -e "s|@PERSIST_DIR@|$run/broker/data|" \
    -e "s|@ACL_PLUGIN@|$build/packaging/posfleet_acl.so|" \
    -e "s|@PUB_RATE@|100|" -e "s|@PUB_BURST@|400|" \
    "$src/packaging/mosquitto/posfleet.conf.in" >"$run/broker/mosquitto.conf"
OPENSSL_CONF="$src/packaging/mosquitto/openssl.cnf" \
    spawn mosquitto mosquitto -c "$run/broker/mosquitto.conf"
wait_for 20 "Mosquitto to listen on $mport" bash -c "exec 3<>/dev/tcp/127.0.0.1/$mport"

echo "== posfleetd" >&2
hport=$(free_port)
"$keys" api-token --name demo-ops --role ops --file "$run/server/tokens" >"$run/ops.token"
"$keys" api-token --name demo-support --role support --file "$run/server/tokens" >"$run/support.token"
# The tokens file bootstraps the first admin (docs/security.md); the admin makes the ops user
# the demo logs in as.
"$keys" api-token --name demo-admin --role admin --file "$run/server/tokens" >"$run/admin.token"
chmod 600 "$run"/*.token
cat >"$run/server/posfleetd.conf" <<CONF
mqtt.host = 127.0.0.1
mqtt.port = $mport
mqtt.ca = $pki/ca.crt
mqtt.cert = $pki/posfleetd.crt
mqtt.key = $pki/posfleetd.key
store.path = $run/server/posfleetd.db
http.addr = 127.0.0.1
http.port = $hport
http.tls = on
http.cert = $pki/api.crt
http.key = $pki/api.key
http.tokens = $run/server/tokens
http.console_dir = $src/console
report_interval_s = 10
silent_after = 3
update.trust_root = $run/keys/root.pub
rollout.tick_ms = 500
CONF
"$keys" init --dir "$run/keys" >/dev/null
"$keys" add --dir "$run/keys" --role firmware --name demo-fw >/dev/null
spawn posfleetd "$build/server/posfleetd" -c "$run/server/posfleetd.conf"
export POSFLEET_URL=https://127.0.0.1:$hport POSFLEET_CACERT=$pki/ca.crt
export POSFLEET_TOKEN_FILE=$run/admin.token
wait_for 20 "posfleetd's API" "$cli" summary
# A person logs in: the ops user (made once, its password kept in run/demo), a session for the
# CLI in run/demo/cli (XDG_CONFIG_HOME), and the same login for the console.
if [ ! -s "$run/ops.password" ]; then
    (umask 077; head -c 12 /dev/urandom | base64 | tr -d '/+=' >"$run/ops.password")
    printf '{"name":"ops","role":"ops","org":"headquarters","password":"%s"}' \
        "$(cat "$run/ops.password")" |
        curl -fsS --cacert "$pki/ca.crt" -H "Authorization: Bearer $(cat "$run/admin.token")" \
            -H 'Content-Type: application/json' --data-binary @- "$POSFLEET_URL/v1/users" >/dev/null
fi
unset POSFLEET_TOKEN_FILE
export XDG_CONFIG_HOME=$run/cli
POSFLEET_PASSWORD=$(cat "$run/ops.password") "$cli" login --user ops >/dev/null
"$cli" whoami

echo "== six simulated terminals" >&2
#        serial       model    fault
fleet=("PF-DEMO-0001 PX-500  -"
       "PF-DEMO-0002 PX-500  paper=out"
       "PF-DEMO-0003 PX-700  tamper=1"
       "PF-DEMO-0004 PX-700  battery_pct=3 charging=0"
       "PF-DEMO-0005 PX-500  -"
       "PF-DEMO-0006 PX-300  paper=low")
for line in "${fleet[@]}"; do
    read -r serial model faults <<<"$line"
    "$cli" device add "$serial" --model "$model" --hw-rev r2 >/dev/null
    "$keys" device-cert --dir "$pki" --serial "$serial" >/dev/null
    d=$run/agents/$serial
    mkdir -p "$d/state" "$d/hal"
    for kv in $faults; do [ "$kv" = - ] || echo "${kv#*=}" >"$d/hal/${kv%%=*}"; done
    cat >"$d/agent.conf" <<CONF
serial = $serial
model = $model
hw_rev = r2
broker.host = 127.0.0.1
broker.port = $mport
tls.ca = $pki/ca.crt
tls.cert = $pki/devices/$serial.crt
tls.key = $pki/devices/$serial.key
state_dir = $d/state
hal.dir = $d/hal
health_interval_s = 10
fw_version = 2.3.1
fee_version = 2026.11.1
CONF
    spawn "agent-$serial" "$build/agent/posfleet-agent" -c "$d/agent.conf"
done

reported() { # every terminal online with a health report
    local n
    n=$("$cli" --json devices | grep -c '"battery_pct": [0-9]' || true)
    [ "$n" -ge ${#fleet[@]} ]
}
wait_for 60 "all terminals to report" reported
alerts_in() { [ "$("$cli" --json alerts | grep -c '"kind"')" -ge 3 ]; }
wait_for 30 "alerts to be derived" alerts_in

echo
echo "posfleet devices"
"$cli" devices
echo
echo "posfleet alerts"
"$cli" alerts

echo "== 200 terminals in posfleet-sim, and a staged firmware rollout to them" >&2
sim=$build/tests/sim/posfleet-sim
mkdir -p "$run/sim"
"$sim" --count 200 --prefix PF-SIM- --seed 3 --emit-csv "$run/sim/fleet.csv"
POSFLEET_KEYS=$keys "$cli" device import "$run/sim/fleet.csv" --pki "$pki" \
    --credentials-out "$run/sim/creds" >/dev/null
spawn sim "$sim" --credentials "$run/sim/creds" --broker "127.0.0.1:$mport" --ca "$pki/ca.crt" \
    --interval 10 --rate 100 --fw-version 2.3.1 --update-trust-root "$run/keys/root.pub" \
    --fault selftest_fail=1 --faults-out "$run/sim/faults" --state-dir "$run/sim/state" \
    --status "$run/sim/status.json" --quiet
online() { [ "$("$cli" --json summary | sed -n 's/.*"online": *\([0-9]*\).*/\1/p')" -ge 206 ]; }
wait_for 120 "the simulated terminals to connect" online
head -c 262144 /dev/urandom >"$run/sim/fw-2.4.0.img"
"$build/packaging/posfleet-pack" create --kind firmware --version 2.4.0 --model PX-500 \
    --hw-rev r1 --keyring "$run/keys" --key "$run/keys/signing/demo-fw.key" \
    -o "$run/sim/fw-2.4.0.tar" "$run/sim/fw-2.4.0.img" >/dev/null
bundle=$("$cli" --json bundle upload "$run/sim/fw-2.4.0.tar" | sed -n 's/.*"id": *"\([0-9a-f]*\)".*/\1/p' | head -1)
rid=$("$cli" --json rollout create "$bundle" --name "firmware 2.4.0" \
    --cohort "fw-versions=2.3.1;models=PX-500;hw-revs=r1" --stages 10%,50%,100% --soak 5s --window 00:00-24:00 \
    --max-concurrent 50 --max-rollback-rate 0.2 | sed -n 's/^ *"id": *\([0-9]*\).*/\1/p' | head -1)
finished() { "$cli" --json rollout show "$rid" | grep -q '"state": *"\(completed\|paused\)"'; }
wait_for "${POSFLEET_DEMO_ROLLOUT_WAIT_S:-300}" "rollout $rid to finish" finished
echo
echo "posfleet rollout show $rid"
"$cli" rollout show "$rid"
echo
echo "posfleet summary"
"$cli" summary
cat <<EOT

The demo stack is running in the background (logs in $run/logs):
  Mosquitto (MQTT over TLS)  127.0.0.1:$mport   CA $pki/ca.crt
  posfleetd (HTTPS API)      $POSFLEET_URL   CA $pki/ca.crt
The console (back office):   $POSFLEET_URL/   user ops, password $(cat "$run/ops.password")
  (the browser warns about the development CA: trust $pki/ca.crt or accept it once)
Use the CLI as ops (logged in as ops; the session lasts 12 hours):
  export POSFLEET_URL=$POSFLEET_URL POSFLEET_CACERT=$pki/ca.crt XDG_CONFIG_HOME=$run/cli
  POSFLEET_PASSWORD=\$(cat $run/ops.password) $cli login --user ops    # when it has expired
  $cli device PF-DEMO-0003
  echo 0 > $run/agents/PF-DEMO-0003/hal/tamper      # clear the tamper switch, watch the alert close
  $cli rollout list
  $cli rollout members $rid --status rolled_back
Stop it with:
  packaging/scripts/demo.sh stop
EOT
