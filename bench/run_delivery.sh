#!/usr/bin/env bash
# run_delivery.sh — end-to-end delivery rate and ingest-to-first-attempt
# latency of the real hookd, beside the raw rate wrk gets from the same local
# nginx in the same run. See bench/README.md, "## Delivery".
#
#   bash bench/run_delivery.sh
#   DBENCH_N=20000 DBENCH_WRK_SECONDS=5 bash bench/run_delivery.sh
#
# Needs nginx (nginx-light), wrk and python3; as root it installs the first two
# from Debian when missing. Everything stays on 127.0.0.1. About 30 s with the
# defaults (bounded: the throughput phase gives up after 60 s).
# The last lines are the summary. Exit status 1 if a step broke.
#
# Knobs (environment):
#   DBENCH_N            activities in the throughput phase (50000)
#   DBENCH_BATCH        activities per ingest request there (1000)
#   DBENCH_CONC         ingest connections there (2)
#   DBENCH_POLL_MS      how often the stats are polled there (100)
#   DBENCH_WRK_SECONDS  wrk duration (10)
#   DBENCH_LAT_SECONDS  latency phase duration (10), at 10 activities / 10 ms
#   DBENCH_BUILD        build dir (build-dbench); DBENCH_NO_BUILD=1 skips make
#   DBENCH_KEEP=1       keep the temp dir (hookd.log, nginx error.log, curve.tsv, …)
#   DBENCH_PERF=1       profile hookd during the throughput phase (needs perf:
#                       apt-get install -y linux-perf); DBENCH_PERF_G=dwarf adds
#                       call graphs. Reports land in the kept temp dir.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
N=${DBENCH_N:-50000}
BATCH=${DBENCH_BATCH:-1000}
CONC=${DBENCH_CONC:-2}
POLL_MS=${DBENCH_POLL_MS:-100}
WRK_SECONDS=${DBENCH_WRK_SECONDS:-10}
LAT_SECONDS=${DBENCH_LAT_SECONDS:-10}
BUILD_DIR=${DBENCH_BUILD:-build-dbench}
API_KEY="dbench-key-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
PY=${PYTHON:-python3}
say() { printf '%s\n' "$*" >&2; }
die() { say "run_delivery: $*"; exit 1; }

# ---- tools ----------------------------------------------------------------
if ! command -v nginx >/dev/null && [[ -x /usr/sbin/nginx ]]; then PATH=$PATH:/usr/sbin; fi
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
    [[ $(id -u) == 0 ]] || die "needs nginx and wrk (apt-get install -y nginx-light wrk)"
    say "installing nginx-light and wrk from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light wrk >/dev/null ||
        { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light wrk >/dev/null; } ||
        die "cannot install nginx-light and wrk"
    PATH=$PATH:/usr/sbin
fi
if [[ ${DBENCH_NO_BUILD:-0} != 1 ]]; then
    make -s -j2 BUILD="$BUILD_DIR" "$BUILD_DIR/hookd" >&2
