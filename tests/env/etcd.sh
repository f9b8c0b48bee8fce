#!/usr/bin/env bash
# Real etcd (Debian's etcd-server, 3.4) for the etcd state backend's tests.
#   bash tests/env/etcd.sh up     start what is not running (idempotent; restarts a killed member)
#   bash tests/env/etcd.sh down   stop by PID and delete everything (safe twice)
# Under ${BERTH_ETCD_DIR:-/tmp/berth-etcd}, on loopback, ten ports from ${BERTH_ETCD_PORT:-23790}:
#   single/   one member, plain HTTP           client +0, peer +1
#   m0..m2/   a 3-member cluster, plain HTTP   clients +2 +4 +6, peers +3 +5 +7
#   secure/   one member, TLS with client certificates and auth (user and password),
#             certificates made here with openssl; client +8, peer +9
# Writes env.json (endpoints, PID files, certificate paths, the user's password file).
set -euo pipefail
DIR=${BERTH_ETCD_DIR:-/tmp/berth-etcd}
BASE=${BERTH_ETCD_PORT:-23790}
# shellcheck source-path=SCRIPTDIR source=apt.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/apt.sh"
PACKAGES=(etcd-server etcd-client openssl curl)
CLUSTER="m0=http://127.0.0.1:$((BASE + 3)),m1=http://127.0.0.1:$((BASE + 5)),m2=http://127.0.0.1:$((BASE + 7))"

log() { printf 'etcd.sh: %s\n' "$*" >&2; }

running() { [[ -s $1/pid ]] && kill -0 "$(cat "$1/pid")" 2>/dev/null; }

# start NAME CLIENT_URL PEER_PORT EXTRA...: one member in $DIR/NAME (its data kept across restarts).
start() {
  local name=$1 client=$2 peer=$3 dir=$DIR/$1
  shift 3
  mkdir -p "$dir"
  running "$dir" && return 0
  setsid etcd --name "$name" --data-dir "$dir/data" \
    --listen-client-urls "$client" --advertise-client-urls "$client" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --heartbeat-interval 100 --election-timeout 1000 --logger zap --log-outputs "$dir/etcd.log" \
    "$@" </dev/null >>"$dir/etcd.log" 2>&1 &
  echo $! >"$dir/pid"
}

# wait_healthy URL CURL_ARGS...: until the member answers a range on its gateway (with auth on,
# the answer is that the request has no user: the member is up all the same).
wait_healthy() {
  local url=$1 i
  shift
  for ((i = 0; i < 100; i++)); do
    curl -s "$@" -X POST -d '{"key":"AA=="}' "$url/v3/kv/range" 2>/dev/null | grep -q '"header"\|user name is empty' &&
      return 0
    sleep 0.2
  done
  log "etcd at $url did not become ready; see $DIR/*/etcd.log"
  return 1
}

