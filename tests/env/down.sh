#!/usr/bin/env bash
# Tears down what up.sh brought up: stops every process by PID (sshds,
# dockerds, registries, then anything left in our namespaces or started from
# under $BERTH_TEST_DIR), unmounts what dockerd left under that directory,
# deletes the namespaces, veths and bridges, and removes the directory.
# Safe to run twice, and after a half-finished up.sh.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$HERE/lib.sh"

our_namespaces() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$PREFIX-(h[0-9]+|bastion)\$" || true; }

stop_recorded() {
  local d jobs=()
  for d in "$DIR/bastion" "$DIR"/hosts/*; do
    [[ -d $d ]] && stop_pidfile "$d/sshd.pid" sshd 5 &
    jobs+=($!)
  done
  [[ -d $DIR/local ]] && stop_engine "$DIR/local" "$DIR/local/docker.sock" &
  jobs+=($!)
  for d in "$DIR"/hosts/*; do
    [[ -d $d ]] && stop_engine "$d" "$d/run/docker.sock" &
    jobs+=($!)
  done
  for d in "$DIR/registry" "$DIR/registry-auth"; do
    [[ -d $d ]] && stop_pidfile "$d/registry.pid" "$d/config.yml" 5 &
    jobs+=($!)
  done
  for d in "${jobs[@]}"; do wait "$d" || true; done
}

# Leftovers: processes inside our namespaces (ssh sessions, host-network
# containers, shims) or whose command line names our directory (containerd).
stop_leftovers() {
  local ns inodes=() pid net pids=() ancestors=" " stat
  for ns in $(our_namespaces); do inodes+=("net:[$(stat -L -c %i "/run/netns/$ns")]"); done
  pid=$$
  while ((pid > 1)) && stat=$(cat "/proc/$pid/stat" 2>/dev/null); do
    ancestors+="$pid "
    stat=${stat##*) }
    pid=$(cut -d' ' -f2 <<<"$stat")
  done
  for pid in /proc/[0-9]*; do
    pid=${pid#/proc/}
    [[ $ancestors == *" $pid "* ]] && continue
    net=$(readlink "/proc/$pid/ns/net" 2>/dev/null) || continue
    if [[ " ${inodes[*]} " == *" $net "* ]] ||
      tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$DIR/"; then
      pids+=("$pid")
    fi
  done
  ((${#pids[@]} == 0)) || log "stopping leftover processes: ${pids[*]}"
  kill_pids 5 "${pids[@]}"
}

# Mount points under DIR, deepest first (mountinfo escapes spaces as \040).
mounts_under() {
  awk -v dir="$DIR" '{ gsub(/\\040/, " ", $5); if ($5 == dir || index($5, dir "/") == 1) print length($5) "\t" $5 }' \
    /proc/self/mountinfo | sort -rn | cut -f2-
}

unmount_all() {
  local m
  while IFS= read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
  done < <(mounts_under)
}

delete_network() {
  local ns link
  for ns in $(our_namespaces); do ip netns del "$ns"; done
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E "^($VETH-.+|$PREFIX-br[01])\$" || true); do
    ip link del "$link" 2>/dev/null || true
  done
  ip route del unreachable "$INNER_NET" 2>/dev/null || true
}

main() {
  local start=$SECONDS
  ((EUID == 0)) || die "run as root"
  stop_recorded
  stop_leftovers
  unmount_all
  delete_network
  if [[ -n $(mounts_under) ]]; then die "still mounted under $DIR, not removing it: $(mounts_under | tr '\n' ' ')"; fi
  rm -rf --one-file-system "$DIR"
  log "down in $((SECONDS - start))s"
}

main "$@"
