#!/usr/bin/env bash
# Smoke test of the Docker plugin under Deno and as a `bun build --compile`
# binary. Usage: bash tests/smoke/docker.sh [ENGINE_SOCKET]
# (default: $BERTH_TEST_DOCKER_SOCKET, else the test environment's local engine).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/smoke/scenarios.sh

compiled() {
  mkdir -p build
  node_modules/.bin/bun build --compile tests/smoke/docker-smoke.ts --outfile build/docker-smoke >/dev/null
  build/docker-smoke "$@"
}

scenario "docker plugin on Deno" node_modules/.bin/deno run -A tests/smoke/docker-smoke.ts "$@"
scenario "docker plugin in a bun build --compile binary" compiled "$@"
