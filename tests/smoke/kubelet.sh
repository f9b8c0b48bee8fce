#!/usr/bin/env bash
# Smoke test of the kubelet (CRI) runtime outside Node: the same script under
# Deno and compiled into one binary with Bun, against the private containerd
# (started here when it is not up). Each must print OK.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
. tests/smoke/scenarios.sh

bash tests/env/containerd.sh up

on_deno_and_binary "kubelet runtime" tests/smoke/kubelet-smoke.ts
