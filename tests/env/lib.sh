# shellcheck shell=bash disable=SC2034 # the constants are used by the scripts that source this
# Shared names and helpers of berth's test environment; sourced by up.sh,
# down.sh and host.sh, never run on its own.
#
# Layout under $DIR (default /tmp/berth-test):
#   local/                the "local" engine (root network namespace)
#   hosts/hX/             one test host: engine data/exec roots, run/ (its /run,
#                         holding docker.sock), home/ (its /root), view/ (its
#                         $DIR/view, see VIEW), sshd files
#   view/                 the test machine's (and local engine's) $DIR/view
#   bastion/              the bastion's sshd
#   registry/, registry-auth/   the two registries (plain and htpasswd)
#   keys/, known_hosts, secrets.env, env.json

DIR=${BERTH_TEST_DIR:-/tmp/berth-test}
# A second fleet (the benchmarks') coexists with its own names and addresses:
# PREFIX names its namespaces, bridges and veths, NET is the first two octets.
PREFIX=${BERTH_TEST_NS_PREFIX:-berth}
NET=${BERTH_TEST_NET:-198.18}
# BASE picks the third octet: the outer network is NET.BASE.0/24, the inner one
# NET.(BASE+1).0/24, so fleets in one /16 stand side by side (even BASE values).
BASE=${BERTH_TEST_NET_BASE:-0}
[[ $PREFIX =~ ^[a-z][a-z0-9]{1,3}$ || $PREFIX == berth ]] || {
  printf '[berth-test] error: BERTH_TEST_NS_PREFIX must be 2-4 of [a-z0-9] (veth names fit 15 chars)\n' >&2
  exit 1
}
[[ $NET =~ ^[0-9]{1,3}\.[0-9]{1,3}$ ]] || {
  printf '[berth-test] error: BERTH_TEST_NET must be two octets like 198.19\n' >&2
  exit 1
}
[[ $BASE =~ ^[0-9]{1,3}$ ]] && ((BASE < 255)) || {
  printf '[berth-test] error: BERTH_TEST_NET_BASE must be a third octet below 255\n' >&2
  exit 1
}
OUTER=$NET.$BASE
INNER=$NET.$((BASE + 1))
VETH=bv # root-side veth names: bv-hX, bv-bastion0/1 (PREFIXv-... for another prefix)
[[ $PREFIX == berth ]] || VETH=${PREFIX}v
DOCKER=/usr/bin/docker # Debian's CLI, matching its dockerd (not whatever is first on PATH)
IMAGE=berth-test:latest
BR0=$PREFIX-br0 # $OUTER.0/24, root namespace at .1
BR1=$PREFIX-br1 # $INNER.0/24, no address in the root namespace
INNER_NET=$INNER.0/24
BASTION_NS=$PREFIX-bastion
BASTION_ADDR=$OUTER.10
BASTION_INNER_ADDR=$INNER.10
PASSWORD_HOST=h1
PASSWORD_USER=${PREFIX}pw # per fleet: each fleet sets its own password
# Where tests put the files berth writes on a host. The hosts share this
# machine's file system, so each host sees its own hosts/hX/view mounted at
# this one path (in its sshd's and its engine's mount namespaces): a file
# written on h1 is not on h2, and a test reads it from h1's directory.
VIEW=$DIR/view

