#!/usr/bin/env bash
# Brings up berth's real test environment on this machine (root, Debian 12):
# a private "local" dockerd, two registries on loopback (plain and htpasswd),
# and a fleet of test hosts in network namespaces, each with its own dockerd
# and sshd, the last one reachable only through a bastion. Writes
# $BERTH_TEST_DIR/env.json (default /tmp/berth-test) for the tests.
# Idempotent: a second run reuses what is already up. Undo with down.sh.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$HERE/lib.sh"
# shellcheck source-path=SCRIPTDIR source=apt.sh
source "$HERE/apt.sh"

N=${BERTH_TEST_HOSTS:-3}
PACKAGES=(docker.io busybox-static openssh-server openssh-client docker-registry iproute2 apache2-utils curl)
APPLETS=(sh tar sleep cat ls mkdir head stat echo env id true false printf rm touch chmod chown ln wc test mv cp find grep sed)

rand_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

load_secrets() {
  if [[ ! -s $DIR/secrets.env ]]; then
    (
      umask 077
      cat >"$DIR/secrets.env.tmp" <<EOF
REGISTRY_USER=berth-$(rand_hex 4)
REGISTRY_PASSWORD=$(rand_hex 16)
KEY_PASSPHRASE=$(rand_hex 16)
USER_PASSWORD=$(rand_hex 16)
EOF
      mv "$DIR/secrets.env.tmp" "$DIR/secrets.env"
    )
  fi
  # shellcheck source=/dev/null
  source "$DIR/secrets.env"
}

