#!/usr/bin/env bash
# run_budget.sh — what one delivery costs hookd, by part: instructions
# (valgrind's callgrind: counts, not seconds, so they repeat on a shared
# machine), system calls and fsyncs (perf stat's syscall tracepoints), bytes
# written and kept. docs/performance.md quotes it. See bench/README.md.
#
#   bash bench/run_budget.sh                 # 2,000 activities under callgrind, 20,000 for syscalls
#   BUDGET_CG_N=1000 BUDGET_N=10000 bash bench/run_budget.sh
#   BUDGET_HOOKD=/path/to/hookd bash bench/run_budget.sh   # another build
#
# Each run: a fresh hookd on a temp database, 1,000 people, one webhook to a
# local nginx (answering 200), then N ~1 KB activities ingested by
# core_client (4 connections, 1,000 a request) until every delivery
# succeeded. Needs valgrind, nginx and perf (as root it installs them).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

CG_N=${BUDGET_CG_N:-2000}
N=${BUDGET_N:-20000}
BUILD_DIR=${BUDGET_BUILD:-build-bench}
KEY="budget-key-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
say() { printf '%s\n' "$*" >&2; }
die() { say "run_budget: $*"; exit 1; }

if ! command -v nginx >/dev/null && [[ -x /usr/sbin/nginx ]]; then PATH=$PATH:/usr/sbin; fi
for need in valgrind:valgrind nginx:nginx-light perf:linux-perf; do
    cmd=${need%%:*}
    command -v "$cmd" >/dev/null && continue
    [[ $(id -u) == 0 ]] || die "needs $cmd (apt-get install -y ${need#*:})"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need#*:}" >/dev/null || die "cannot install ${need#*:}"
    PATH=$PATH:/usr/sbin
done
make -s -f Makefile -f mk/extra.mk BENCH_DIR="$BUILD_DIR" bench-hookd "$BUILD_DIR/core_client" >&2
HOOKD=${BUDGET_HOOKD:-$BUILD_DIR/hookd}
CLIENT=$BUILD_DIR/core_client

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hookd-budget.XXXXXX")
chmod 755 "$TMP"
NGINX_PID=
cleanup() {
    stop_child "$NGINX_PID" 5 2>/dev/null || true
    [[ -n ${HOOKD_PID:-} ]] && kill -KILL "$HOOKD_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

NGINX_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
USER_LINE=
[[ $(id -u) == 0 ]] && USER_LINE="user nobody $(id -gn nobody 2>/dev/null || echo nogroup);"
sed -e "s#@PREFIX@#$TMP#g" -e "s#@PORT@#$NGINX_PORT#g" -e "s#@USER@#$USER_LINE#" \
    bench/nginx.conf.in >"$TMP/nginx.conf"
nginx -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/error.log" 2>"$TMP/nginx.stderr" &
NGINX_PID=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$NGINX_PORT") 2>/dev/null && break; sleep 0.1; done
HOOK_URL="http://127.0.0.1:$NGINX_PORT/hook"

# setup DIR: people and the webhook of a running hookd; sets WEBHOOK.
setup() {
    BASE="http://127.0.0.1:$HOOKD_PORT"
    "$CLIENT" people "$BASE" "$KEY" 1000 "$1/contacts" >/dev/null || die "people merge failed"
    WEBHOOK=$("$CLIENT" webhook "$BASE" "$KEY" budget "$HOOK_URL" '*') || die "webhook failed"
}
# ingest DIR N: the timed run; waits until every delivery succeeded.
ingest() {
    "$CLIENT" run --base "$BASE" --key "$KEY" --webhook "$WEBHOOK" --contacts "$1/contacts" -n "$2" \
        --conc 4 --batch 1000 --poll-ms 500 --timeout 900 --tag "b$RANDOM" >"$1/run.out" 2>&1 ||
        { cat "$1/run.out" >&2; die "the client failed"; }
}

# ---- 1. instructions, by thread ---------------------------------------------------
say "callgrind: $CG_N activities (about a minute)"
mkdir -p "$TMP/cg"
# Under valgrind a start takes longer: start_hookd's 10 s wait is stretched.
valgrind --tool=callgrind --callgrind-out-file="$TMP/cg/out" --dump-instr=no \
    "$HOOKD" serve --listen 127.0.0.1:0 --db "$TMP/cg/hookd.db" --api-key "$KEY" \
    --allow-private-networks 2>"$TMP/cg/hookd.log" &
HOOKD_PID=$!
for _ in $(seq 300); do
    HOOKD_PORT=$(sed -n 's/.* listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$TMP/cg/hookd.log" | head -n1)
    [[ -n $HOOKD_PORT ]] && break
    sleep 0.1
done
[[ -n $HOOKD_PORT ]] || die "hookd did not start under valgrind"
setup "$TMP/cg"
callgrind_control -z "$HOOKD_PID" >/dev/null 2>&1
ingest "$TMP/cg" "$CG_N"
kill -TERM "$HOOKD_PID"
wait "$HOOKD_PID" || true
HOOKD_PID=
callgrind_annotate --inclusive=yes --threshold=100 "$TMP/cg/out" 2>/dev/null >"$TMP/cg/annotate.txt"

# ---- 2. system calls, writes and size, at full speed -----------------------------
say "perf stat: $N activities"
mkdir -p "$TMP/sc"
start_hookd "$HOOKD" "$TMP/sc/hookd.db" "$TMP/sc/hookd.log" --api-key "$KEY" \
    --allow-private-networks || die "hookd did not start"
setup "$TMP/sc"
empty=$(($(stat -c %s "$TMP/sc/hookd.db") + $(stat -c %s "$TMP/sc/hookd.db-wal" 2>/dev/null || echo 0)))
perf stat --per-thread -p "$HOOKD_PID" -o "$TMP/sc/stat.txt" -e 'syscalls:sys_enter_*' \
    -e task-clock 2>/dev/null &
PERF_PID=$!
sleep 0.5
w0=$(awk '/^write_bytes/{print $2}' "/proc/$HOOKD_PID/io")
ingest "$TMP/sc" "$N"
w1=$(awk '/^write_bytes/{print $2}' "/proc/$HOOKD_PID/io")
kill -INT "$PERF_PID"
wait "$PERF_PID" 2>/dev/null || true
ps -L -o tid=,comm= -p "$HOOKD_PID" >"$TMP/sc/threads.txt"
stop_hookd || true
kept=$(($(stat -c %s "$TMP/sc/hookd.db") - empty))

/usr/bin/python3 bench/budget_report.py --annotate "$TMP/cg/annotate.txt" --cg-n "$CG_N" \
    --stat "$TMP/sc/stat.txt" --n "$N" --written $((w1 - w0)) --kept "$kept" \
    --run "$TMP/sc/run.out"
