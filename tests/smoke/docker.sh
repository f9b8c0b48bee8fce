#!/usr/bin/env bash
# Smoke test of the Docker plugin under Deno and as a `bun build --compile`
# binary. Usage: bash tests/smoke/docker.sh [ENGINE_SOCKET]
# (default: $BERTH_TEST_DOCKER_SOCKET, else the test environment's local engine).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/smoke/scenarios.sh

on_deno_and_binary "docker plugin" tests/smoke/docker-smoke.ts "$@"
