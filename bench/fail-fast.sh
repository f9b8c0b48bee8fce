#!/usr/bin/env bash
# Time from a refused connection (and from an unknown host name) to berth's error, for `plan` and `status`:
# an SSH host on a closed loopback port and one on a name that cannot resolve (.invalid). Nothing else is needed.
#   bash bench/fail-fast.sh [RUNS]        (default 5; BERTH="node dist/cli.js" to time the built CLI;
#                                          run it from the repository, where node finds its packages)
# Prints each run's wall time, process start included, and the median per command and host.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${1:-5}
BERTH=${BERTH:-"$ROOT/node_modules/.bin/bun $ROOT/cli.ts"}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
ssh-keygen -q -t ed25519 -N "" -f "$DIR/key" </dev/null
: >"$DIR/known_hosts"
# Port 1 on loopback: nothing listens there, so the kernel refuses at once.
for host in "refused:127.0.0.1, port: 1" "unknown:no-such-host.invalid"; do
  name=${host%%:*}
  cat >"$DIR/$name.yaml" <<EOF
hosts:
  $name: { ssh: { address: ${host#*:}, privateKeyPath: $DIR/key, knownHostsFile: $DIR/known_hosts } }
containers:
  web: { host: $name, image: busybox:latest }
EOF
done
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# The runtime's start alone, to tell it from the time spent connecting.
times=()
for _ in $(seq "$RUNS"); do
  start=$(date +%s%N)
  $BERTH version >/dev/null
  times+=("$(((($(date +%s%N) - start) / 1000000)))")
done
echo "berth version (start-up alone): ${times[*]} ms (median $(printf '%s\n' "${times[@]}" | median) ms)"
for name in refused unknown; do
  for command in plan status; do
    times=()
    for _ in $(seq "$RUNS"); do
      start=$(date +%s%N)
      code=0
      $BERTH -c "$DIR/$name.yaml" -s "$DIR/$name-state.yaml" "$command" >"$DIR/out" 2>&1 || code=$?
      times+=("$(((($(date +%s%N) - start) / 1000000)))")
      # Exit 1 for the right reason: the connection error itself, after one attempt.
      if [ "$code" != 1 ] || ! grep -q "(1 attempt in .*\(ECONNREFUSED\|ENOTFOUND\)" "$DIR/out"; then
        echo "$command on the $name host: exit $code, expected 1 with the connection error:" >&2
        cat "$DIR/out" >&2
        exit 1
      fi
    done
    echo "$command, $name host: exit 1 in ${times[*]} ms (median $(printf '%s\n' "${times[@]}" | median) ms)"
  done
done
