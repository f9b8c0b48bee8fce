#!/usr/bin/env bash
# Smoke test of the kubelet (CRI) runtime outside Node: the same script under
# Deno and compiled into one binary with Bun, against the private containerd
# (started here when it is not up). Each must print OK.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BIN=node_modules/.bin
. tests/smoke/scenarios.sh

bash tests/env/containerd.sh up

check() {
  local name=$1 out
  shift
  out=$("$@")
  [[ $out == OK ]] || { echo "kubelet smoke ($name): expected OK, got: $out" >&2; return 1; }
  echo "kubelet smoke ($name): OK"
}

compiled() {
  mkdir -p build
  "$BIN/bun" build --compile tests/smoke/kubelet-smoke.ts --outfile build/kubelet-smoke >/dev/null
  check "bun --compile" build/kubelet-smoke
}

scenario "kubelet runtime on Deno" check deno "$BIN/deno" run -A tests/smoke/kubelet-smoke.ts
scenario "kubelet runtime in a bun build --compile binary" compiled
