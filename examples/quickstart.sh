#!/usr/bin/env bash
# A newcomer's first run: deploys examples/hello to this machine's Docker
# engine with the berth CLI, then shows its status. When no engine answers
# at DOCKER_HOST or /var/run/docker.sock, a throwaway one is started first,
# exactly as the tests do (tests/env/up.sh; stop it with tests/env/down.sh).
# Run as root on Debian 12: bash examples/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."

[[ -x node_modules/.bin/tsc ]] || npm ci --no-audit --no-fund </dev/null
node_modules/.bin/tsc -p .

socket=${DOCKER_HOST:-unix:///var/run/docker.sock}
socket=${socket#unix://}
if ! curl -sf --max-time 2 --unix-socket "$socket" http://engine/_ping >/dev/null 2>&1; then
  echo "No Docker engine answers at $socket: starting a throwaway one (stop it with: bash tests/env/down.sh)"
  bash tests/env/up.sh </dev/null
  socket=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).local.socket' \
    "${BERTH_TEST_DIR:-/tmp/berth-test}/env.json")
fi
export DOCKER_HOST="unix://$socket"

# The example's image: a 2 MB busybox image made here (no registry needed).
if ! curl -sf --unix-socket "$socket" http://engine/images/berth-test:latest/json >/dev/null; then
  rootfs=$(mktemp -d)
  mkdir -p "$rootfs/bin" && cp "$(command -v busybox)" "$rootfs/bin/busybox"
  for a in sh sleep cat ls echo grep httpd; do ln -s busybox "$rootfs/bin/$a"; done
  tar -C "$rootfs" -c . | curl -sf --unix-socket "$socket" -X POST --data-binary @- -H 'Content-Type: application/x-tar' \
    "http://engine/images/create?fromSrc=-&repo=berth-test&tag=latest&changes=ENV%20PATH%3D%2Fbin" >/dev/null
  rm -rf "$rootfs"
fi

cd examples/hello
node ../../dist/cli.js apply --yes
node ../../dist/cli.js status
echo
echo "Done. In examples/hello: node ../../dist/cli.js plan | status | destroy --yes  (DOCKER_HOST=$DOCKER_HOST)"
