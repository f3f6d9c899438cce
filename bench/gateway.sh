#!/bin/sh
# make bench-gateway: the LLM gateway's added latency and time-to-first-
# token against a stub upstream that answers at once (docs/gateway.md,
# "Overhead").  Needs node; installs the test's npm packages when missing
# (none are needed by the benchmark itself).
#
#   sh bench/gateway.sh [BUILD_DIR] [--quick]
set -eu
build=${1:-build}
shift 2>/dev/null || true
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v node >/dev/null; then
    echo "bench-gateway: needs node (apt-get install nodejs)" >&2
    exit 1
fi
echo "== qinglang gateway overhead ($(nproc) cores, $(uname -m)) =="
QINGLANG="$root/$build/qinglang" node "$root/bench/gateway.mjs" "$@"
