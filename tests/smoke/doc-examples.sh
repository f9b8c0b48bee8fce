#!/usr/bin/env bash
# Every runnable @example in the public modules' JSDoc runs and asserts (deno test --doc).
set -euo pipefail
cd "$(dirname "$0")/../.."
node_modules/.bin/deno test -A --doc --quiet core/ engine/ store/ transports/ runtimes/ platform/ 2>&1 | tail -n 3
