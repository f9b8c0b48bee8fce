#!/usr/bin/env bash
# berth against a raw-API floor and the tools people use instead.
#   bash bench/run.sh [--hosts H] [--per-host K] [--runs R] [--tools a,b]   (defaults 3, 10, 3)
#   bash bench/run.sh --scale [--runs R] [--hosts H] [--recorded N]         (10 hosts, 1,000 recorded)
#   bash bench/run.sh --sim [--sizes 10,100,1000] [--files] [--profile]     (simulated hosts)
#   bash bench/run.sh --trace                                                (one traced run: trace.md)
# Brings up its own SSH fleet (namespaces "bb-*", addresses 198.19.x.x, under
# /tmp/berth-bench; every host directly reachable), builds what is missing,
# measures, writes bench/results/latest.md (or scale.md), and tears the fleet
# down again (--trace: one traced run of each scenario, berth on Node with
# the default gate and with `gate: none`, beside floor-openssh, written to
# trace.md); --sim needs no fleet (simulated hosts on 127.77.x.x:2222) and
# writes sim.md. Then the READMEs' result blocks are rewritten from the
# results files (bench/readme.ts). Needs root (Debian 12); installs ansible,
# python3-docker and time.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export BERTH_TEST_DIR=${BERTH_BENCH_DIR:-/tmp/berth-bench}
export BERTH_TEST_NS_PREFIX=bb BERTH_TEST_NET=198.19

hosts= scale=0 sim=0 trace=0 args=() sim_args=()
while (($#)); do
  case $1 in
  --hosts) hosts=$2 args+=("$1" "$2") && shift 2 ;;
  --per-host | --runs | --tools | --recorded) args+=("$1" "$2") && shift 2 ;;
  --scale) scale=1 args+=("$1") && shift ;;
  --sim) sim=1 && shift ;;
  --trace) trace=1 && shift ;;
  --sizes) sim_args+=("$1" "$2") && shift 2 ;;
  --files | --profile) sim_args+=("$1") && shift ;;
  *) echo "usage: bench/run.sh [--hosts H] [--per-host K] [--runs R] [--tools a,b] | --scale [--hosts H] [--recorded N] | --sim [--sizes a,b] [--files] [--profile] | --trace" >&2 && exit 2 ;;
  esac
done
((EUID == 0)) || { echo "run as root" >&2 && exit 1; }
# The scale run uses the whole fleet: 10 hosts unless told (a smaller one proves the script quickly).
: "${hosts:=$((scale ? 10 : 3))}"
((hosts >= 1 && hosts <= 10)) || { echo "--hosts must be 1..10" >&2 && exit 2; }
# up.sh needs at least 2 hosts.
fleet=$((hosts < 2 ? 2 : hosts))

missing=()
for pkg in ansible python3-docker time; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  apt-get update -qq </dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi

cd "$ROOT"
[[ -x node_modules/.bin/bun ]] || npm ci --no-audit --no-fund
# Always fresh: the figures are about the code as it is now.
npm run --silent build
if [[ ! -x build/berth || -n $(find cli.ts mod.ts version.ts cli core engine runtimes transports platform store -name '*.ts' -newer build/berth | head -1) ]]; then
  node_modules/.bin/bun build --compile cli.ts --outfile build/berth >/dev/null
fi
for script in floor floor-openssh sim-hosts sim-floor; do
  node_modules/.bin/bun build bench/$script.ts --target node --packages external --outfile bench/.build/$script.mjs >/dev/null
done

if ((sim)); then
  # 1,000 hosts: as many SSH servers in the simulator, as many connections in berth.
  ulimit -n "$(ulimit -Hn)"
  (($(ulimit -n) >= 4096)) || { echo "--sim needs 4096 open files (ulimit -Hn is $(ulimit -Hn))" >&2 && exit 1; }
  node --import tsx bench/sim.ts --work "$BERTH_TEST_DIR/sim" ${sim_args[@]+"${sim_args[@]}"}
  node --import tsx bench/readme.ts
  exit
fi

down() { bash "$ROOT/tests/env/down.sh" || true; }
trap down EXIT
# A fleet from an earlier run with another size is taken down first.
if [[ -s $BERTH_TEST_DIR/host-count && $(<"$BERTH_TEST_DIR/host-count") != "$fleet" ]]; then down; fi
mkdir -p "$BERTH_TEST_DIR"
# The test fleet's password user is shared by the machine: keep its password.
[[ -s /tmp/berth-test/secrets.env && ! -s $BERTH_TEST_DIR/secrets.env ]] && cp /tmp/berth-test/secrets.env "$BERTH_TEST_DIR/"
BERTH_TEST_HOSTS=$fleet bash tests/env/up.sh
# Every host directly reachable: give the root namespace a leg on the inner
# network too (up.sh set that network unreachable; the route is set
# explicitly, since re-adding a known address adds no route).
inner=$BERTH_TEST_NET.$((${BERTH_TEST_NET_BASE:-0} + 1))
ip route del unreachable "$inner.0/24" 2>/dev/null || true
ip addr replace "$inner.1/24" dev "$BERTH_TEST_NS_PREFIX-br1"
ip route replace "$inner.0/24" dev "$BERTH_TEST_NS_PREFIX-br1" proto kernel scope link src "$inner.1"
# Never let bench traffic leave through the default route.
while read -r addr; do
  ip route get "$addr" | grep -q " dev $BERTH_TEST_NS_PREFIX-br[01] " || { echo "no local route to $addr" >&2 && exit 1; }
done < <(grep -o '"address": "[0-9.]*"' "$BERTH_TEST_DIR/env.json" | cut -d'"' -f4)

if ((trace)); then
  node --import tsx bench/trace.ts --env "$BERTH_TEST_DIR/env.json" --work "$BERTH_TEST_DIR/work" \
    --tools "berth (node),floor-openssh" --gate none --out bench/results/trace.md
  exit
fi
node --import tsx bench/bench.ts --env "$BERTH_TEST_DIR/env.json" --work "$BERTH_TEST_DIR/work" ${args[@]+"${args[@]}"}
node --import tsx bench/readme.ts
