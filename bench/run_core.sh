#!/usr/bin/env bash
# run_core.sh — the one benchmark of hookd's core: every figure the rewrite is
# judged by, from one run, each ratio between numbers measured in that run.
# See bench/README.md for what each phase does and how to read it.
#
#   bash bench/run_core.sh                                   # ~10 min on 2 cores
#   CORE_N=20000 CORE_BACKLOG=50000 bash bench/run_core.sh   # ~1.5 min
#
# Phases, all against one local nginx (1 worker) on 127.0.0.1:
#   1 wrk      wrk's request rate (the ceiling for any sender)
#   2 floor    floor_sender: libcurl multi + per-request HMAC, no storage
#   3 e2e      hookd end to end: 4 clients ingest N ~1 KB activities, until
#              the last delivery succeeded; CPU, I/O, size, RSS
#   4 latency  202 → first attempt at 1,000 activities/s
#   5 backlog  fresh rate with CORE_BACKLOG waiting retries ÷ without
#   6 slow     a webhook answering after 10 s beside a fast one
#   7 peer     BullMQ + undici + Redis doing the same deliveries
# then the summary (last lines) and its JSON (CORE_OUT).
#
# Knobs (environment; defaults in brackets):
#   CORE_N [200000]            activities in the end-to-end phase
#   CORE_PEOPLE [1000]         people merged first; activities name them by contact_id
#   CORE_CONC [4]              ingest clients; CORE_BATCH [1000] activities a request
#   CORE_POLL_MS [250]         stats poll period (stretched so a read takes <= 1/5 of the time)
#   CORE_WRK_SECONDS [10]      CORE_WRK_CONNS [64]
#   CORE_FLOOR_N [N/2]         CORE_FLOOR_CONC [64]
#   CORE_LAT_SECONDS [10]      latency phase length (10 activities every 10 ms)
#   CORE_BACKLOG [1000000]     waiting retries made for phase 5
#   CORE_BACKLOG_N [N/2]       fresh activities measured with and without the backlog
#   CORE_SLOW_N [N/2]          activities of phase 6; CORE_SLOW_HOLD_S [10]; CORE_SLOW_IDLE_S [5]
#   CORE_PEER_N [N/2]          jobs of the BullMQ peer; CORE_PEER_ALWAYS [1] also run it
#                              with appendfsync always
#   CORE_PHASE_TIMEOUT [180]   limit of each timed phase, s; CORE_FILL_TIMEOUT [300] of the fill
#   CORE_SKIP                  phases to leave out, e.g. "backlog,peer"
#   CORE_BUILD [build-bench]   build directory; CORE_NO_BUILD=1 skips make
#   CORE_HOOKD                 a hookd binary to measure instead of building one
#   CORE_OUT [<tmp>/summary.json]  where the summary JSON goes
#   CORE_KEEP=1                keep the temp dir (logs, curves, receiver records)
#   CORE_PERF=1                perf record -g of hookd in phase 3 (keeps the temp dir)
#
# As root it installs what is missing from Debian (nginx-light, wrk,
# redis-server, linux-perf for CORE_PERF) and the peer's pinned npm packages
# into bench/peer-bullmq/node_modules. Exit status 1 only if a step broke
# (a phase marked BROKEN), never because a goal was missed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

N=${CORE_N:-200000}
PEOPLE=${CORE_PEOPLE:-1000}
CONC=${CORE_CONC:-4}
BATCH=${CORE_BATCH:-1000}
POLL_MS=${CORE_POLL_MS:-250}
WRK_SECONDS=${CORE_WRK_SECONDS:-10}
WRK_CONNS=${CORE_WRK_CONNS:-64}
FLOOR_N=${CORE_FLOOR_N:-$((N / 2))}
FLOOR_CONC=${CORE_FLOOR_CONC:-64}
LAT_SECONDS=${CORE_LAT_SECONDS:-10}
BACKLOG=${CORE_BACKLOG:-1000000}
BACKLOG_N=${CORE_BACKLOG_N:-$((N / 2))}
SLOW_N=${CORE_SLOW_N:-$((N / 2))}
SLOW_HOLD_S=${CORE_SLOW_HOLD_S:-10}
SLOW_IDLE_S=${CORE_SLOW_IDLE_S:-5}
PEER_N=${CORE_PEER_N:-$((N / 2))}
PEER_ALWAYS=${CORE_PEER_ALWAYS:-1}
PHASE_TIMEOUT=${CORE_PHASE_TIMEOUT:-180}
FILL_TIMEOUT=${CORE_FILL_TIMEOUT:-300}
BUILD_DIR=${CORE_BUILD:-build-bench}
SKIP=${CORE_SKIP:-}
PY=/usr/bin/python3
HZ=$(getconf CLK_TCK)
STOP_LIMIT=120 # s a hookd may take to stop (it checkpoints its WAL then)
# 16+ characters, as hookd wants of an admin key; only this run knows it.
API_KEY="core-key-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

