#!/usr/bin/env bash
# run_ingest.sh — ingest throughput of the real hookd against the storage
# floor (raw SQLite with hookd's durability). See bench/README.md.
#
#   bash bench/run_ingest.sh            # 2 client threads, 10 s each phase
#   BENCH_THREADS=4 BENCH_SECONDS=5 bash bench/run_ingest.sh
#
# Everything stays on 127.0.0.1: hookd listens there on a free port, and the
# two webhooks point at 127.0.0.1:9 (discard). The last three lines are the
# result: the two rates and their ratio. Exit status 1 if any request failed
# or a step broke.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
THREADS=${BENCH_THREADS:-2}
SECONDS_EACH=${BENCH_SECONDS:-10}
BUILD_DIR=${BENCH_DIR:-build-bench}
# 16+ characters, as hookd wants of an admin key; only this run knows it.
API_KEY="bench-key-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
    make -s -f Makefile -f mk/extra.mk BENCH_DIR="$BUILD_DIR" bench >&2
fi
HOOKD="$BUILD_DIR/hookd"
CLIENT="$BUILD_DIR/ingest_bench"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hookd-bench.XXXXXX")
HOOKD_PID=
cleanup() {
    stop_hookd || true
    rm -rf "$TMP"
}
trap cleanup EXIT

start_hookd "$HOOKD" "$TMP/hookd.db" "$TMP/hookd.log" --api-key "$API_KEY" \
    --allow-private-networks || { echo "run_ingest: FAILED: start" >&2; exit 1; }
PORT=$HOOKD_PORT
BASE="http://127.0.0.1:$PORT"

read -r CONTACT_ID WEBHOOK_ID < <("$CLIENT" setup "$BASE" "$API_KEY")
if [[ -z ${CONTACT_ID:-} || -z ${WEBHOOK_ID:-} ]]; then
    echo "run_ingest: setup failed" >&2
    exit 1
fi

echo "$("$HOOKD" version 2>/dev/null || echo "hookd (version unknown)"), $THREADS client threads, ${SECONDS_EACH} s per phase, $(nproc) CPUs"
INGEST_OUT=$("$CLIENT" ingest "$BASE" "$API_KEY" "$CONTACT_ID" "$THREADS" "$SECONDS_EACH") || {
    echo "$INGEST_OUT"
    echo "run_ingest: FAILED: hookd did not answer every request with 202" >&2
    echo "--- hookd log (tail) ---" >&2
    tail -n 20 "$TMP/hookd.log" >&2
    exit 1
}

# The floor writes delivery bodies as large as hookd's real ones.
PAYLOAD_BYTES=$("$CLIENT" payload-size "$BASE" "$API_KEY" "$WEBHOOK_ID" 2>/dev/null || echo 400)
echo "payload size: $PAYLOAD_BYTES bytes"

# Stop hookd before the floor runs, so the two never share the disk or CPUs.
stop_hookd || true

# The floor writes into a database hookd made, so it has hookd's schema to
# the index: start hookd once on a fresh file (migrations run at start) and
# stop it again.
start_hookd "$HOOKD" "$TMP/baseline.db" "$TMP/schema.log" --api-key "$API_KEY" &&
    stop_hookd || { echo "run_ingest: FAILED: schema" >&2; exit 1; }

BASE_OUT=$("$CLIENT" baseline "$TMP/baseline.db" "$SECONDS_EACH" "$PAYLOAD_BYTES") || {
    echo "$BASE_OUT"
    echo "run_ingest: FAILED: baseline" >&2
    exit 1
}

INGEST_LINE=$(grep '^ingest: ' <<<"$INGEST_OUT")
BASE_LINE=$(grep '^baseline (raw SQLite' <<<"$BASE_OUT")
grep -v '^ingest: ' <<<"$INGEST_OUT" || true
grep -v '^baseline (raw SQLite' <<<"$BASE_OUT" || true
INGEST_RATE=$(awk '{print $2}' <<<"$INGEST_LINE")
BASE_RATE=$(awk '{print $(NF-1)}' <<<"$BASE_LINE")
echo "$INGEST_LINE"
echo "$BASE_LINE"
awk -v a="$INGEST_RATE" -v b="$BASE_RATE" 'BEGIN { printf "ratio: %.2f\n", (b > 0 ? a / b : 0) }'
