#!/usr/bin/env bash
# Private containerds with CRI for the kubelet runtime's tests.
#   bash tests/env/containerd.sh up     start (idempotent), import the image
#   bash tests/env/containerd.sh down   stop by PID, unmount, delete (also `stop`; safe twice)
# Two daemons under ${BERTH_CRI_DIR:-/tmp/berth-cri}:
#   local/  in this machine's network namespace, socket local/containerd.sock
#   h1/     inside test host h1's network and mount namespaces (named in tests/env/up.sh's env.json), so
#           the exec stream URL (127.0.0.1:<port>) is reachable through h1's SSH.
# Each gets the busybox image `berth-test:latest` from an OCI archive made
# here (also the sandbox image: its CMD never exits). Writes env.json.
# Both pull from the test registries (tests/env/up.sh's env.json, read at
# every `up`) over plain HTTP; only `local` reaches them: h1's 127.0.0.1 is
# its own loopback. A daemon whose config changed is restarted.
set -euo pipefail
DIR=${BERTH_CRI_DIR:-/tmp/berth-cri}
# shellcheck source-path=SCRIPTDIR source=apt.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/apt.sh"
TEST_ENV=${BERTH_TEST_DIR:-/tmp/berth-test}/env.json
IMAGE=berth-test:latest
APPLETS=(sh tar sleep cat ls mkdir head stat echo env id true false printf rm touch chmod chown ln wc test mv cp find grep sed)

log() { printf 'containerd.sh: %s\n' "$*" >&2; }