say() { printf '%s\n' "$*" >&2; }
die() { say "run_core: $*"; exit 1; }
is_root() { [[ $(id -u) == 0 ]]; }

# ---- tools and build ---------------------------------------------------------

# Installs the Debian packages behind the given commands when one is missing
# (as root), or says what to install.
need_debian() { # "cmd:package" …
    local missing=() pair
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    ((${#missing[@]})) || return 0
    is_root || die "missing: apt-get install -y ${missing[*]}"
    say "installing ${missing[*]} from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; } ||
        die "cannot install ${missing[*]}"
}

PATH=$PATH:/usr/sbin
need_debian nginx:nginx-light wrk:wrk redis-server:redis-server
[[ ${CORE_PERF:-0} != 1 ]] || need_debian perf:linux-perf
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    die "needs node (v20) and npm for the BullMQ peer"
fi
if [[ ${CORE_NO_BUILD:-0} != 1 ]]; then
    make -s -j2 -f Makefile -f mk/extra.mk BENCH_DIR="$BUILD_DIR" bench-core >&2 || die "build failed"
fi
HOOKD=${CORE_HOOKD:-$BUILD_DIR/hookd}
CLIENT=$BUILD_DIR/core_client
FLOOR=$BUILD_DIR/floor_sender
for b in "$HOOKD" "$CLIENT" "$FLOOR"; do [[ -x $b ]] || die "no $b"; done
PEER_DIR=bench/peer-bullmq
# The exact versions of package-lock.json, into the bench's own folder.
if [[ ! -d $PEER_DIR/node_modules || $PEER_DIR/package-lock.json -nt $PEER_DIR/node_modules ]]; then
    say "installing the BullMQ peer's npm packages (npm ci in $PEER_DIR)"
    (cd "$PEER_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci failed"
fi

# ---- temp dir, processes, cleanup ----------------------------------------------

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hookd-core.XXXXXX")
chmod 755 "$TMP" # nginx's worker runs as nobody
R=$TMP/results
mkdir -p "$R"
OUT=${CORE_OUT:-$TMP/summary.json}
[[ ${CORE_PERF:-0} == 1 ]] && CORE_KEEP=1

# Every process this run starts in the background is noted in $TMP/pids with
# a mark its command line holds ($TMP unless said otherwise), so the cleanup
# stops exactly those, whatever phase broke, and never a process that later
# took the same pid.
track() { echo "$1 ${2:-$TMP}" >>"$TMP/pids"; }
ours() { [[ -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"; }
cleanup() {
    local pid mark sig
    if [[ -f $TMP/pids ]]; then
        for sig in TERM KILL; do
            while read -r pid mark; do
                ours "$pid" "$mark" && kill -"$sig" "$pid" 2>/dev/null || true
            done < <(tac "$TMP/pids")
            [[ $sig == KILL ]] || sleep 0.5
        done
    fi
    if [[ ${CORE_KEEP:-0} == 1 ]]; then
        say "kept $TMP"
    else # everything but the summary JSON, when it lives here
        find "$TMP" -mindepth 1 -maxdepth 1 ! -name summary.json -exec rm -rf {} + 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() { # port: until something accepts there (10 s)
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
result_of() { sed -n 's/^RESULT //p' "$1" | tail -n1; }
jget() { # JSON KEY: the value (Python's repr for true/false: True/False)
    "$PY" -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2"
}
# put PHASE KEY VALUE …: merges keys into results/PHASE.json (a value that
# parses as JSON is kept as such, anything else as a string).
put() {
    "$PY" - "$R/$1.json" "${@:2}" <<'EOF'
import json, os, sys
p = sys.argv[1]
d = json.load(open(p)) if os.path.exists(p) else {}
a = sys.argv[2:]
for k, v in zip(a[0::2], a[1::2]):
    try:
        d[k] = json.loads(v)
    except ValueError:
        d[k] = v
json.dump(d, open(p, "w"), indent=1, sort_keys=True)
EOF
}
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
machine_ticks() { awk '/^cpu /{t=0; for (i=2;i<=9;i++) t+=$i; print t - $5 - $6, t}' /proc/stat; }
busy_pct() { # "busy0 total0" "busy1 total1" -> percent of all cores
    awk -v a="$1" -v b="$2" 'BEGIN{split(a,x," "); split(b,y," "); d=y[2]-x[2]; printf "%.0f", (d > 0 ? 100*(y[1]-x[1])/d : 0)}'
}
write_bytes_of() { awk '/^write_bytes/{print $2}' "/proc/$1/io"; }
hwm_kb() { awk '/^VmHWM/{print $2}' "/proc/$1/status"; } # peak resident set so far
db_bytes() { # DB: the database and its -wal/-shm, in bytes
    local t=0 f
    for f in "$1" "$1-wal" "$1-shm"; do [[ -f $f ]] && t=$((t + $(stat -c %s "$f"))); done
    echo "$t"
}

# ---- hookd, as each phase needs a fresh one ---------------------------------------

# hookd_up DIR [OPTIONS…]: a fresh hookd on DIR/hookd.db; sets HOOKD_PID, BASE.
hookd_up() {
    local dir=$1
    shift
    mkdir -p "$dir"
    start_hookd "$HOOKD" "$dir/hookd.db" "$dir/hookd.log" --api-key "$API_KEY" \
        --allow-private-networks "$@" || die "hookd did not start"
    track "$HOOKD_PID"
    BASE="http://127.0.0.1:$HOOKD_PORT"
}
# hookd_down DIR: stops it, and says if it logged errors or did not stop cleanly.
hookd_down() {
    local st=0
    stop_child "$HOOKD_PID" "$STOP_LIMIT" || st=$?
    HOOKD_PID=
    ((st == 0)) || say "  (hookd exited with status $st)"
    if grep -q ' error ' "$1/hookd.log"; then
        say "  hookd logged errors (first 3):"
        grep ' error ' "$1/hookd.log" | head -n3 | sed 's/^/    /' >&2
    fi
    return 0
}
# people DIR: merges CORE_PEOPLE people; their contact ids go to DIR/contacts.
people() { "$CLIENT" people "$BASE" "$API_KEY" "$PEOPLE" "$1/contacts" || die "people merge failed"; }
webhook() { # NAME URL ACTIVITIES [THEN_URL]: prints the new webhook's id
    "$CLIENT" webhook "$BASE" "$API_KEY" "$@" || die "creating webhook $1 failed"
}
# timed DIR NAME WEBHOOK N [core_client run options…]: one timed phase of
# core_client against the running hookd; its RESULT goes to DIR/NAME.result.
# Its time limit is CORE_PHASE_TIMEOUT (CORE_FILL_TIMEOUT for a fill), or
# TIMED_LIMIT when set.
timed() {
    local dir=$1 name=$2 wh=$3 n=$4 a
    shift 4
    local limit=${TIMED_LIMIT:-$PHASE_TIMEOUT}
    for a in "$@"; do
        if [[ $a == --wait=attempted ]]; then limit=$FILL_TIMEOUT; fi
    done
    timeout -k 10 $((limit + 300)) "$CLIENT" run --base "$BASE" --key "$API_KEY" --webhook "$wh" \
        --contacts "$dir/contacts" -n "$n" --conc "$CONC" --batch "$BATCH" --poll-ms "$POLL_MS" \
        --timeout "$limit" --pid "$HOOKD_PID" --curve "$dir/$name.curve.tsv" \
        --nginx-status "$NGINX_URL/status" --tag "$name-$RANDOM" "$@" >"$dir/$name.result" ||
        die "$name: the client failed (see above)"
    result_of "$dir/$name.result"
}

# run_phase NAME FUNCTION: runs one phase in a subshell with errexit on (a
# failing step ends that phase only, marked BROKEN); its figures are in
# results/NAME.json.
BROKEN=()
PHASE_TIMES=()
skipped() { [[ ,$SKIP, == *,$1,* ]]; }
# three_times N RATE: the time limit of a "with" run whose goal is a ratio of
# at least 0.9 to RATE: 3 × N/RATE (at least 30 s, at most the phase limit).
three_times() {
    awk -v n="$1" -v r="$2" -v m="$PHASE_TIMEOUT" \
        'BEGIN{l = r > 0 ? 3 * n / r : m; if (l < 30) l = 30; if (l > m) l = m; printf "%d", l + 0.999}'
}

run_phase() {
    local name=$1 fn=$2 t0=$SECONDS rc=0
    if skipped "$name"; then
        say "== $name: skipped (CORE_SKIP)"
        put "$name" skipped true
        return 0
    fi
    say "== $name"
    set +e
    (
        set -e
        HOOKD_PID=
        trap '[[ -z ${HOOKD_PID:-} ]] || stop_child "$HOOKD_PID" 10 || true' EXIT
        "$fn"
    )
    rc=$?
    set -e
    PHASE_TIMES+=("$name=$((SECONDS - t0))")
    put "$name" phase_s "$((SECONDS - t0))"
    if ((rc != 0)); then
        BROKEN+=("$name")
        put "$name" broken true
        say "== $name: BROKEN (status $rc)"
    fi
}

# ---- 0. the machine, and nginx ------------------------------------------------------

# busy_for SECONDS: how busy the machine is (all cores, %) over that long.
busy_for() {
    local m0 m1
    m0=$(machine_ticks)
    sleep "$1"
    m1=$(machine_ticks)
    busy_pct "$m0" "$m1"
}
# Nothing of this run is running yet: whatever uses the CPU now is someone
# else's, and will be there during the run too.
IDLE_BUSY=$(busy_for 3)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src 2>/dev/null || COMMIT="$COMMIT+dirty-src"
[[ -n ${CORE_HOOKD:-} ]] && COMMIT="$CORE_HOOKD"
say "hookd core benchmark: $("$HOOKD" version 2>/dev/null || echo hookd), source $COMMIT, temp dir $TMP"
say "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)," \
    "$(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg), ${IDLE_BUSY}% busy over the 3 s before the run"
if ((IDLE_BUSY > 10)); then
    say "  WARNING: the machine is busy; every rate below will be low (the ratios less so). Busiest now:"
    top -c -b -n 2 -d 0.5 -w 180 | awk '/^top -/{f++} f==2 && /^ *[0-9]/ {print "    " $0}' | head -n4 >&2 || true
fi
put meta commit "\"$COMMIT\"" idle_busy_pct "$IDLE_BUSY" cores "$(nproc)" \
    loadavg "\"$(cut -d' ' -f1-3 /proc/loadavg)\"" date "\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"" \
    n "$N" backlog "$BACKLOG" backlog_n "$BACKLOG_N" slow_n "$SLOW_N" peer_n "$PEER_N" \
    people "$PEOPLE" conc "$CONC" batch "$BATCH" wrk_conns "$WRK_CONNS" floor_conc "$FLOOR_CONC"

NGINX_PORT=$(free_port)
USER_LINE=
is_root && USER_LINE="user nobody $(id -gn nobody 2>/dev/null || echo nogroup);"
sed -e "s#@PREFIX@#$TMP#g" -e "s#@PORT@#$NGINX_PORT#g" -e "s#@USER@#$USER_LINE#" \
    bench/nginx.conf.in >"$TMP/nginx.conf"
nginx -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/error.log" 2>"$TMP/nginx.stderr" &
track $!
wait_port "$NGINX_PORT" || { cat "$TMP/error.log" "$TMP/nginx.stderr" >&2; die "nginx did not start"; }
NGINX_URL="http://127.0.0.1:$NGINX_PORT"
say "nginx (1 worker) on $NGINX_URL: /hook answers 200 \"ok\", /fail 503, /status its counters"

# The body wrk and the floor send: a payload like hookd's for one of the
# activities hookd is sent (the same generator, ~1.1 KB).
printf '01a2195b-8038-7286-8609-d07bc9dce8db\n' >"$TMP/fake_contacts"
"$CLIENT" payload "$TMP/fake_contacts" >"$TMP/body.json" || die "cannot make the payload body"
BODY_BYTES=$(stat -c %s "$TMP/body.json")

# ---- 1. wrk -----------------------------------------------------------------------

phase_wrk() {
    # Static Standard Webhooks headers of the real length, so wrk's requests
    # are as large as hookd's; wrk cannot sign each one, which is the point:
    # it is the ceiling, the floor sender (phase 2) pays for signing.
    cat >"$TMP/post.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "hookd/0.1.0"
wrk.headers["webhook-id"] = "0190f3a2-8b4c-7d1e-9f00-000000000001"
wrk.headers["webhook-timestamp"] = "1710754200"
wrk.headers["webhook-signature"] = "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="
local f = assert(io.open("$TMP/body.json", "rb"))
wrk.body = f:read("*a")
f:close()
EOF
    say "  wrk -t1 -c$WRK_CONNS -d${WRK_SECONDS}s, POST of $BODY_BYTES B"
    timeout -k 5 $((WRK_SECONDS + 60)) wrk -t1 -c"$WRK_CONNS" -d"${WRK_SECONDS}s" -s "$TMP/post.lua" \
        "$NGINX_URL/hook" >"$TMP/wrk.out" 2>&1 || { cat "$TMP/wrk.out" >&2; die "wrk failed"; }
    sed 's/^/    /' "$TMP/wrk.out" >&2
    ! grep -q 'Non-2xx' "$TMP/wrk.out" || die "nginx answered wrk with non-2xx"
    local rps
    rps=$(sed -n 's/^Requests\/sec:[[:space:]]*\([0-9.]*\).*/\1/p' "$TMP/wrk.out")
    [[ -n $rps ]] || die "no Requests/sec in wrk's output"
    put wrk per_s "$rps" conns "$WRK_CONNS" seconds "$WRK_SECONDS" body_bytes "$BODY_BYTES"
}

# ---- 2. the floor sender ------------------------------------------------------------

phase_floor() {
    # Both ways of driving libcurl multi; the floor is the cheaper of the two.
    local loop res
    for loop in perform socket; do
        timeout -k 5 $((PHASE_TIMEOUT + 60)) "$FLOOR" --url "$NGINX_URL/hook" --body "$TMP/body.json" \
            -n "$FLOOR_N" --conc "$FLOOR_CONC" --loop "$loop" >"$TMP/floor-$loop.out" ||
            die "floor sender ($loop) failed"
        res=$(result_of "$TMP/floor-$loop.out")
        put floor "$loop" "$res"
    done
}

# ---- 3. hookd end to end --------------------------------------------------------------

phase_e2e() {
    local d=$TMP/e2e wh res empty total0 total1 hookd_wb_end written_stop kept
    hookd_up "$d"
    people "$d"
    wh=$(webhook e2e "$NGINX_URL/hook" '*')
    # Stop and start again: the database as the phase finds it (schema,
    # people, webhook, its test send), measured stopped, is "empty".
    hookd_down "$d"
    empty=$(db_bytes "$d/hookd.db")
    hookd_up "$d"
    local perf_pid=
    if [[ ${CORE_PERF:-0} == 1 ]]; then
        perf record -q -F 499 -g -p "$HOOKD_PID" -o "$TMP/perf.data" 2>"$TMP/perf-record.log" &
        perf_pid=$!
        track "$perf_pid"
        sleep 0.5
    fi
    res=$(timed "$d" e2e "$wh" "$N")
    [[ -n $res ]] || die "no result"
    if [[ -n $perf_pid ]]; then
        kill -INT "$perf_pid" 2>/dev/null || true
        wait "$perf_pid" 2>/dev/null || true
        perf report -i "$TMP/perf.data" --stdio --no-children -g none --sort dso,sym -q 2>/dev/null |
            grep -v '^$' | head -n 60 >"$TMP/perf-sym.txt" || true
        perf report -i "$TMP/perf.data" --stdio --no-children -g none --sort comm -q 2>/dev/null |
            grep -v '^$' | head -n 20 >"$TMP/perf-thread.txt" || true
        perf report -i "$TMP/perf.data" --stdio --no-children -g none --sort dso -q 2>/dev/null |
            grep -v '^$' | head -n 20 >"$TMP/perf-dso.txt" || true
        say "  profile: $TMP/perf-{sym,thread,dso}.txt (call graphs: perf report -i $TMP/perf.data)"
    fi
    put e2e run "$res" empty_db_bytes "$empty" \
        payload_bytes "$("$CLIENT" payload-size "$BASE" "$API_KEY" "$wh" || echo 0)"
    # What hookd writes as it stops (it checkpoints its WAL into the
    # database then): its /proc/<pid>/io is gone once it exited, but a reaped
    # child's counts are added to its parent's: this subshell's ($BASHPID
    # read here, not inside $(…), which is a process of its own).
    local me=$BASHPID
    put e2e vm_hwm_stop_kb "$(hwm_kb "$HOOKD_PID")"
    total0=$(write_bytes_of "$me")
    hookd_wb_end=$(write_bytes_of "$HOOKD_PID")
    hookd_down "$d"
    total1=$(write_bytes_of "$me")
    written_stop=$((total1 - total0 - $(jget "$res" write_bytes_start)))
    kept=$(($(db_bytes "$d/hookd.db") - empty))
    put e2e written_with_stop_bytes "$written_stop" written_at_done_bytes "$hookd_wb_end" \
        kept_bytes "$kept" db_files "\"$(cd "$d" && stat -c '%n %s;' hookd.db* | tr '\n' ' ')\""
}

# ---- 4. latency ----------------------------------------------------------------------

phase_latency() {
    local d=$TMP/latency wh
    hookd_up "$d"
    people "$d"
    wh=$(webhook latency "$NGINX_URL/hook" '*')
    "$CLIENT" activities "$d/contacts" $((LAT_SECONDS * 1000)) 1 "$d/acts" "lat-$RANDOM" ||
        die "cannot write the activities"
    # 16 connections take the ticks in turn: open loop even when a 202 takes
    # 100+ ms (as on a busy machine), so the offered rate stays 1,000/s.
    timeout -k 5 $((LAT_SECONDS + 120)) "$PY" bench/delivery_bench.py latency --base "$BASE" \
        --key "$API_KEY" --webhook "$wh" --activities "$d/acts.0" --work "$d" \
        --seconds "$LAT_SECONDS" --senders 16 >"$d/lat.out" || { cat "$d/lat.out" >&2; die "latency phase failed"; }
    grep -v '^RESULT' "$d/lat.out" | sed 's/^/  /' >&2
    put latency run "$(result_of "$d/lat.out")"
    hookd_down "$d"
}

# ---- 5. backlog -----------------------------------------------------------------------

# backlog_hookd DIR: a fresh hookd whose retries never come due during the
# run, with the fresh webhook (act::s → /hook) and the backlog's (act::c →
# /fail); sets FRESH and STALE.
backlog_hookd() {
    hookd_up "$1" --retry-schedule 1d
    people "$1"
    FRESH=$(webhook fresh "$NGINX_URL/hook" act::s)
    STALE=$(webhook backlog "$NGINX_URL/fail" act::c)
}

# Both measurements here (and in phase 6) see the end by the cheap "nothing
# pending" lookup, then check N succeeded: today a stats read also counts
# the other webhook's rows (a million here), which would slow the very run
# it measures and stretch the poll to many seconds.
phase_backlog() {
    local d=$TMP/backlog res
    backlog_hookd "$d/with"
    say "  filling: $BACKLOG small act::c activities, each attempted once (503) and left retrying"
    res=$(timed "$d/with" fill "$STALE" "$BACKLOG" --small --field act::c --wait=attempted --poll-ms 1000)
    put backlog fill "$res"
    [[ $(jget "$res" complete) == True ]] ||
        say "  (fill INCOMPLETE after ${FILL_TIMEOUT}s: the 'with' figure below is measured while the rest is still being attempted)"
    # At 3 times the time the end-to-end rate (phase 3) predicts, the ratio
    # is under 0.33 whatever follows (with a fill cut short, the rest of the
    # backlog's first attempts go before the fresh ones): stop there.
    local limit=$PHASE_TIMEOUT
    limit=$(three_times "$BACKLOG_N" "$("$PY" -c 'import json,sys
try: print(json.load(open(sys.argv[1]))["run"]["deliveries_per_s"])
except Exception: print(0)' "$R/e2e.json")")
    say "  with the backlog: $BACKLOG_N fresh activities, at most ${limit}s"
    res=$(TIMED_LIMIT=$limit timed "$d/with" with "$FRESH" "$BACKLOG_N" --wait=settled)
    put backlog with "$res" with_vm_hwm_stop_kb "$(hwm_kb "$HOOKD_PID")" \
        with_db_bytes "$(db_bytes "$d/with/hookd.db")"
    hookd_down "$d/with"
    rm -f "$d/with"/hookd.db* # up to GBs; the figures are taken
    backlog_hookd "$d/without"
    say "  without: the same, on a fresh hookd with the same options and webhooks"
    res=$(timed "$d/without" without "$FRESH" "$BACKLOG_N" --wait=settled)
    put backlog without "$res"
    hookd_down "$d/without"
}

# ---- 6. a slow webhook -------------------------------------------------------------------

phase_slow() {
    local d=$TMP/slow fast res port rx t0 m0 m1 c0 c1
    hookd_up "$d/alone"
    people "$d/alone"
    fast=$(webhook fast "$NGINX_URL/hook" '*')
    say "  the fast webhook alone: $SLOW_N activities"
    res=$(timed "$d/alone" alone "$fast" "$SLOW_N" --wait=settled)
    put slow alone "$res"
    hookd_down "$d/alone"

    # The control: the fast webhook beside a second one that answers at
    # once. Every activity then makes two deliveries to store, as beside the
    # slow one, so the ratio below tells what the slowness costs, not what a
    # second subscriber does.
    hookd_up "$d/twin"
    people "$d/twin"
    fast=$(webhook fast "$NGINX_URL/hook" '*')
    webhook twin "$NGINX_URL/hook" '*' >/dev/null
    say "  beside a second fast webhook: $SLOW_N activities (2 deliveries each)"
    res=$(timed "$d/twin" twin "$fast" "$SLOW_N" --wait=settled)
    put slow twin "$res"
    hookd_down "$d/twin"

    hookd_up "$d/with"
    people "$d/with"
    fast=$(webhook fast "$NGINX_URL/hook" '*')
    "$PY" bench/delivery_bench.py slow --out "$d/slow.json" --hold-ms $((SLOW_HOLD_S * 1000)) \
        >"$d/slow.port" 2>"$d/slow.log" &
    rx=$!
    track "$rx"
    for _ in $(seq 50); do [[ -s $d/slow.port ]] && break; sleep 0.1; done
    port=$(head -n1 "$d/slow.port")
    [[ -n $port ]] || die "the slow receiver did not start"
    # Created at nginx (the creation test send would wait 10 s), then moved.
    webhook slow "$NGINX_URL/hook" '*' "http://127.0.0.1:$port/slow" >/dev/null
    # Past 3 times the time alone the ratio is under 0.33 whatever follows,
    # so waiting longer (a stalled hookd would take the whole phase limit)
    # decides nothing.
    local limit
    limit=$(three_times "$SLOW_N" "$(jget "$res" deliveries_per_s)")
    say "  with a webhook answering after ${SLOW_HOLD_S}s beside it: $SLOW_N activities (2 deliveries each), at most ${limit}s"
    res=$(TIMED_LIMIT=$limit timed "$d/with" with "$fast" "$SLOW_N" --wait=settled)
    put slow with "$res"
    # hookd's CPU while the slow webhook's slots all wait and nothing else
    # happens (no polls either).
    c0=$(proc_ticks "$HOOKD_PID")
    m0=$(machine_ticks)
    sleep "$SLOW_IDLE_S"
    c1=$(proc_ticks "$HOOKD_PID")
    m1=$(machine_ticks)
    put slow idle_cpu_pct "$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" -v s="$SLOW_IDLE_S" 'BEGIN{printf "%.1f", 100*(b-a)/hz/s}')" \
        idle_s "$SLOW_IDLE_S" idle_machine_busy_pct "$(busy_pct "$m0" "$m1")"
    # The receiver first: hookd's attempts in flight then end at once.
    stop_child "$rx" 10 || true
    [[ -s $d/slow.json ]] && put slow receiver "$(cat "$d/slow.json")"
    hookd_down "$d/with"
}

# ---- 7. the BullMQ peer ------------------------------------------------------------------

# peer_run NAME FSYNC: a fresh redis-server (append-only file, appendfsync
# FSYNC, no RDB snapshots) and one run of peer.mjs against it.
peer_run() {
    local name=$1 fsync=$2 d=$TMP/peer port rpid res
    mkdir -p "$d/redis-$name"
    port=$(free_port)
    redis-server --port "$port" --bind 127.0.0.1 --dir "$d/redis-$name" --appendonly yes \
        --appendfsync "$fsync" --save '' --maxmemory-policy noeviction --daemonize no \
        --logfile "$d/redis-$name/redis.log" &
    rpid=$!
    track "$rpid" "127.0.0.1:$port" # redis-server rewrites its command line to this
    wait_port "$port" || die "redis-server did not start"
    say "  BullMQ peer, Redis appendonly yes, appendfsync $fsync: $PEER_N jobs"
    (cd "$PEER_DIR" && timeout -k 10 $((PHASE_TIMEOUT + 120)) node peer.mjs run --redis-port "$port" \
        --redis-pid "$rpid" --url "$NGINX_URL/hook" --shards "$d/shard" --producers "$CONC" \
        --n "$PEER_N" --batch "$BATCH" --concurrency 64 --timeout "$PHASE_TIMEOUT" \
        --clk-tck "$HZ") >"$d/$name.out" || die "the BullMQ peer failed"
    res=$(result_of "$d/$name.out")
    put peer "$name" "$res"
    stop_child "$rpid" 30 || true
}

phase_peer() {
    local d=$TMP/peer
    mkdir -p "$d"
    # Activities like hookd's (the same generator), for contact ids of the
    # shape hookd makes.
    local contacts=$TMP/e2e/contacts
    [[ -s $contacts ]] || contacts=$TMP/fake_contacts
    "$CLIENT" activities "$contacts" "$PEER_N" "$CONC" "$d/shard" "peer-$RANDOM" ||
        die "cannot write the peer's activities"
    peer_run everysec everysec
    [[ $PEER_ALWAYS != 1 ]] || peer_run always always
}

run_phase wrk phase_wrk
run_phase floor phase_floor
run_phase e2e phase_e2e
run_phase latency phase_latency
run_phase backlog phase_backlog
run_phase slow phase_slow
run_phase peer phase_peer
# And once everything of this run has stopped: other work that came and
# went during the run shows in neither, but in the phases' "machine busy".
AFTER_BUSY=$(busy_for 3)
say "machine ${AFTER_BUSY}% busy over the 3 s after the run, load average $(cut -d' ' -f1-3 /proc/loadavg)"
put meta phase_s "\"${PHASE_TIMES[*]}\"" total_s "$SECONDS" broken "\"${BROKEN[*]}\"" \
    after_busy_pct "$AFTER_BUSY" after_loadavg "\"$(cut -d' ' -f1-3 /proc/loadavg)\""

# ---- summary -----------------------------------------------------------------------------

"$PY" bench/core_report.py "$R" "$OUT"
if ((${#BROKEN[@]})); then
    say "run_core: BROKEN phases: ${BROKEN[*]}"
    exit 1
fi
