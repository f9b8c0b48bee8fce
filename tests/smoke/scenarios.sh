# Sourced by the smoke scripts. `scenario NAME COMMAND...` runs one scenario and
# counts it; on exit the script prints the line tests/run.sh adds up,
# "smoke scenarios: P passed, F failed", and fails when a scenario failed, when
# none ran, or when the script itself stopped on an error between scenarios.
SCENARIOS_PASSED=0
SCENARIOS_FAILED=0

scenario() {
  local name=$1 rc=0
  shift
  # Run in the background and waited for: there `set -e` holds inside the
  # scenario, where in an `if` or `||` bash would switch it off.
  (
    set -e
    "$@"
  ) &
  wait $! || rc=$?
  if ((rc == 0)); then
    SCENARIOS_PASSED=$((SCENARIOS_PASSED + 1))
    echo "scenario ok: $name"
  else
    SCENARIOS_FAILED=$((SCENARIOS_FAILED + 1))
    echo "scenario FAILED (exit $rc): $name"
  fi
}

scenarios_report() {
  local rc=$?
  echo "smoke scenarios: $SCENARIOS_PASSED passed, $SCENARIOS_FAILED failed"
  ((rc == 0)) || exit "$rc"
  ((SCENARIOS_FAILED == 0 && SCENARIOS_PASSED > 0)) || exit 1
}
trap scenarios_report EXIT

# `on_deno_and_binary WHAT SCRIPT [ARGS...]`: two scenarios, the smoke SCRIPT
# (a .ts file) run with ARGS on Deno and compiled into one binary with Bun
# (build/); each must print OK and nothing else.
on_deno_and_binary() {
  local what=$1 script=$2
  shift 2
  scenario "$what on Deno" prints_ok "$what on Deno" node_modules/.bin/deno run -A "$script" "$@"
  scenario "$what in a bun build --compile binary" compiled_prints_ok "$what" "$script" "$@"
}

prints_ok() { # LABEL COMMAND...
  local label=$1 out
  shift
  out=$("$@")
  [[ $out == OK ]] || { echo "$label: expected OK, got: $out" >&2; return 1; }
}

compiled_prints_ok() { # WHAT SCRIPT ARGS...
  local what=$1 script=$2 bin
  shift 2
  bin=build/$(basename "$script" .ts)
  mkdir -p build
  node_modules/.bin/bun build --compile "$script" --outfile "$bin" >/dev/null
  prints_ok "$what, compiled" "$bin" "$@"
}
