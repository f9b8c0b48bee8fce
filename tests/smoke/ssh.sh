#!/usr/bin/env bash
# Smoke test of the SSH transport outside Node: the same script under Deno
# and compiled into one binary with Bun, against the running test fleet.
# Each must print OK (the engine's answer to GET /_ping through SSH).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
. tests/smoke/scenarios.sh

on_deno_and_binary "SSH transport" tests/smoke/ssh-smoke.ts
