#!/usr/bin/env bash
# Times the berth CLI (node dist/cli.js) on the test environment: first
# apply and no-op plan of 50 containers on the local engine, and of 10
# containers on each of the 3 SSH hosts (SSH handshakes counted with
# --verbose). Needs tests/env/up.sh to have run; builds dist/ first.
set -euo pipefail
cd "$(dirname "$0")/.."
node_modules/.bin/tsc -p .
ENV_JSON="${BERTH_TEST_DIR:-/tmp/berth-test}/env.json"
field() { node -e 'let v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); for (const k of process.argv[2].split(".")) v = v[k]; console.log(v)' "$ENV_JSON" "$1"; }
BERTH="node $PWD/dist/cli.js"
IMAGE=$(field image)

timed() { # LABEL COMMAND... : prints "LABEL  seconds" and the command's handshake lines
  local label=$1 start end rc=0
  shift
  start=$(date +%s.%N)
  "$@" >out.log 2>err.log || rc=$?
  end=$(date +%s.%N)
  printf '%-34s %6.2f s (exit %s)\n' "$label" "$(echo "$end - $start" | bc)" "$rc"
  grep -h "SSH handshake" err.log | sed 's/^/    /' || true
}

container() { # NAME HOST
  printf '  %s: { host: %s, image: %s, init: true, networkMode: none, args: [sleep, "100000"], env: { N: "%s" } }\n' "$1" "$2" "$IMAGE" "$1"
}

work=$(mktemp -d)
trap 'cd /; [[ -n ${KEEP:-} ]] || rm -rf "$work"' EXIT
cd "$work"

{
  echo "hosts: { local: { direct: {} } }"
  echo "runtime: { docker: { host: \"unix://$(field local.socket)\" } }"
  echo "containers:"
  for i in $(seq 1 50); do container "bench-local-$i" local; done
} >config.yaml
echo "== 50 containers on the local engine"
timed "first apply" $BERTH apply --yes
timed "no-op plan" $BERTH plan
timed "destroy" $BERTH destroy --yes
rm -f state.yaml

{
  echo "ssh: { privateKeyPath: $(field ssh.privateKeyPath), knownHostsFile: $(field ssh.knownHostsFile) }"
  echo "hosts:"
  echo "  h1: { ssh: { address: $(field hosts.0.address) } }"
  echo "  h2: { ssh: { address: $(field hosts.1.address) } }"
  echo "  h3: { ssh: { address: $(field hosts.2.address), jump: [ { address: $(field bastion.address) } ] } }"
  echo "containers:"
  for h in h1 h2 h3; do for i in $(seq 1 10); do container "bench-$h-$i" "$h"; done; done
} >config.yaml
echo "== 10 containers on each of 3 SSH hosts (h3 through the bastion)"
timed "first apply" $BERTH --verbose apply --yes
timed "no-op plan" $BERTH --verbose plan
timed "destroy" $BERTH --verbose destroy --yes
