#!/usr/bin/env bash
# THE test command: `bash tests/run.sh`, as root (also `npm test`, and CI's .ci/run).
# Installs dependencies when needed, lints and checks the format, brings up the
# real test environment (tests/env/up.sh, always torn down on exit; twice: the
# node runner gets a fleet of its own), then runs the stages in order, stopping
# at the first that fails: typecheck, build, bun and node side by side, smoke.
# Ends with a plain "N passed, N failed" line over the bun, node and smoke tests
# (cancelled, skipped and todo added when there are any); cancelled tests, a
# runner without a summary, and zero tests fail the run like failed ones.
# BERTH_NIGHTLY=1: the long reliability runs (the kill loop at 20 iterations per signal, 20 kills mid-recreate).
set -euo pipefail
if [[ ${BERTH_NIGHTLY:-} == 1 ]]; then
  export BERTH_REL_KILL_ITERATIONS=${BERTH_REL_KILL_ITERATIONS:-20} BERTH_REL_REPLACE_ITERATIONS=${BERTH_REL_REPLACE_ITERATIONS:-20}
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BIN=$ROOT/node_modules/.bin
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/berth-run.XXXXXX")
PASSED=0 FAILED=0 CANCELLED=0 SKIPPED=0 TODO=0

now_ms() { echo $(($(date +%s%N) / 1000000)); }

summary() {
  local line="$PASSED passed, $FAILED failed"
  ((CANCELLED == 0)) || line+=", $CANCELLED cancelled"
  ((SKIPPED == 0)) || line+=", $SKIPPED skipped"
  ((TODO == 0)) || line+=", $TODO todo"
  echo "$line"
}

# stage NAME COMMAND...: a header, the command, its time; exits on failure.
# (Inside COMMAND `set -e` is off, being called from `||`: chain with `&&`.)
stage() {
  local name=$1 start rc=0
  shift
  printf '\n==== %s ====\n' "$name"
  start=$(now_ms)
  "$@" || rc=$?
  printf -- '---- %s: %s in %d.%03ds\n' "$name" "$( ((rc == 0)) && echo ok || echo FAILED)" \
    $((($(now_ms) - start) / 1000)) $((($(now_ms) - start) % 1000))
  if ((rc != 0)); then
    ((FAILED > 0)) || FAILED=1 # a stage without test counts still fails the run
    exit "$rc"
  fi
}

# last_number FILE RE: the number in the last line matching RE, or nothing.
last_number() { grep -aoE "$2" "$1" | grep -oE '[0-9]+' | tail -1 || true; }

# count FILE PASS_RE FAIL_RE CANCELLED_RE SKIP_RE TODO_RE: adds the numbers a
# runner printed (an empty RE: the runner has no such count). Returns non-zero
# when any test failed or was cancelled, or when there is no pass count or it
# is 0 (the runner died before its summary, or found nothing to run).
count() {
  local file=$1 pass fail cancelled skip todo
  pass=$(last_number "$file" "$2")
  fail=$(last_number "$file" "$3")
  cancelled=$([[ -z $4 ]] || last_number "$file" "$4")
  skip=$(last_number "$file" "$5")
  todo=$(last_number "$file" "$6")
  PASSED=$((PASSED + ${pass:-0})) FAILED=$((FAILED + ${fail:-0})) CANCELLED=$((CANCELLED + ${cancelled:-0}))
  SKIPPED=$((SKIPPED + ${skip:-0})) TODO=$((TODO + ${todo:-0}))
  if [[ -z $pass ]]; then
    echo "-- no pass count in the runner's output: it stopped before its summary"
    FAILED=$((FAILED + 1))
    return 1
  fi
  ((pass > 0)) || { echo "-- the runner ran no test"; FAILED=$((FAILED + 1)); return 1; }
  ((${fail:-0} + ${cancelled:-0} == 0))
}

install_deps() {
  if [[ -d node_modules && ! package-lock.json -nt node_modules/.package-lock.json ]]; then
    echo "node_modules is up to date"
    return 0
  fi
  npm ci --no-audit --no-fund </dev/null &&
    "$BIN/bun" --version >/dev/null && "$BIN/deno" --version >/dev/null
}

# deno lint, then `deno doc --lint mod.ts`: every public symbol and member has JSDoc and public
# signatures name only exported types. deno doc warns that it cannot resolve @types/node's
# internal references (two lines each, exit code 0): those are dropped, any other line shown.
lint() {
  "$BIN/deno" lint || return
  local out rc=0
  out=$(NO_COLOR=1 "$BIN/deno" doc --lint mod.ts 2>&1) || rc=$?
  awk '/^Warning Failed resolving types\..*@types\/node\// { skip = 1; next }
    skip && /^ +at .*@types\/node\// { next }
    { skip = 0; print }' <<<"$out"
  return "$rc"
}

typecheck() {
  local deno_files=() f
  "$BIN/tsc" -p tests || return
  for f in mod.ts cli.ts; do [[ ! -f $f ]] || deno_files+=("$f"); done
  "$BIN/deno" check "${deno_files[@]}"
}

build() {
  npm run --silent build || return
  if [[ -f cli.ts ]]; then "$BIN/bun" build --compile cli.ts --outfile build/berth; fi
}

test_files() { find tests/unit tests/integration tests/reliability -name '*.test.ts' 2>/dev/null | sort; }

