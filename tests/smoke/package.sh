#!/usr/bin/env bash
# The npm package as a user gets it: `npm pack`, install the tarball into an
# empty project, then `npx berth --version`, `bunx berth --version`, a plan
# against the test environment's local engine, the library import, and
# `deno publish --dry-run` of the JSR package @berthctl/berthctl.
# Offline: npm's cache does not hold the dependencies, so the production
# dependencies (`npm ls --omit=dev`) are copied from this checkout's
# node_modules first and `npm install --offline TARBALL` adds the package over
# them. What this proves: the tarball's contents (files, bin, exports, the
# built dist/) work as installed; not that npm's registry resolves the ranges.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/smoke/scenarios.sh
ENV_JSON="${BERTH_TEST_DIR:-/tmp/berth-test}/env.json"
field() { node -e 'let v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); for (const k of process.argv[2].split(".")) v = v[k]; console.log(v)' "$ENV_JSON" "$1"; }
export DOCKER_HOST="unix://$(field local.socket)" NO_COLOR=1
VERSION=$(node -p 'require("./package.json").version')
WORK=$(mktemp -d "${TMPDIR:-/tmp}/berth-package.XXXXXX")
TARBALL=$WORK/berthctl-$VERSION.tgz
trap 'rm -rf "$WORK"; scenarios_report' EXIT

pack() {
  npm pack --silent --pack-destination "$WORK" >"$WORK/pack.out"
  [[ -f $TARBALL ]] || { echo "npm pack wrote $(cat "$WORK/pack.out"), not berthctl-$VERSION.tgz"; exit 1; }
  # Only what a user needs: no tests, benchmarks or sources outside dist/.
  local extra
  extra=$(tar tzf "$TARBALL" | grep -vE '^package/(dist/|schema/(config|output)\.schema\.json$|README\.md$|LICENSE$|package\.json$)' || true)
  [[ -z $extra ]] || { echo "unexpected files in the tarball:"; echo "$extra"; exit 1; }
}

install() {
  local app=$WORK/app p
  mkdir -p "$app/node_modules"
  echo '{ "name": "app", "private": true, "type": "module" }' >"$app/package.json"
  for p in $(npm ls --omit=dev --all --parseable 2>/dev/null | tail -n +2 | sed -E 's#^.*/node_modules/##'); do
    mkdir -p "$app/node_modules/$(dirname "$p")"
    cp -r "node_modules/$p" "$app/node_modules/$p"
  done
  (cd "$app" && npm install --offline --no-audit --no-fund --ignore-scripts "$TARBALL" >/dev/null)
  [[ -x $app/node_modules/.bin/berth ]] || { echo "the package installed no berth command"; exit 1; }
}

versions() {
  cd "$WORK/app"
  [[ $(npx --offline berth --version) == "$VERSION" ]]
  [[ $("$ROOT/node_modules/.bin/bun" x berth --version) == "$VERSION" ]]
}

plan() {
  cd "$WORK/app"
  cat >config.yaml <<YAML
hosts:
  node1: { direct: {} }
containers:
  pkg-smoke-$$: { host: node1, image: berth-test:latest, init: true, networkMode: none, args: [sleep, "60"] }
YAML
  npx --offline berth validate
  local rc=0
  npx --offline berth plan >plan.out || rc=$?
  cat plan.out
  [[ $rc == 2 ]] || { echo "plan exited $rc, want 2 (changes)"; exit 1; }
  grep -q "pkg-smoke-$$ create on node1 (local)" plan.out
}

library() {
  cd "$WORK/app"
  node -e 'import("berthctl").then((m) => { if (typeof m.fromYaml !== "function") throw new Error("no fromYaml"); })'
}

jsr() {
  local out
  out=$("$ROOT/node_modules/.bin/deno" publish --dry-run --allow-dirty 2>&1)
  grep -q "@berthctl/berthctl@$VERSION" <<<"$out" || { echo "$out"; exit 1; }
  if grep -qiE "^(warning|error)" <<<"$out"; then echo "$out"; exit 1; fi # not file names (errors.ts)
}

scenario "npm pack: berthctl-$VERSION.tgz with only dist/, the two schemas, README, LICENSE" pack
scenario "the tarball installs into an empty project, offline, with a berth command" install
scenario "npx berth --version and bunx berth --version print $VERSION" versions
scenario "npx berth validate and plan from the installed package (exit 2, host named)" plan
scenario "import \"berthctl\" from the installed package" library
scenario "deno publish --dry-run of @berthctl/berthctl@$VERSION is clean" jsr
