#!/usr/bin/env bash
# Fault injection on one test host of a running environment:
#   host.sh ACTION hX   with ACTION one of
#   sshd-stop | sshd-start     the host's sshd listener (like stopping Debian's
#                              ssh service, open sessions survive)
#   sshd-kill                  the listener and every open session (like the host
#                              dropping all SSH connections); undo with sshd-start
#   engine-stop | engine-start the host's dockerd (stopping it kills its containers)
#   link-down | link-up        the host's only network link
# Each action is safe to repeat and returns once it has taken effect.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$HERE/lib.sh"

(($# == 2)) || die "usage: host.sh sshd-stop|sshd-kill|sshd-start|engine-stop|engine-start|link-down|link-up hX"
action=$1 name=$2
d=$(host_dir "$name")
[[ $name =~ ^h[0-9]+$ && -d $d ]] || die "no test host \"$name\" under $DIR (is the environment up?)"

# The sshd processes in the host's network namespace: the listener and one or
# two per open connection.
sshd_processes() {
  local net pid
  net="net:[$(stat -L -c %i "/run/netns/$(host_ns "$name")")]"
  for pid in /proc/[0-9]*; do
    [[ $(cat "$pid/comm" 2>/dev/null) == sshd && $(readlink "$pid/ns/net" 2>/dev/null) == "$net" ]] &&
      printf '%s\n' "${pid#/proc/}"
  done
  return 0
}

case $action in
sshd-stop) stop_pidfile "$d/sshd.pid" sshd 5 ;;
sshd-kill)
  stop_pidfile "$d/sshd.pid" sshd 5
  mapfile -t sessions < <(sshd_processes)
  kill_pids 5 "${sessions[@]}"
  ;;
sshd-start)
  start_sshd "$d" "$(host_ns "$name")"
  wait_sshd "$d" "$(host_ns "$name")"
  ;;
engine-stop) stop_engine "$d" "$d/run/docker.sock" ;;
engine-start)
  start_host_engine "$name"
  wait_for 60 "dockerd of $name (log: $d/dockerd.log)" engine_ping "$d/run/docker.sock"
  ;;
link-down) ip link set "$(host_veth "$name")" down ;;
link-up) ip link set "$(host_veth "$name")" up ;;
*) die "unknown action \"$action\"" ;;
esac
