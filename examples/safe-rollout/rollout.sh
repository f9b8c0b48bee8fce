#!/usr/bin/env bash
# A safe rollout end to end, with config.yaml on a throwaway fleet of three
# SSH hosts (the tests' one: network namespaces with their own sshd and
# Docker engine; started when not up, stop it with tests/env/down.sh).
# Run as root on Debian 12, from anywhere: bash examples/safe-rollout/rollout.sh
# PAUSE (default 3s) is the pause between batches; WORK the directory for
# the config and state (default: a new one under /tmp); BERTH the command.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
env_json=${BERTH_TEST_DIR:-/tmp/berth-test}/env.json
work=${WORK:-$(mktemp -d /tmp/berth-rollout-XXXXXX)}
read -r -a berth_cmd <<<"${BERTH:-node $root/dist/cli.js}"
berth() { (cd "$work" && "${berth_cmd[@]}" "$@"); }
step() { printf '\n== %s\n' "$*"; }

[[ -f $env_json ]] || bash "$root/tests/env/up.sh" </dev/null
[[ -n ${BERTH:-} || -f $root/dist/cli.js ]] || (cd "$root" && node_modules/.bin/tsc -p .)

# config.yaml with the fleet's hosts, keys and image: its ssh: and hosts: replaced, the rest as it is.
node - "$env_json" "$here/config.yaml" >"$work/config.yaml" <<'JS'
const fs = require("node:fs");
const [envFile, configFile] = process.argv.slice(2);
const env = JSON.parse(fs.readFileSync(envFile, "utf8"));
const bastion = `jump: [ { address: ${env.bastion.address} } ], `;
const hosts = env.hosts.slice(0, 3).map((h, i) =>
  `  node${i + 1}: { ssh: { ${h.viaBastion ? bastion : ""}address: ${h.address} } }`
);
const rest = fs.readFileSync(configFile, "utf8").split(/^rollout:/m)[1];
process.stdout.write([
  "ssh:",
  `  privateKeyPath: ${env.ssh.privateKeyPath}`,
  `  knownHostsFile: ${env.ssh.knownHostsFile}`,
  "hosts:",
  ...hosts,
  "",
  `rollout:${rest.replaceAll("busybox:1.36", env.image)}`,
].join("\n"));
JS
version() { sed -i "s/VERSION: \"[0-9]*\"/VERSION: \"$1\"/" "$work/config.yaml"; }

step "1. The plan: batches of one host in hosts: order, web after db"
berth validate
berth plan || [[ $? == 2 ]]
step "2. Apply: db first, then web host by host"
berth apply --yes --pause "${PAUSE:-3s}"
step "3. Version 2 rolls out one host at a time"
version 2
berth apply --yes --pause "${PAUSE:-3s}"
step "4. Version 3 is broken: node1 fails its gate and gets version 2 back, node2 and node3 are not touched"
version 3
if berth apply --yes --pause "${PAUSE:-3s}"; then
  echo "expected the broken version to fail" >&2
  exit 1
fi
berth status
step "5. The config back at version 2: nothing to do, every host runs it"
version 2
berth apply --yes --pause "${PAUSE:-3s}"
echo
echo "Done. The config and state are in $work: remove the containers with"
echo "  (cd $work && ${berth_cmd[*]} destroy --yes)"