# An OCI image layout archive: one uncompressed layer with busybox and its applets.
make_image_archive() {
  local out=$DIR/image.tar work=$DIR/image-build a
  [[ -s $out ]] && return 0
  rm -rf "$work" && mkdir -p "$work/rootfs/bin" "$work/rootfs/tmp" "$work/rootfs/etc" "$work/layout/blobs/sha256"
  cp /bin/busybox "$work/rootfs/bin/busybox"
  for a in "${APPLETS[@]}"; do ln -sf busybox "$work/rootfs/bin/$a"; done
  printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$work/rootfs/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$work/rootfs/etc/group"
  tar --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$work/rootfs" -cf "$work/layer.tar" .
  local layer_sha layer_size config config_sha manifest manifest_sha
  layer_sha=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  layer_size=$(stat -c %s "$work/layer.tar")
  mv "$work/layer.tar" "$work/layout/blobs/sha256/$layer_sha"
  config=$(printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["sleep","2147483647"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$(dpkg --print-architecture)" "$layer_sha")
  config_sha=$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)
  printf '%s' "$config" >"$work/layout/blobs/sha256/$config_sha"
  manifest=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
    "$config_sha" "${#config}" "$layer_sha" "$layer_size")
  manifest_sha=$(printf '%s' "$manifest" | sha256sum | cut -d' ' -f1)
  printf '%s' "$manifest" >"$work/layout/blobs/sha256/$manifest_sha"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$work/layout/oci-layout"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"io.containerd.image.name":"docker.io/library/%s","org.opencontainers.image.ref.name":"latest"}}]}' \
    "$manifest_sha" "${#manifest}" "$IMAGE" >"$work/layout/index.json"
  tar -C "$work/layout" -cf "$out.tmp" . && mv "$out.tmp" "$out"
  rm -rf "$work"
}

# One hosts.toml per test registry: plain HTTP. containerd reads them at each
# pull, so new registry ports need no restart.
write_registry_hosts() {
  local hosts=$DIR/registry-hosts address
  rm -rf "$hosts" && mkdir -p "$hosts"
  [[ -s $TEST_ENV ]] || return 0
  for address in $(node -p 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).registry; r ? r.address + " " + r.authAddress : ""' "$TEST_ENV"); do
    mkdir -p "$hosts/$address"
    printf 'server = "http://%s"\n\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$address" "$address" >"$hosts/$address/hosts.toml"
  done
}

# write_config DIR: the daemon's config at DIR/config.toml.new
write_config() {
  local d=$1
  mkdir -p "$d/root" "$d/state" "$d/runc" "$d/cni/bin" "$d/cni/conf"
  cat >"$d/config.toml.new" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.grpc.v1.cri.disabled", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$d/containerd.sock"
[ttrpc]
  address = "$d/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
  disable_apparmor = true
  sandbox_image = "docker.io/library/$IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$DIR/registry-hosts"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$d/cni/bin"
    conf_dir = "$d/cni/conf"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$d/runc"
EOF
}

running() { [[ -s $1/containerd.pid ]] && kill -0 "$(cat "$1/containerd.pid")" 2>/dev/null; }

# The test host h1 of tests/env/up.sh's env.json: "NETNS VIEW_DIR VIEW", or nothing.
fleet_h1() {
  [[ -s $TEST_ENV ]] || return 0
  node -p 'const e = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const h = e.hosts.find((x) => x.name === "h1");
    h && e.view && h.view ? [h.netns, h.view, e.view].join(" ") : ""' "$TEST_ENV"
}

# start NAME [NETNS VIEW_DIR VIEW]: in NETNS, with its own mount namespace where
# VIEW_DIR is mounted at VIEW, as for that host's dockerd and sshd (tests/env/lib.sh).
start() {
  local d=$DIR/$1 netns=${2:-} view_dir=${3:-} view=${4:-} i
  write_config "$d"
  if running "$d"; then
    if cmp -s "$d/config.toml.new" "$d/config.toml"; then rm -f "$d/config.toml.new" && return 0; fi
    log "containerd $1: config changed, restarting (its sandboxes are killed)"
    stop "$1"
  fi
  mv "$d/config.toml.new" "$d/config.toml"
  rm -f "$d/containerd.sock" "$d/containerd.sock.ttrpc"
  local cmd=(containerd --config "$d/config.toml" --log-level warn)
  if [[ -n $netns ]]; then
    # shellcheck disable=SC2016 # expanded by the inner sh
    cmd=(nsenter "--net=/run/netns/$netns" unshare --mount --propagation private
      sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh "$view_dir" "$view" "${cmd[@]}")
  fi
  setsid "${cmd[@]}" </dev/null >"$d/containerd.log" 2>&1 &
  echo $! >"$d/containerd.pid"
  for i in $(seq 1 100); do
    [[ -S $d/containerd.sock ]] && ctr -a "$d/containerd.sock" version >/dev/null 2>&1 && break
    running "$d" || { tail -n 20 "$d/containerd.log" >&2; log "containerd $1 exited"; return 1; }
    sleep 0.1
  done
  [[ -S $d/containerd.sock ]] || { log "containerd $1 not ready after 10 s"; return 1; }
  ctr -a "$d/containerd.sock" -n k8s.io images import --all-platforms "$DIR/image.tar" >/dev/null
}

stop() {
  local d=$DIR/$1 pid i
  if [[ -s $d/containerd.pid ]]; then
    pid=$(cat "$d/containerd.pid")
    # Sandboxes and containers of this daemon: their shims outlive it otherwise.
    if kill -0 "$pid" 2>/dev/null && [[ -S $d/containerd.sock ]]; then
      for i in $(ctr -a "$d/containerd.sock" -n k8s.io tasks ls -q 2>/dev/null); do
        ctr -a "$d/containerd.sock" -n k8s.io tasks kill -s KILL "$i" >/dev/null 2>&1 || true
      done
    fi
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$d/containerd.pid"
  fi
  # Shims still running from this directory's state.
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $d/containerd.sock" || true); do kill -9 "$pid" 2>/dev/null || true; done
  [[ -d $d ]] || return 0
  awk -v d="$d" '$2 ~ "^"d {print $2}' /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

write_env() {
  local h1=null netns
  netns=$(fleet_h1 | cut -d' ' -f1)
  running "$DIR/h1" && h1="{ \"socket\": \"$DIR/h1/containerd.sock\", \"netns\": \"$netns\" }"
  cat >"$DIR/env.json.tmp" <<EOF
{
  "dir": "$DIR",
  "image": "$IMAGE",
  "local": { "socket": "$DIR/local/containerd.sock" },
  "h1": $h1
}
EOF
  mv "$DIR/env.json.tmp" "$DIR/env.json"
}

case ${1:-up} in
up)
  ((EUID == 0)) || { log "needs root"; exit 1; }
  install_missing containerd runc busybox-static
  mkdir -p "$DIR"
  make_image_archive
  write_registry_hosts
  start local
  read -r h1_netns h1_view_dir view <<<"$(fleet_h1)" || true
  if [[ -n ${h1_netns:-} && -e /run/netns/$h1_netns ]]; then start h1 "$h1_netns" "$h1_view_dir" "$view"; fi
  write_env
  log "up: $DIR/env.json"
  ;;
down | stop)
  stop h1
  stop local
  rm -rf "$DIR"
  ;;
*)
  echo "usage: $0 up|down" >&2
  exit 2
  ;;
esac