make_certs() {
  local c=$DIR/certs
  [[ -s $c/client.pem ]] && return 0
  mkdir -p "$c" && chmod 0700 "$c"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=berth-test-etcd-ca" \
    -keyout "$c/ca-key.pem" -out "$c/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$c/server-key.pem" -out "$c/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >"$c/server.ext"
  openssl x509 -req -in "$c/server.csr" -CA "$c/ca.pem" -CAkey "$c/ca-key.pem" -CAcreateserial -days 30 \
    -extfile "$c/server.ext" -out "$c/server.pem" 2>/dev/null
  # No CN: etcd's gateway refuses client certificates with one ("CommonName ... will be ignored");
  # the user comes from the password, checked through the token.
  openssl req -newkey rsa:2048 -nodes -subj "/O=berth-test-client" -keyout "$c/client-key.pem" -out "$c/client.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >"$c/client.ext"
  openssl x509 -req -in "$c/client.csr" -CA "$c/ca.pem" -CAkey "$c/ca-key.pem" -CAcreateserial -days 30 \
    -extfile "$c/client.ext" -out "$c/client.pem" 2>/dev/null
  chmod 0600 "$c"/*-key.pem
}

# Auth on the secure member: user berth may read and write /berth-secure/ only.
enable_auth() {
  local c=$DIR/certs ctl
  [[ -e $DIR/secure/auth-enabled ]] && return 0
  [[ -s $DIR/secure/password ]] || (umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$DIR/secure/password")
  ctl=(etcdctl --endpoints "https://127.0.0.1:$((BASE + 8))" --cacert "$c/ca.pem" --cert "$c/client.pem" --key "$c/client-key.pem")
  ETCDCTL_API=3 "${ctl[@]}" user add "root:$(cat "$DIR/secure/password")" >/dev/null
  ETCDCTL_API=3 "${ctl[@]}" user add "berth:$(cat "$DIR/secure/password")" >/dev/null
  ETCDCTL_API=3 "${ctl[@]}" role add berth >/dev/null
  ETCDCTL_API=3 "${ctl[@]}" role grant-permission berth --prefix=true readwrite /berth-secure/ >/dev/null
  ETCDCTL_API=3 "${ctl[@]}" user grant-role berth berth >/dev/null
  ETCDCTL_API=3 "${ctl[@]}" role add root >/dev/null
  ETCDCTL_API=3 "${ctl[@]}" user grant-role root root >/dev/null
  ETCDCTL_API=3 "${ctl[@]}" auth enable >/dev/null
  touch "$DIR/secure/auth-enabled"
}

up() {
  install_missing "${PACKAGES[@]}"
  mkdir -p "$DIR" && chmod 0700 "$DIR"
  make_certs
  local i c=$DIR/certs
  start single "http://127.0.0.1:$BASE" $((BASE + 1)) --initial-cluster "single=http://127.0.0.1:$((BASE + 1))"
  for i in 0 1 2; do
    start "m$i" "http://127.0.0.1:$((BASE + 2 + 2 * i))" $((BASE + 3 + 2 * i)) \
      --initial-cluster "$CLUSTER" --initial-cluster-state new --initial-cluster-token berth-test-cluster
  done
  start secure "https://127.0.0.1:$((BASE + 8))" $((BASE + 9)) \
    --initial-cluster "secure=http://127.0.0.1:$((BASE + 9))" \
    --cert-file "$c/server.pem" --key-file "$c/server-key.pem" --trusted-ca-file "$c/ca.pem" --client-cert-auth
  wait_healthy "http://127.0.0.1:$BASE"
  for i in 0 1 2; do wait_healthy "http://127.0.0.1:$((BASE + 2 + 2 * i))"; done
  wait_healthy "https://127.0.0.1:$((BASE + 8))" --cacert "$c/ca.pem" --cert "$c/client.pem" --key "$c/client-key.pem"
  enable_auth
  cat >"$DIR/env.json.tmp" <<EOF
{
  "dir": "$DIR",
  "single": { "endpoints": ["127.0.0.1:$BASE"] },
  "cluster": {
    "endpoints": ["127.0.0.1:$((BASE + 2))", "127.0.0.1:$((BASE + 4))", "127.0.0.1:$((BASE + 6))"],
    "members": [
      { "name": "m0", "endpoint": "127.0.0.1:$((BASE + 2))", "pidFile": "$DIR/m0/pid" },
      { "name": "m1", "endpoint": "127.0.0.1:$((BASE + 4))", "pidFile": "$DIR/m1/pid" },
      { "name": "m2", "endpoint": "127.0.0.1:$((BASE + 6))", "pidFile": "$DIR/m2/pid" }
    ]
  },
  "secure": {
    "endpoints": ["https://127.0.0.1:$((BASE + 8))"],
    "prefix": "/berth-secure/",
    "ca": "$c/ca.pem", "cert": "$c/client.pem", "key": "$c/client-key.pem",
    "user": "berth", "passwordFile": "$DIR/secure/password"
  }
}
EOF
  mv "$DIR/env.json.tmp" "$DIR/env.json"
  log "up: single :$BASE, cluster :$((BASE + 2)),:$((BASE + 4)),:$((BASE + 6)), TLS+auth :$((BASE + 8)) ($DIR/env.json)"
}

down() {
  local pidfile pid
  for pidfile in "$DIR"/*/pid; do
    [[ -s $pidfile ]] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$DIR"
}

case "${1:-}" in
  up) up ;;
  down | stop) down ;;
  *) echo "usage: $0 up|down" >&2 && exit 2 ;;
esac
