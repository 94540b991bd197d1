#!/usr/bin/env bash
# run_logs_page.sh — how fast a webhook's Logs answer, and the Logs tab
# draws, when the webhook holds a million deliveries. See bench/README.md.
#
#   bash bench/run_logs_page.sh                 # LOGS_N=1000000 (long: minutes)
#   LOGS_N=20000 bash bench/run_logs_page.sh    # a quick try first
#
# Everything stays on 127.0.0.1: hookd on a free port with a fresh database,
# the receiver and the client in Node (bench/logs_page.mjs), Chromium
# headless. The last lines are the result, each with the goal "< 200 ms".
# Not part of `make test`. Exit status 1 if any call failed or a step broke.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
BUILD_DIR=${BENCH_DIR:-build-bench}
API_KEY="bench-key-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
    make -s -f Makefile BUILD="$BUILD_DIR" SAN=0 "$BUILD_DIR/hookd" >&2
fi
# The browser half needs playwright-core from the lock file (as make test).
[[ -f node_modules/.package-lock.json ]] || npm ci --no-audit --no-fund >&2

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hookd-logs-bench.XXXXXX")
HOOKD_PID=
cleanup() {
    stop_hookd || true
    rm -rf "$TMP"
}
trap cleanup EXIT

start_hookd "$BUILD_DIR/hookd" "$TMP/hookd.db" "$TMP/hookd.log" --api-key "$API_KEY" \
    --allow-private-networks || { echo "run_logs_page: FAILED: start" >&2; exit 1; }

echo "$("$BUILD_DIR/hookd" version 2>/dev/null || echo "hookd (version unknown)"), $(nproc) CPUs, LOGS_N=${LOGS_N:-1000000}"
node bench/logs_page.mjs "http://127.0.0.1:$HOOKD_PORT" "$API_KEY" || {
    echo "--- hookd log (tail) ---" >&2
    tail -n 20 "$TMP/hookd.log" >&2
    exit 1
}
echo "database: $(du -sh "$TMP" | cut -f1) on disk" >&2
stop_hookd || { echo "run_logs_page: hookd did not exit cleanly" >&2; exit 1; }
