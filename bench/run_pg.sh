#!/usr/bin/env bash
# run_pg.sh — hookd on PostgreSQL beside hookd on SQLite, in one run against
# one local nginx: deliveries/s end to end of the SQLite process and of 1, 2
# and 3 processes sharing one PostgreSQL database, and what each PostgreSQL
# run cost the database in statements per delivery (pg_stat_statements).
# See bench/README.md.
#
#   bash bench/run_pg.sh                      # ~1 min on 2 cores, once built
#   PG_BENCH_N=20000 bash bench/run_pg.sh     # ~30 s
#
# Knobs (environment; defaults in brackets):
#   PG_BENCH_N [100000]      activities of each run (~1 KB each, 1 webhook: N deliveries)
#   PG_BENCH_PROCS ["1 2 3"] the PostgreSQL runs: how many processes each
#   PG_BENCH_PEOPLE [1000]   people merged first
#   PG_BENCH_CONC [4]        ingest clients; PG_BENCH_BATCH [1000] activities a request
#   PG_BENCH_TIMEOUT [300]   limit of each run, s
#   PG_BENCH_NO_BUILD=1      use build-bench/ as it is
#   PG_BENCH_KEEP=1          keep the temp dir (logs, results, the cluster's log)
#
# Every run starts fresh: a new SQLite file, or a new database on one
# throwaway cluster (scripts/pg_cluster.sh: fsync and synchronous_commit on,
# pg_stat_statements preloaded). The ingest requests of a PostgreSQL run are
# spread over its processes (core_client --ingest); completion is read from
# the first one's stats, which come from the database. Each run is timed
# from its first ingest request to its last delivery's success.
#
# As root it installs what is missing from Debian (nginx-light, postgresql).
# Exit status 1 only when a step broke.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

N=${PG_BENCH_N:-100000}
PROCS=${PG_BENCH_PROCS:-1 2 3}
PEOPLE=${PG_BENCH_PEOPLE:-1000}
CONC=${PG_BENCH_CONC:-4}
BATCH=${PG_BENCH_BATCH:-1000}
LIMIT=${PG_BENCH_TIMEOUT:-300}
BUILD_DIR=build-bench
PY=/usr/bin/python3
API_KEY="pg-bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

say() { printf '%s\n' "$*" >&2; }
die() { say "run_pg: $*"; exit 1; }
is_root() { [[ $(id -u) == 0 ]]; }

PATH=$PATH:/usr/sbin
missing=()
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
command -v psql >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 ||
    missing+=(postgresql postgresql-client)