make_keys() {
  local k=$DIR/keys
  mkdir -p "$k"
  chmod 0700 "$k"
  [[ -f $k/id_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -C berth-test -f "$k/id_ed25519"
  [[ -f $k/id_ed25519_pass ]] || ssh-keygen -q -t ed25519 -N "$KEY_PASSPHRASE" -C berth-test-pass -f "$k/id_ed25519_pass"
  [[ -f $k/wrong_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -C berth-test-wrong -f "$k/wrong_ed25519"
  cat "$k/id_ed25519.pub" "$k/id_ed25519_pass.pub" >"$k/authorized_keys"
}

make_password_user() {
  id -u "$PASSWORD_USER" >/dev/null 2>&1 ||
    useradd --user-group --no-create-home --home-dir /nonexistent --shell /bin/sh "$PASSWORD_USER"
  printf '%s:%s\n' "$PASSWORD_USER" "$USER_PASSWORD" | chpasswd
}

ensure_bridge() {
  ip link show "$1" >/dev/null 2>&1 || ip link add "$1" type bridge
  ip link set "$1" up
}

ensure_netns() {
  [[ -e /run/netns/$1 ]] || ip netns add "$1"
  ip -n "$1" link set lo up
}

# ensure_leg NETNS INNER_IF ROOT_IF BRIDGE CIDR: a veth from BRIDGE into NETNS.
ensure_leg() {
  local ns=$1 inner=$2 outer=$3 br=$4 cidr=$5
  ip link show "$outer" >/dev/null 2>&1 || ip link add "$outer" type veth peer name "$inner" netns "$ns"
  ip link set "$outer" master "$br" up
  ip -n "$ns" addr replace "$cidr" dev "$inner"
  ip -n "$ns" link set "$inner" up
}

host_address() { # the last host sits on the inner network only
  if (($1 < N)); then printf '%s.%d' "$OUTER" $((10 + $1)); else printf '%s.%d' "$INNER" $((10 + $1)); fi
}

make_network() {
  local i name
  ensure_bridge "$BR0"
  ensure_bridge "$BR1"
  ip addr replace "$OUTER.1/24" dev "$BR0"
  # Without this the root namespace would send inner-network packets out of
  # its default route instead of failing at once.
  ip route replace unreachable "$INNER_NET"
  ensure_netns "$BASTION_NS"
  ensure_leg "$BASTION_NS" eth0 "$VETH-bastion0" "$BR0" "$BASTION_ADDR/24"
  ensure_leg "$BASTION_NS" eth1 "$VETH-bastion1" "$BR1" "$BASTION_INNER_ADDR/24"
  for ((i = 1; i <= N; i++)); do
    name=h$i
    ensure_netns "$(host_ns "$name")"
    if ((i < N)); then
      ensure_leg "$(host_ns "$name")" eth0 "$(host_veth "$name")" "$BR0" "$(host_address "$i")/24"
    else
      ensure_leg "$(host_ns "$name")" eth0 "$(host_veth "$name")" "$BR1" "$(host_address "$i")/24"
    fi
  done
}

make_rootfs() {
  local r=$DIR/image/rootfs a
  [[ -x $r/bin/busybox ]] && return 0
  rm -rf "$DIR/image"
  mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$DIR/image/pullme" "$DIR/image/private"
  chmod 1777 "$r/tmp"
  cp /bin/busybox "$r/bin/busybox"
  for a in "${APPLETS[@]}"; do ln -s busybox "$r/bin/$a"; done
  # The registry images differ from berth-test, so pulling them moves layers.
  echo pullme >"$DIR/image/pullme/berth-image"
  echo private >"$DIR/image/private/berth-image"
}

# import_image SOCKET [REF [MARKER_DIR]]: berth-test (or REF with a marker file).
import_image() {
  local sock=$1 ref=${2:-$IMAGE} marker=${3:-} out
  local -a extra=()
  [[ -z $marker ]] || extra=(-C "$marker" berth-image)
  if [[ -z $marker ]] && curl -sf --unix-socket "$sock" "http://engine/images/$ref/json" >/dev/null; then return 0; fi
  out=$(tar -c -C "$DIR/image/rootfs" . "${extra[@]}" |
    "$DOCKER" -H "unix://$sock" import -c 'CMD ["sleep","1000000"]' -c 'ENV PATH=/bin' - "$ref" 2>&1) ||
    die "importing $ref into $sock: $out"
}

port_busy() { [[ -n $(ss -Hltn "sport = :$1") ]]; }

# registry_port DIR FROM: the port recorded for DIR, or the first free one from FROM.
registry_port() {
  local d=$1 p=$2
  if [[ -s $d/port ]]; then
    cat "$d/port"
    return 0
  fi
  while port_busy "$p"; do
    p=$((p + 1))
    ((p < $2 + 100)) || die "no free port from $2"
  done
  echo "$p" >"$d/port"
  echo "$p"
}

# start_registry DIR PORT [HTPASSWD_FILE]
start_registry() {
  local d=$1 port=$2 htpasswd=${3:-}
  if pid_of "$d/registry.pid" "$d/config.yml" >/dev/null; then return 0; fi
  mkdir -p "$d/data"
  {
    cat <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $d/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: $(rand_hex 16)
EOF
    if [[ -n $htpasswd ]]; then
      cat <<EOF
auth:
  htpasswd:
    realm: berth-test
    path: $htpasswd
EOF
    fi
  } >"$d/config.yml"
  setsid docker-registry serve "$d/config.yml" </dev/null >>"$d/registry.log" 2>&1 &
  echo $! >"$d/registry.pid"
}

registry_ready() { pid_of "$1/registry.pid" "$1/config.yml" && curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$2/v2/"; }

# push_image REPO PORT MARKER [USER PASSWORD]: puts 127.0.0.1:PORT/berth/REPO:latest
# into that registry from the local engine, leaving no tag behind locally.
push_image() {
  local repo=$1 port=$2 marker=$3 user=${4:-} password=${5:-} out
  local ref=127.0.0.1:$port/berth/$repo:latest sock=$DIR/local/docker.sock
  local -a auth=() docker=("$DOCKER" --config "$DIR/docker-config" -H "unix://$sock")
  [[ -z $user ]] || auth=(-u "$user:$password")
  if curl -sf "${auth[@]}" -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://127.0.0.1:$port/v2/berth/$repo/manifests/latest"; then return 0; fi
  import_image "$sock" "$ref" "$DIR/image/$marker"
  if [[ -n $user ]]; then
    out=$("${docker[@]}" login -u "$user" --password-stdin "127.0.0.1:$port" <<<"$password" 2>&1) ||
      die "logging in to 127.0.0.1:$port: $out"
  fi
  out=$("${docker[@]}" push "$ref" 2>&1) || die "pushing $ref: $out"
  out=$("${docker[@]}" rmi "$ref" 2>&1) || die "untagging $ref: $out"
}

# write_sshd_config DIR PASSWORD_AUTH(yes|no)
write_sshd_config() {
  local d=$1
  mkdir -p "$d"
  [[ -f $d/ssh_host_ed25519_key ]] || ssh-keygen -q -t ed25519 -N '' -C "$(basename "$d")" -f "$d/ssh_host_ed25519_key"
  cat >"$d/sshd_config" <<EOF
Port 22
HostKey $d/ssh_host_ed25519_key
PidFile $d/sshd.pid
AuthorizedKeysFile $DIR/keys/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication $2
KbdInteractiveAuthentication no
AllowStreamLocalForwarding yes
AllowTcpForwarding yes
MaxStartups 100
MaxSessions 100
PrintMotd no
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
}

write_known_hosts() {
  local i key
  {
    key=$(cut -d' ' -f1,2 "$DIR/bastion/ssh_host_ed25519_key.pub")
    printf '%s %s\n' "$BASTION_ADDR" "$key" "$BASTION_INNER_ADDR" "$key"
    for ((i = 1; i <= N; i++)); do
      printf '%s %s\n' "$(host_address "$i")" "$(cut -d' ' -f1,2 "$(host_dir "h$i")/ssh_host_ed25519_key.pub")"
    done
  } >"$DIR/known_hosts.tmp"
  mv "$DIR/known_hosts.tmp" "$DIR/known_hosts"
}

write_env_json() {
  local i d hosts=""
  for ((i = 1; i <= N; i++)); do
    d=$(host_dir "h$i")
    ((i == 1)) || hosts+=$',\n'
    hosts+=$(printf '    { "name": "h%d", "address": "%s", "port": 22, "netns": "%s",\n      "dir": "%s", "view": "%s", "dockerSocket": "%s", "viaBastion": %s }' \
      "$i" "$(host_address "$i")" "$(host_ns "h$i")" "$d" "$(host_view "h$i")" "$d/run/docker.sock" "$( ((i < N)) && echo false || echo true)")
  done
  cat >"$DIR/env.json.tmp" <<EOF
{
  "dir": "$DIR",
  "view": "$VIEW",
  "image": "$IMAGE",
  "local": { "socket": "$DIR/local/docker.sock" },
  "registry": {
    "address": "127.0.0.1:$PORT1", "image": "127.0.0.1:$PORT1/berth/pullme:latest",
    "authAddress": "127.0.0.1:$PORT2", "authImage": "127.0.0.1:$PORT2/berth/private:latest",
    "username": "$REGISTRY_USER", "password": "$REGISTRY_PASSWORD"
  },
  "ssh": {
    "user": "root", "privateKeyPath": "$DIR/keys/id_ed25519",
    "passphraseKeyPath": "$DIR/keys/id_ed25519_pass", "passphrase": "$KEY_PASSPHRASE",
    "wrongKeyPath": "$DIR/keys/wrong_ed25519", "knownHostsFile": "$DIR/known_hosts",
    "passwordUser": "$PASSWORD_USER", "password": "$USER_PASSWORD", "passwordHost": "$PASSWORD_HOST"
  },
  "bastion": { "name": "bastion", "address": "$BASTION_ADDR", "innerAddress": "$BASTION_INNER_ADDR", "port": 22 },
  "hosts": [
$hosts
  ]
}
EOF
  mv "$DIR/env.json.tmp" "$DIR/env.json"
}

# Runs its arguments as background jobs ("fn arg..." each) and fails if any failed.
run_parallel() {
  local job pids=() failed=0
  for job in "$@"; do
    eval "$job" &
    pids+=($!)
  done
  for job in "${pids[@]}"; do wait "$job" || failed=1; done
  ((failed == 0)) || die "bring-up failed (logs under $DIR)"
}

ready_engine() { # DIR SOCKET: waits for the engine, then gives it the test image
  wait_for 60 "dockerd at $2 (log: $1/dockerd.log)" engine_ping "$2"
  import_image "$2"
}

main() {
  local start=$SECONDS i
  ((EUID == 0)) || die "run as root"
  ((N >= 2)) || die "BERTH_TEST_HOSTS must be at least 2"
  install_missing "${PACKAGES[@]}"
  mkdir -p "$DIR"
  if [[ -s $DIR/host-count && $(<"$DIR/host-count") != "$N" ]]; then
    die "$DIR is up with $(<"$DIR/host-count") hosts, not $N: run tests/env/down.sh first"
  fi
  echo "$N" >"$DIR/host-count"
  load_secrets
  make_keys
  make_password_user
  make_network
  make_rootfs

  start_engine "$DIR/local" "$DIR/local/docker.sock"
  for ((i = 1; i <= N; i++)); do start_host_engine "h$i"; done

  mkdir -p "$DIR/registry" "$DIR/registry-auth"
  PORT1=$(registry_port "$DIR/registry" 5000)
  PORT2=$(registry_port "$DIR/registry-auth" $((PORT1 + 1)))
  start_registry "$DIR/registry" "$PORT1"
  if ! pid_of "$DIR/registry-auth/registry.pid" "$DIR/registry-auth/config.yml" >/dev/null; then
    htpasswd -Bbn "$REGISTRY_USER" "$REGISTRY_PASSWORD" >"$DIR/registry-auth/htpasswd"
  fi
  start_registry "$DIR/registry-auth" "$PORT2" "$DIR/registry-auth/htpasswd"

  write_sshd_config "$DIR/bastion" no
  start_sshd "$DIR/bastion" "$BASTION_NS"
  for ((i = 1; i <= N; i++)); do
    write_sshd_config "$(host_dir "h$i")" "$([[ h$i == "$PASSWORD_HOST" ]] && echo yes || echo no)"
    start_sshd "$(host_dir "h$i")" "$(host_ns "h$i")"
  done

  local jobs=("ready_engine '$DIR/local' '$DIR/local/docker.sock'") d
  for ((i = 1; i <= N; i++)); do
    d=$(host_dir "h$i")
    jobs+=("ready_engine '$d' '$d/run/docker.sock'")
  done
  run_parallel "${jobs[@]}"

  wait_for 30 "registry on port $PORT1" registry_ready "$DIR/registry" "$PORT1"
  wait_for 30 "registry on port $PORT2" registry_ready "$DIR/registry-auth" "$PORT2"
  run_parallel "push_image pullme $PORT1 pullme" \
    "push_image private $PORT2 private '$REGISTRY_USER' '$REGISTRY_PASSWORD'"

  wait_sshd "$DIR/bastion" "$BASTION_NS"
  for ((i = 1; i <= N; i++)); do wait_sshd "$(host_dir "h$i")" "$(host_ns "h$i")"; done
  write_known_hosts
  write_env_json
  log "up in $((SECONDS - start))s: $N hosts, env at $DIR/env.json"
}

main "$@"
