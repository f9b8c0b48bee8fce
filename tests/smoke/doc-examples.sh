#!/usr/bin/env bash
# Every runnable @example in the public modules' JSDoc runs and asserts (deno test --doc),
# those that deploy against the test environment's local engine.
# Shows deno's own summary and reports each doc test as a scenario for tests/run.sh
# ("smoke scenarios: P passed, F failed"); no doc test at all is a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The examples that deploy use this machine's engine: the test environment's local one.
ENV_JSON="${BERTH_TEST_DIR:-/tmp/berth-test}/env.json"
DOCKER_HOST="unix://$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).local.socket' "$ENV_JSON")"
export DOCKER_HOST
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
NO_COLOR=1 node_modules/.bin/deno test -A --doc mod.ts core/ engine/ store/ transports/ runtimes/ platform/ >"$out" 2>&1 || rc=$?
# The failures (with their output) when there are any, else deno's summary line.
if ((rc != 0)); then cat "$out"; else grep -E '^(ok|FAILED) \| ' "$out" || tail -n 5 "$out"; fi
summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$out" | tail -1 || true)
passed=$(sed -nE 's/^[A-Z a-z]+\| ([0-9]+) passed.*/\1/p' <<<"$summary")
failed=$(sed -nE 's/.*\| ([0-9]+) failed.*/\1/p' <<<"$summary")
if [[ -z $passed || -z $failed ]]; then
  echo "doc examples: no summary from deno test --doc (exit $rc)"
  echo "smoke scenarios: 0 passed, 1 failed"
  exit 1
fi
echo "smoke scenarios: $passed passed, $failed failed"
((rc == 0 && failed == 0)) || exit 1
((passed > 0)) || { echo "doc examples: deno found no doc test to run"; exit 1; }
