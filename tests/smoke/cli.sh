#!/usr/bin/env bash
# The examples/hello config end to end (apply, no-op plan, status, destroy)
# through the CLI on Deno and as the compiled binary (build/berth), against
# the test environment's local engine.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SOCKET=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).local.socket)' "${BERTH_TEST_DIR:-/tmp/berth-test}/env.json")
export DOCKER_HOST="unix://$SOCKET" NO_COLOR=1

run_example() { # NAME COMMAND...
  local name=$1 work rc
  shift
  work=$(mktemp -d)
  cp examples/hello/config.yaml "$work/"
  # Each runner gets its own container name, so a leftover cannot mask a failure.
  sed -i "s/^  hello:/  hello-$name:/" "$work/config.yaml"
  (
    cd "$work"
    "$@" apply --yes
    rc=0; "$@" plan >plan.out || rc=$?
    [[ $rc == 0 ]] || { echo "$name: plan after apply exited $rc, want 0"; cat plan.out; exit 1; }
    grep -q "No changes" plan.out
    "$@" status | grep -Eq "hello-$name +running"
    "$@" destroy --yes
    rc=0; "$@" plan >/dev/null || rc=$?
    [[ $rc == 2 ]] || { echo "$name: plan after destroy exited $rc, want 2"; exit 1; }
  )
  rm -rf "$work"
  echo "$name: example applied, planned, destroyed: OK"
}

run_example deno "$ROOT/node_modules/.bin/deno" run -A "$ROOT/cli.ts"
run_example binary "$ROOT/build/berth"