fi
HOOKD="$BUILD_DIR/hookd"
[[ -x $HOOKD ]] || die "no $HOOKD"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hookd-dbench.XXXXXX")
chmod 755 "$TMP" # nginx's worker may run as nobody
NGINX_PID= HOOKD_PID=
stop_pid() { # pid: TERM, wait up to 5 s, then KILL
    local pid=$1
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    stop_pid "$HOOKD_PID"
    stop_pid "$NGINX_PID"
    if [[ ${DBENCH_KEEP:-0} == 1 ]]; then say "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() { # port: until something accepts there (5 s)
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
result_of() { sed -n 's/^RESULT //p' "$1" | tail -n1; }
jget() { "$PY" -c 'import json,sys; d=json.loads(sys.argv[1])
for k in sys.argv[2].split("."): d=d[k]
print(d)' "$1" "$2"; }

# CPU accounting, in clock ticks: a process's user+system time, and the
# machine's busy and total time (all cores). Other work on the machine lowers
# every number here, so the run reports how busy the machine was.
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
machine_ticks() { awk '/^cpu /{t=0; for (i=2;i<=NF;i++) t+=$i; print t - $5 - $6, t}' /proc/stat; }
busy_pct() { # "busy0 total0" "busy1 total1" -> percent of all cores
    awk -v a="$1" -v b="$2" 'BEGIN{split(a,x," "); split(b,y," "); d=y[2]-x[2]; printf "%.0f", (d > 0 ? 100*(y[1]-x[1])/d : 0)}'
}
M0=$(machine_ticks); sleep 1; M1=$(machine_ticks)
IDLE_BUSY=$(busy_pct "$M0" "$M1")
say "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg), ${IDLE_BUSY}% busy before the run"
if ((IDLE_BUSY > 20)); then
    say "  WARNING: something else is using the CPU; the numbers below will be low"
fi

# ---- 1. nginx ---------------------------------------------------------------
NGINX_PORT=$(free_port)
USER_LINE=
[[ $(id -u) == 0 ]] && USER_LINE="user nobody $(id -gn nobody 2>/dev/null || echo nogroup);"
sed -e "s#@PREFIX@#$TMP#g" -e "s#@PORT@#$NGINX_PORT#g" -e "s#@USER@#$USER_LINE#" \
    bench/nginx.conf.in >"$TMP/nginx.conf"
nginx -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/error.log" 2>>"$TMP/error.log" &
NGINX_PID=$!
wait_port "$NGINX_PORT" || { cat "$TMP/error.log" >&2; die "nginx did not start"; }
NGINX_URL="http://127.0.0.1:$NGINX_PORT"
say "nginx (1 worker) on $NGINX_URL"

# ---- 2. baseline: wrk against the same nginx --------------------------------
# The body is the shape and size of a hookd delivery here (~500 bytes of JSON).
cat >"$TMP/post.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"activity":{"id":"act_000000000000000000000000000001","field_id":"act::s",' ..
  '"created":"2024-03-18T09:30:00Z","attr":{"str::s":"Spring sale: 20% off everything until Sunday",' ..
  '"str::cn":"Spring sale 2024","str::asn":"Spring newsletter, week 12","idt::c":"cmp_0123456789abcdef"}},' ..
  '"contact":{"contact_id":"01a2195b-8038-7286-8609-d07bc9dce8db","email":"bench@example.com"},' ..
  '"id":"01a2195b-8033-7607-bce5-6f41b7bedcb6","time":"2024-03-18T09:30:00.123456789Z",' ..
  '"webhook_id":"01a2195b-8033-7607-bce5-6f41b7bedcb7"}'
EOF
say "wrk -t1 -c16 -d${WRK_SECONDS}s POST $(wc -c <"$TMP/post.lua") B script"
wrk -t1 -c16 -d"${WRK_SECONDS}s" -s "$TMP/post.lua" "$NGINX_URL/hook" >"$TMP/wrk.out" 2>&1 ||
    { cat "$TMP/wrk.out" >&2; die "wrk failed"; }
sed 's/^/  /' "$TMP/wrk.out" >&2
WRK_RPS=$(sed -n 's/^Requests\/sec:[[:space:]]*\([0-9.]*\).*/\1/p' "$TMP/wrk.out")
[[ -n $WRK_RPS ]] || die "no Requests/sec in wrk's output"
if grep -q 'Non-2xx' "$TMP/wrk.out"; then die "nginx answered wrk with non-2xx"; fi

# ---- 3. hookd -----------------------------------------------------------------
start_hookd "$HOOKD" "$TMP/hookd.db" "$TMP/hookd.log" --api-key "$API_KEY" \
    --allow-private-networks || die "hookd did not start"
BASE="http://127.0.0.1:$HOOKD_PORT"
say "hookd ($HOOKD) on $BASE, db $TMP/hookd.db"
"$PY" bench/delivery_bench.py setup --base "$BASE" --key "$API_KEY" --target "$NGINX_URL/hook" \
    >"$TMP/setup.out" || die "setup failed"
SETUP=$(result_of "$TMP/setup.out")
WEBHOOK=$(jget "$SETUP" webhook_id)
CONTACT=$(jget "$SETUP" contact_id)
[[ $(jget "$SETUP" test.ok) == True ]] || say "  (warning: the creation test send did not succeed: $SETUP)"
grep -v '^RESULT' "$TMP/setup.out" | sed 's/^/  /' >&2

# ---- 4. throughput --------------------------------------------------------------
# DBENCH_PERF=1: profile hookd during this phase (perf record, and perf stat of
# the sync syscalls); reports go to $TMP/perf-*.txt, and the temp dir is kept.
# DBENCH_PERF_G=dwarf (or fp) adds call graphs: perf report -i $TMP/perf.data --children.
PERF_PIDS=()
if [[ ${DBENCH_PERF:-0} == 1 ]]; then
    DBENCH_KEEP=1
    perf record -q -F 999 ${DBENCH_PERF_G:+--call-graph "$DBENCH_PERF_G"} -p "$HOOKD_PID" -o "$TMP/perf.data" 2>"$TMP/perf-record.log" &
    PERF_PIDS+=($!)
    perf stat --per-thread -p "$HOOKD_PID" -o "$TMP/perf-stat.txt" \
        -e 'syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync,syscalls:sys_enter_pwrite64' \
        -e 'syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_enter_epoll_wait' \
        -e 'syscalls:sys_enter_poll,syscalls:sys_enter_futex,context-switches,task-clock' 2>/dev/null &
    PERF_PIDS+=($!)
    sleep 0.5
fi
nginx_ticks() { local t=0 p; for p in $(ps -o pid= --ppid "$NGINX_PID"); do t=$((t + $(proc_ticks "$p"))); done; echo "$t"; }
H0=$(proc_ticks "$HOOKD_PID"); NG0=$(nginx_ticks); M0=$(machine_ticks)
"$PY" bench/delivery_bench.py throughput --base "$BASE" --key "$API_KEY" --webhook "$WEBHOOK" \
    --contact "$CONTACT" -n "$N" --batch "$BATCH" --conc "$CONC" --poll-ms "$POLL_MS" --timeout 60 \
    --curve "$TMP/curve.tsv" >"$TMP/tp.out" ||
    { cat "$TMP/tp.out" >&2; die "throughput phase failed"; }
grep -v '^RESULT' "$TMP/tp.out" >&2
TP=$(result_of "$TMP/tp.out")
H1=$(proc_ticks "$HOOKD_PID"); NG1=$(nginx_ticks); M1=$(machine_ticks)
TP_BUSY=$(busy_pct "$M0" "$M1")
HZ=$(getconf CLK_TCK)
HOOKD_CPU=$(awk -v a="$H0" -v b="$H1" -v hz="$HZ" 'BEGIN{printf "%.2f", (b-a)/hz}')
NGINX_CPU=$(awk -v a="$NG0" -v b="$NG1" -v hz="$HZ" 'BEGIN{printf "%.2f", (b-a)/hz}')
say "  CPU in this phase: machine ${TP_BUSY}% busy (of $(nproc) cores); hookd ${HOOKD_CPU} s" \
    "= $(awk -v c="$HOOKD_CPU" -v n="$N" 'BEGIN{printf "%.0f", c*1e6/n}') µs per activity (ingest + delivery);" \
    "nginx ${NGINX_CPU} s"
if ((${#PERF_PIDS[@]})); then
    for p in "${PERF_PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    for p in "${PERF_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    perf report -i "$TMP/perf.data" --stdio --no-children -g none --sort pid,dso,sym -q 2>/dev/null |
        grep -v '^$' | head -n 80 >"$TMP/perf-sym.txt" || true
    perf report -i "$TMP/perf.data" --stdio --no-children -g none --sort comm,pid -q 2>/dev/null |
        grep -v '^$' | head -n 20 >"$TMP/perf-tid.txt" || true
    perf report -i "$TMP/perf.data" --stdio --no-children -g none --sort pid,dso -q 2>/dev/null |
        grep -v '^$' | head -n 20 >"$TMP/perf-dso.txt" || true
    say "profile of the throughput phase: $TMP/perf-{sym,tid,dso,stat}.txt"
fi
DPS=$(jget "$TP" deliveries_per_s)
[[ $(jget "$TP" complete) == True ]] || say "  (incomplete: the rate below is what succeeded within 60 s)"

# ---- 5. latency at 1000 activities/s --------------------------------------------
# The webhook is pointed at a receiver of delivery_bench.py (not nginx) that
# notes when each delivery arrives, on the same monotonic clock as the sender.
"$PY" bench/delivery_bench.py latency --base "$BASE" --key "$API_KEY" --webhook "$WEBHOOK" \
    --contact "$CONTACT" --work "$TMP" --seconds "$LAT_SECONDS" >"$TMP/lat.out" ||
    { cat "$TMP/lat.out" >&2; die "latency phase failed"; }
grep -v '^RESULT' "$TMP/lat.out" >&2
LAT=$(result_of "$TMP/lat.out")

if grep -q ' error ' "$TMP/hookd.log"; then
    say "hookd logged errors:"
    grep ' error ' "$TMP/hookd.log" | head -n5 >&2
fi

# ---- 6. summary -------------------------------------------------------------------
"$PY" - "$WRK_RPS" "$TP" "$LAT" <<'EOF'
import json, sys
wrk = float(sys.argv[1]); tp = json.loads(sys.argv[2]); lat = json.loads(sys.argv[3])
s, a = lat["from_send_ms"], lat["from_202_ms"]
print("== delivery benchmark (2 cores shared by hookd, nginx and the client) ==")
print("wrk (nginx, same run): %.0f req/s" % wrk)
print("hookd delivery: %.0f deliveries/s (%d in %.2f s end to end%s; ingest alone %.0f activities/s)"
      % (tp["deliveries_per_s"], tp["succeeded"], tp["elapsed_s"],
         "" if tp["complete"] else ", INCOMPLETE", tp["ingest_per_s"]))
print("ratio: %.3f (goal >= 0.5)" % (tp["deliveries_per_s"] / wrk))
print("ingest→first attempt at 1000/s: p50 %.1f ms p90 %.1f ms p99 %.1f ms max %.1f ms (from ingest send; goal p99 < 20 ms)"
      % (s["p50"], s["p90"], s["p99"], s["max"]))
print("ingest→first attempt at 1000/s, from the 202: p50 %.1f ms p90 %.1f ms p99 %.1f ms max %.1f ms%s"
      % (a["p50"], a["p90"], a["p99"], a["max"],
         "" if not (lat["missing"] or lat["duplicates"]) else
         " (%d missing, %d duplicate)" % (lat["missing"], lat["duplicates"])))
EOF