log() { printf '[berth-test] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

host_dir() { printf '%s/hosts/%s' "$DIR" "$1"; }
host_view() { printf '%s/hosts/%s/view' "$DIR" "$1"; }
host_ns() { printf '%s-%s' "$PREFIX" "$1"; }
host_veth() { printf '%s-%s' "$VETH" "$1"; } # root-side end of the host's link

# alive PID: the process exists and is not a zombie waiting to be reaped.
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  [[ ${stat##*) } != Z* ]]
}

# pid_of PIDFILE PATTERN: prints the pid recorded in PIDFILE when that process
# still runs and its command line contains PATTERN (guards against reused pids).
pid_of() {
  local pid
  [[ -s $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2" || return 1
  printf '%s' "$pid"
}

# kill_pids SECONDS PID...: TERM, then KILL whatever is left after SECONDS.
kill_pids() {
  local seconds=$1 pid deadline
  shift
  (($#)) || return 0
  kill -TERM "$@" 2>/dev/null || true
  deadline=$((SECONDS + seconds))
  for pid in "$@"; do
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
  done
  for pid in "$@"; do
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  deadline=$((SECONDS + 10))
  for pid in "$@"; do
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
  done
}

# stop_pidfile PIDFILE PATTERN SECONDS: stops the recorded process; no-op when gone.
stop_pidfile() {
  local pid
  if pid=$(pid_of "$1" "$2"); then kill_pids "$3" "$pid"; fi
  rm -f "$1"
}

# wait_for SECONDS WHAT COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local deadline=$((SECONDS + $1)) seconds=$1 what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out after ${seconds}s waiting for $what"
    sleep 0.1
  done
}

engine_ping() { curl -sf --max-time 2 --unix-socket "$1" http://engine/_ping; }

# stop_engine DIR SOCKET: kills the engine's running containers first, since
# on shutdown dockerd gives each one its full stop timeout (10 s for busybox
# sleep, which ignores SIGTERM).
stop_engine() {
  local id pids=()
  if pid_of "$1/dockerd.pid" dockerd >/dev/null; then
    for id in $(curl -sf --max-time 5 --unix-socket "$2" http://engine/containers/json | grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4); do
      curl -s --max-time 10 -o /dev/null --unix-socket "$2" -X POST "http://engine/containers/$id/kill" &
      pids+=($!)
    done
    for id in "${pids[@]}"; do wait "$id" || true; done
  fi
  stop_pidfile "$1/dockerd.pid" dockerd 20
}

# start_engine DIR SOCKET [NETNS [GROUP]]: a private dockerd with its roots
# under DIR; in NETNS when given. Returns at once; wait with engine_ping.
start_engine() {
  local d=$1 sock=$2 ns=${3:-} group=${4:-}
  if pid_of "$d/dockerd.pid" dockerd >/dev/null; then return 0; fi
  rm -f "$d/dockerd.pid" "$sock"
  mkdir -p "$d/data" "$d/exec" "$(dirname "$sock")"
  # Its own daemon.json (not the machine's), and its own key.json so that each
  # engine has its own ID, as on separate machines.
  printf '{ "deprecated-key-path": "%s" }\n' "$d/key.json" >"$d/daemon.json"
  local -a cmd=(dockerd --config-file "$d/daemon.json"
    --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/dockerd.pid"
    -H "unix://$sock" --iptables=false --ip-forward=false --ip-masq=false --bridge=none
    --shutdown-timeout 2)
  [[ -n $group ]] && cmd+=(-G "$group")
  # `ip netns exec` would remount /sys and lose the cgroup v1 mounts dockerd needs.
  [[ -n $ns ]] && cmd=(nsenter "--net=/run/netns/$ns" "${cmd[@]}")
  # Each host engine in its own mount namespace, as on a machine of its own, so
  # that engines' recursive bind mounts of "/" (berth's file helper) do not copy
  # each other's mounts (concurrent ones multiply until mount(2) fails ENOSPC).
  # In that namespace the host's view/ is mounted at $VIEW (see VIEW).
  # BERTH_TEST_PRIVATE_MOUNTS=0 shares the machine's mount namespace instead
  # (then the hosts share one view, and tests that tell hosts' files apart fail).
  if [[ -n $ns && ${BERTH_TEST_PRIVATE_MOUNTS:-1} == 1 ]]; then
    mkdir -p "$d/view" "$VIEW"
    # shellcheck disable=SC2016 # expanded by the inner sh
    cmd=(unshare --mount --propagation private sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
      sh "$d/view" "$VIEW" "${cmd[@]}")
  fi
  setsid "${cmd[@]}" </dev/null >>"$d/dockerd.log" 2>&1 &
}

# start_sshd DIR NETNS: sshd inside NETNS, with DIR/run as its /run (so
# /var/run/docker.sock is that host's engine), DIR/home as /root and DIR/view
# as $VIEW.
start_sshd() {
  local d=$1 ns=$2
  if pid_of "$d/sshd.pid" sshd >/dev/null; then return 0; fi
  rm -f "$d/sshd.pid"
  mkdir -p "$d/run/sshd" "$d/home" "$d/view" "$VIEW"
  chmod 0755 "$d/run/sshd" # sshd's privilege separation directory, looked up under /run
  # shellcheck disable=SC2016 # expanded by the inner sh
  setsid ip netns exec "$ns" unshare --mount --propagation private sh -c \
    'mount --bind "$1/run" /run && mount --bind "$1/home" /root && mount --bind "$1/view" "$2" &&
      exec /usr/sbin/sshd -D -f "$1/sshd_config" -E "$1/sshd.log"' \
    sh "$d" "$VIEW" </dev/null >>"$d/sshd.log" 2>&1 &
}

# sshd writes its PidFile only once it listens.
wait_sshd() { wait_for 10 "sshd in $2" pid_of "$1/sshd.pid" sshd; }

# The engine settings of one test host, shared by up.sh and host.sh.
start_host_engine() {
  local name=$1 d group=
  d=$(host_dir "$name")
  [[ $name == "$PASSWORD_HOST" ]] && group=$PASSWORD_USER
  start_engine "$d" "$d/run/docker.sock" "$(host_ns "$name")" "$group"
}