bun_tests() {
  local rc=0
  "$BIN/bun" test --timeout 60000 tests/unit tests/integration tests/reliability 2>&1 | tee "$LOGS/bun.log" || rc=$?
  count "$LOGS/bun.log" '^ *[0-9]+ pass$' '^ *[0-9]+ fail$' '' '^ *[0-9]+ skip$' '^ *[0-9]+ todo$' || ((rc != 0)) || rc=1
  return "$rc"
}

node_tests() {
  local rc=0 files
  mapfile -t files < <(test_files)
  node --import tsx --test --test-reporter=spec --test-concurrency=1 "${files[@]}" >"$LOGS/node.log" 2>&1 || rc=$?
  return "$rc"
}

# The second fleet, the node runner's own (its engines, sshds, containerd and etcd beside the first's):
# the suites wait on engines far more than they compute, so the two runners side by side take little
# longer than one of them.
NODE_FLEET=(BERTH_TEST_DIR=/tmp/berth-test-node BERTH_TEST_NS_PREFIX=bn BERTH_TEST_NET_BASE=100
  BERTH_CRI_DIR=/tmp/berth-cri-node BERTH_ETCD_DIR=/tmp/berth-etcd-node BERTH_ETCD_PORT=24790)

# Bun on the first fleet, node on the second, at once; node's output follows bun's. Both are counted.
runners() {
  local rc=0 node_rc=0 node_pid
  env "${NODE_FLEET[@]}" bash -c "$(declare -f test_files node_tests); LOGS='$LOGS'; node_tests" &
  node_pid=$!
  bun_tests || rc=$?
  wait "$node_pid" || node_rc=$?
  printf '\n==== node (on the second fleet, run beside bun) ====\n'
  cat "$LOGS/node.log"
  count "$LOGS/node.log" '^ℹ pass [0-9]+' '^ℹ fail [0-9]+' '^ℹ cancelled [0-9]+' '^ℹ skipped [0-9]+' \
    '^ℹ todo [0-9]+' || ((node_rc != 0)) || node_rc=1
  ((rc != 0)) || rc=$node_rc
  return "$rc"
}

# Each smoke script ends with "smoke scenarios: P passed, F failed" (see
# tests/smoke/scenarios.sh): every scenario counts. A script that fails
# without failing a counted scenario, or prints no such line, adds one failure.
smoke_tests() {
  local f rc=0 script_rc log line pass fail
  for f in tests/smoke/*.sh; do
    [[ -e $f && $f != tests/smoke/scenarios.sh ]] || continue
    echo "-- $f"
    log="$LOGS/smoke-$(basename "$f" .sh).log"
    script_rc=0
    bash "$f" </dev/null 2>&1 | tee "$log" || script_rc=$?
    line=$(grep -aE '^smoke scenarios: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -1 || true)
    pass=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || true)
    fail=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' || true)
    PASSED=$((PASSED + ${pass:-0})) FAILED=$((FAILED + ${fail:-0}))
    if ((script_rc != 0 || ${fail:-0} > 0)) || [[ -z $line ]]; then
      echo "-- $f FAILED (exit $script_rc, ${line:-no scenario count})"
      ((${fail:-0} > 0)) || FAILED=$((FAILED + 1))
      rc=1
    fi
  done
  return "$rc"
}

# Teardown always, then the closing count line last of all.
on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  printf '\n==== teardown ====\n'
  bash tests/env/containerd.sh down || rc=1
  bash tests/env/etcd.sh down || rc=1
  bash tests/env/down.sh || rc=1
  env "${NODE_FLEET[@]}" bash tests/env/containerd.sh down || rc=1
  env "${NODE_FLEET[@]}" bash tests/env/etcd.sh down || rc=1
  env "${NODE_FLEET[@]}" bash tests/env/down.sh || rc=1
  rm -rf "$LOGS"
  ((rc == 0 || FAILED > 0)) || FAILED=1
  echo
  summary
  exit "$rc"
}

up() {
  bash tests/env/up.sh </dev/null && return 0
  local rc=$? f
  # down.sh removes the directory: show the engines' and daemons' logs first.
  for f in "${BERTH_TEST_DIR:-/tmp/berth-test}"/{local,bastion,registry,registry-auth,hosts/*}/*.log; do
    [[ -s $f ]] && printf -- '-- %s\n' "$f" && tail -n 20 "$f"
  done
  return "$rc"
}

((EUID == 0)) || { echo "tests/run.sh needs root (test hosts are network namespaces): run it as root" >&2; exit 1; }
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
stage "install" install_deps
# Lint and format first: they need no test environment, so they fail fast.
stage "lint" lint
stage "format" "$BIN/deno" fmt --check
stage "bench figures in the READMEs" node --import tsx bench/readme.ts --check
stage "test environment" up
stage "containerd (CRI)" bash tests/env/containerd.sh up
stage "etcd (state backend)" bash tests/env/etcd.sh up
stage "second fleet (for node)" env "${NODE_FLEET[@]}" bash -c 'bash tests/env/up.sh </dev/null &&
  bash tests/env/containerd.sh up && bash tests/env/etcd.sh up'
stage "typecheck" typecheck
stage "build" build
stage "bun + node" runners
stage "smoke" smoke_tests
stage "reliability summary" bash -c 'node --import tsx tests/reliability/summary.ts &&
  env "$@" node --import tsx tests/reliability/summary.ts' - "${NODE_FLEET[@]}"
