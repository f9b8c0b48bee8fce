#!/usr/bin/env bash
# Smoke test of the SSH transport outside Node: the same script under Deno
# and compiled into one binary with Bun, against the running test fleet.
# Each must print OK (the engine's answer to GET /_ping through SSH).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BIN=node_modules/.bin
. tests/smoke/scenarios.sh

check() {
  local name=$1 out
  shift
  out=$("$@")
  [[ $out == OK ]] || { echo "ssh smoke ($name): expected OK, got: $out" >&2; return 1; }
  echo "ssh smoke ($name): OK"
}

compiled() {
  mkdir -p build
  "$BIN/bun" build --compile tests/smoke/ssh-smoke.ts --outfile build/ssh-smoke >/dev/null
  check "bun --compile" build/ssh-smoke
}

scenario "SSH transport on Deno" check deno "$BIN/deno" run -A tests/smoke/ssh-smoke.ts
scenario "SSH transport in a bun build --compile binary" compiled
