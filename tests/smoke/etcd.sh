#!/usr/bin/env bash
# The etcd state backend outside Node: berth on Deno and as the compiled
# binary (build/berth, built when missing) migrates a state file to the
# TLS + auth etcd of tests/env/etcd.sh (started when it is not up), pulls
# it back identical, and frees the lock.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/smoke/scenarios.sh
ETCD_DIR=${BERTH_ETCD_DIR:-/tmp/berth-etcd}
[[ -s $ETCD_DIR/env.json ]] || bash tests/env/etcd.sh up
[[ -x build/berth ]] || node_modules/.bin/bun build --compile cli.ts --outfile build/berth >/dev/null
field() { node -e 'let v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); for (const k of process.argv[2].split(".")) v = v[k]; console.log(v)' "$ETCD_DIR/env.json" "$1"; }
ENDPOINT=$(field secure.endpoints.0)
export BERTH_ETCD_PASSWORD
BERTH_ETCD_PASSWORD=$(cat "$(field secure.passwordFile)")

smoke() { # NAME COMMAND...
  local name=$1 work prefix
  shift
  work=$(mktemp -d)
  prefix="$(field secure.prefix)smoke-$name-$$/"
  cat >"$work/config.yaml" <<YAML
backend:
  etcd:
    endpoints: [$ENDPOINT]
    prefix: $prefix
    ca: $(field secure.ca)
    cert: $(field secure.cert)
    key: $(field secure.key)
    user: $(field secure.user)
    password: \${env:BERTH_ETCD_PASSWORD}
hosts: {}
containers: {}
YAML
  printf 'version: 1\ncontainers:\n  a:\n    container:\n      config:\n        name: a\n        image: busybox\n    host:\n      directConfig: {}\n' >"$work/first.yaml"
  chmod 600 "$work/first.yaml"
  (
    cd "$work"
    "$@" -s first.yaml state migrate --to "etcd://${ENDPOINT#https://}$prefix" >/dev/null
    "$@" state pull >pulled.yaml 2>/dev/null
    "$@" state migrate --to second.yaml >/dev/null
    cmp -s first.yaml second.yaml || { echo "$name: the state came back different"; diff first.yaml second.yaml; exit 1; }
    "$@" state unlock --force >/dev/null
  )
  rm -rf "$work"
  echo "$name: OK"
}

scenario "etcd backend, Deno: migrate, pull back identical, unlock" smoke deno "$ROOT/node_modules/.bin/deno" run -A "$ROOT/cli.ts"
scenario "etcd backend, compiled binary: migrate, pull back identical, unlock" smoke binary "$ROOT/build/berth"