if ((${#missing[@]})); then
    is_root || die "missing: apt-get install -y ${missing[*]}"
    say "installing ${missing[*]} from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 ||
        die "cannot install ${missing[*]}"
fi
if [[ ${PG_BENCH_NO_BUILD:-0} != 1 ]]; then
    make -s -j2 -f Makefile -f mk/extra.mk BENCH_DIR="$BUILD_DIR" bench-core >&2 || die "build failed"
fi
HOOKD=$BUILD_DIR/hookd
CLIENT=$BUILD_DIR/core_client
for b in "$HOOKD" "$CLIENT"; do [[ -x $b ]] || die "no $b"; done

# ---- temp dir, processes, cleanup -------------------------------------------------

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hookd-pgbench.XXXXXX")
# The cluster's owner (postgres, as root) must reach its folder, and nginx's
# worker (nobody) its config.
chmod 755 "$TMP"
PIDS=()
CLUSTER=$TMP/pg
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 0.3
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    [[ -d $CLUSTER ]] && bash scripts/pg_cluster.sh stop "$CLUSTER" >/dev/null 2>&1 || true
    if [[ ${PG_BENCH_KEEP:-0} == 1 ]]; then say "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
jget() { "$PY" -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2"; }

# ---- nginx and PostgreSQL ------------------------------------------------------------

NGINX_PORT=$(free_port)
USER_LINE=
is_root && USER_LINE="user nobody $(id -gn nobody 2>/dev/null || echo nogroup);"
sed -e "s#@PREFIX@#$TMP#g" -e "s#@PORT@#$NGINX_PORT#g" -e "s#@USER@#$USER_LINE#" \
    bench/nginx.conf.in >"$TMP/nginx.conf"
nginx -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/error.log" 2>"$TMP/nginx.stderr" &
PIDS+=($!)
wait_port "$NGINX_PORT" || { cat "$TMP/error.log" >&2; die "nginx did not start"; }
NGINX_URL="http://127.0.0.1:$NGINX_PORT"

# The settings docs/scaling.md recommends for hookd (PG_BENCH_PG_SETTINGS
# replaces them; "" measures PostgreSQL as Debian ships it).
PG_SETTINGS=${PG_BENCH_PG_SETTINGS-$'shared_buffers = 1GB\nmax_wal_size = 8GB\ncheckpoint_timeout = 15min'}
ADMIN=$(PG_CLUSTER_SETTINGS=$PG_SETTINGS bash scripts/pg_cluster.sh start "$CLUSTER") ||
    die "the PostgreSQL cluster did not start"
SERVER=${ADMIN%/postgres}
psql_admin() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$ADMIN" "$@"; }
PGVER=$(psql_admin -c "SHOW server_version" | cut -d' ' -f1)

say "hookd on PostgreSQL: $("$HOOKD" version 2>/dev/null || echo hookd), source" \
    "$(git rev-parse --short HEAD 2>/dev/null || echo unknown); $(nproc) cores, load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
say "nginx (1 worker) on $NGINX_URL; PostgreSQL $PGVER at $ADMIN; $N activities a run"

# ---- one run ---------------------------------------------------------------------------

# hookd_start DIR I STORE_ARGS…: process I of a run; appends its URL to URLS.
hookd_start() {
    local dir=$1 i=$2
    shift 2
    "$HOOKD" serve --listen 127.0.0.1:0 --api-key "$API_KEY" --allow-private-networks "$@" \
        2>"$dir/hookd$i.log" &
    local pid=$!
    PIDS+=("$pid")
    RUN_PIDS+=("$pid")
    local port=
    for _ in $(seq 300); do
        port=$(sed -n 's/.* listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$dir/hookd$i.log" | head -n1)
        [[ -n $port ]] && break
        kill -0 "$pid" 2>/dev/null || { cat "$dir/hookd$i.log" >&2; die "hookd exited at start"; }
        sleep 0.1
    done
    [[ -n $port ]] || die "hookd did not report its port"
    URLS+=("http://127.0.0.1:$port")
}

stop_run() {
    local pid
    for pid in "${RUN_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${RUN_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    RUN_PIDS=()
}

# run NAME PROCESSES STORE_ARGS…: starts the processes, sets up people and a
# webhook on the first, ingests N activities spread over all, waits for
# every delivery; sets RES to the client's RESULT JSON. (Not in a subshell:
# the cleanup must know every process it started.)
run() {
    local name=$1 k=$2
    shift 2
    local dir=$TMP/$name i
    mkdir -p "$dir"
    URLS=()
    RUN_PIDS=()
    for ((i = 1; i <= k; i++)); do hookd_start "$dir" "$i" "$@"; done
    "$CLIENT" people "${URLS[0]}" "$API_KEY" "$PEOPLE" "$dir/contacts" >&2 || die "people failed"
    local wh ingest=()
    wh=$("$CLIENT" webhook "${URLS[0]}" "$API_KEY" bench "$NGINX_URL/hook" '*') || die "webhook failed"
    for u in "${URLS[@]}"; do ingest+=(--ingest "$u"); done
    [[ -z ${BEFORE_RUN:-} ]] || $BEFORE_RUN
    timeout -k 10 $((LIMIT + 120)) "$CLIENT" run --base "${URLS[0]}" --key "$API_KEY" \
        --webhook "$wh" --contacts "$dir/contacts" -n "$N" --conc "$CONC" --batch "$BATCH" \
        --timeout "$LIMIT" --nginx-status "$NGINX_URL/status" --tag "$name-$RANDOM" \
        "${ingest[@]}" >"$dir/result" || die "$name: the client failed"
    stop_run
    if grep -q ' error ' "$dir"/hookd*.log; then
        say "  $name: hookd logged errors (first 3):"
        grep -h ' error ' "$dir"/hookd*.log | head -n3 | sed 's/^/    /' >&2
    fi
    RES=$(sed -n 's/^RESULT //p' "$dir/result" | tail -n1)
    [[ -n $RES ]] || die "$name: no result"
}

# ---- the runs --------------------------------------------------------------------------

declare -A RATE STMTS COMPLETE
say ""
say "== SQLite, 1 process"
mkdir -p "$TMP/sqlite"
run sqlite 1 --db "$TMP/sqlite/hookd.db"
res=$RES
RATE[sqlite]=$(jget "$res" deliveries_per_s)
COMPLETE[sqlite]=$(jget "$res" complete)
say "  $(printf '%.0f' "${RATE[sqlite]}") deliveries/s"

# top_statements COLUMN: the run's eight statements with the most COLUMN.
top_statements() {
    psql_admin -d "$SERVER/$db" -F ' | ' -c "SELECT to_char(calls::numeric / $N, 'FM0.00000'),
        calls, round(total_exec_time), left(regexp_replace(query, '\s+', ' ', 'g'), 80)
        FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
        WHERE d.datname = '$db' AND s.query NOT LIKE '%pg_stat_statements%'
        ORDER BY $1 DESC LIMIT 8" | sed 's/^/    /' >&2
}

for k in $PROCS; do
    db=hookd_bench_$k
    psql_admin -c "CREATE DATABASE $db" >/dev/null
    psql_admin -d "$SERVER/$db" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
    reset_stats() { psql_admin -d "$SERVER/$db" -c "SELECT pg_stat_statements_reset()" >/dev/null; }
    BEFORE_RUN=reset_stats
    say ""
    say "== PostgreSQL, $k process(es)"
    keyfile=$TMP/$db.key
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$keyfile")
    run "pg$k" "$k" --database-url "$SERVER/$db" --master-key-file "$keyfile"
    res=$RES
    BEFORE_RUN=
    RATE[pg$k]=$(jget "$res" deliveries_per_s)
    COMPLETE[pg$k]=$(jget "$res" complete)
    # Every statement of this database in the run (hookd's own: the API's,
    # the engines', the notice threads'; the client's stats polls too).
    total=$(psql_admin -d "$SERVER/$db" -c "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s
        JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$db'
        AND s.query NOT LIKE '%pg_stat_statements%'")
    STMTS[pg$k]=$(awk -v t="$total" -v n="$N" 'BEGIN{printf "%.4f", t / n}')
    say "  $(printf '%.0f' "${RATE[pg$k]}") deliveries/s; $total statements = ${STMTS[pg$k]} a delivery"
    say "  the most called (calls a delivery | calls | ms in all | statement):"
    top_statements calls
    say "  the most time (calls a delivery | calls | ms in all | statement):"
    top_statements total_exec_time
    say "  sessions opened on the database (PostgreSQL 14+): $(psql_admin -c \
        "SELECT sessions FROM pg_stat_database WHERE datname = '$db'" 2>/dev/null || echo '?')"
    psql_admin -c "DROP DATABASE $db WITH (FORCE)" >/dev/null
done

# ---- summary ---------------------------------------------------------------------------

say ""
say "== summary: $N activities a run, one webhook, against one nginx ($(nproc) cores)"
printf '%-22s %14s %14s %22s\n' run deliveries/s "÷ SQLite" "statements/delivery"
printf '%-22s %14.0f %14s %22s\n' "SQLite, 1 process" "${RATE[sqlite]}" 1.00 -
for k in $PROCS; do
    printf '%-22s %14.0f %14.2f %22s\n' "PostgreSQL, $k proc" "${RATE[pg$k]}" \
        "$(awk -v a="${RATE[pg$k]}" -v b="${RATE[sqlite]}" 'BEGIN{print (b > 0 ? a / b : 0)}')" \
        "${STMTS[pg$k]}"
done
for r in "${!COMPLETE[@]}"; do
    [[ ${COMPLETE[$r]} == True ]] || say "  NOTE: $r hit its time limit (${LIMIT}s): its rate is a lower bound"
done
