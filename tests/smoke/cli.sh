#!/usr/bin/env bash
# The examples/hello config end to end (apply, no-op plan, status, destroy)
# through the CLI on Deno and as the compiled binary (build/berth), against
# the test environment's local engine, and the same over SSH to test host h1.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/smoke/scenarios.sh
ENV_JSON="${BERTH_TEST_DIR:-/tmp/berth-test}/env.json"
field() { node -e 'let v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); for (const k of process.argv[2].split(".")) v = v[k]; console.log(v)' "$ENV_JSON" "$1"; }
SOCKET=$(field local.socket)
export DOCKER_HOST="unix://$SOCKET" NO_COLOR=1

run_example() { # NAME local|ssh COMMAND...
  local name=$1 where=$2 work rc
  shift 2
  work=$(mktemp -d)
  cp examples/hello/config.yaml "$work/"
  # Each runner gets its own container name, so a leftover cannot mask a failure.
  sed -i "s/^  hello:/  hello-$name:/" "$work/config.yaml"
  if [[ $where == ssh ]]; then
    sed -i "s|^  local: { direct: {} }|  local: { ssh: { address: $(field hosts.0.address), privateKeyPath: $(field ssh.privateKeyPath), knownHostsFile: $(field ssh.knownHostsFile) } }|" "$work/config.yaml"
  fi
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
  echo "$name: example applied, planned, destroyed ($where): OK"
}

scenario "hello example, Deno, local engine" run_example deno local "$ROOT/node_modules/.bin/deno" run -A "$ROOT/cli.ts"
scenario "hello example, compiled binary, local engine" run_example binary local "$ROOT/build/berth"
scenario "hello example, Deno, over SSH" run_example deno-ssh ssh "$ROOT/node_modules/.bin/deno" run -A "$ROOT/cli.ts"
scenario "hello example, compiled binary, over SSH" run_example binary-ssh ssh "$ROOT/build/berth"
