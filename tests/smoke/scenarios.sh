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
