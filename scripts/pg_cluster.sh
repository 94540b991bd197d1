#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (scripts/with_pg.sh uses it).
#
#   bash scripts/pg_cluster.sh start DIR   initdb into DIR (new or empty), start
#                                          the server, print its admin URL
#   bash scripts/pg_cluster.sh stop DIR    stop it (fast) and remove DIR
#   bash scripts/pg_cluster.sh halt DIR    stop it (fast), keeping DIR
#   bash scripts/pg_cluster.sh resume DIR  start a halted cluster again, on
#                                          the same port
#
# The server listens on 127.0.0.1 only, on a free port, and on a unix socket
# inside DIR; loopback and the socket are trusted (no password); the superuser
# is always `postgres`, so the URL printed is
# postgres://postgres@127.0.0.1:PORT/postgres. It preloads pg_stat_statements
# (CREATE EXTENSION pg_stat_statements works in any database), allows 300
# connections and keeps fsync on: a commit is as durable as in production.
# Its log is DIR/server.log. PG_CLUSTER_SETTINGS adds lines of
# postgresql.conf settings (the benchmarks give the ones docs/scaling.md
# recommends).
#
# initdb refuses to run as root: as root, initdb and pg_ctl run as the
# `postgres` system user (made by Debian's postgresql package) and DIR is
# given to it, so DIR's parent must be one that user can enter. Not root,
# they run as you.
#
# PG_BINDIR picks the server binaries (default: PostgreSQL 15 of Debian 12,
# /usr/lib/postgresql/15/bin, else the newest /usr/lib/postgresql/*/bin).
set -euo pipefail

die() {
  echo "pg_cluster: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 start DIR | stop DIR | halt DIR | resume DIR" >&2
  exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2
[ -n "$dir" ] || usage

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
  if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
    bindir=/usr/lib/postgresql/15/bin
  else
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  fi
fi
[ -n "$bindir" ] && [ -x "$bindir/initdb" ] && [ -x "$bindir/pg_ctl" ] ||
  die "no PostgreSQL server binaries (initdb, pg_ctl) in ${bindir:-/usr/lib/postgresql/*/bin}: run bash scripts/deps.sh"

# As root the cluster belongs to the postgres system user.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# A port nothing listens on right now (the server may still lose a race for
# it: start retries with another).
free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

start() {
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
    die "start: $dir exists and is not empty"
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" -eq 0 ]; then
    getent passwd postgres >/dev/null ||
      die "running as root needs the postgres system user (apt-get install postgresql): initdb refuses root"
    chown postgres: "$dir"
    runuser -u postgres -- test -x "$dir" ||
      die "start: the postgres user cannot enter $dir (a parent folder is closed to it)"
  fi
  chmod 700 "$dir"

  local out
  out=$(as_owner "$bindir/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C 2>&1) ||
    { echo "$out" >&2; die "initdb failed"; }
  # The settings below live in their own file, rewritten for each port tried.
  echo "include_if_exists = 'hookd_test.conf'" | as_owner tee -a "$dir/postgresql.conf" >/dev/null

  # Only the socket in DIR and 127.0.0.1, both trusted.
  as_owner tee "$dir/pg_hba.conf" >/dev/null <<'EOF'
# hookd test cluster: the unix socket in the data folder and 127.0.0.1 only.
local   all          all                 trust
host    all          all   127.0.0.1/32  trust
local   replication  all                 trust
host    replication  all   127.0.0.1/32  trust
EOF

  local attempt port
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    as_owner tee "$dir/hookd_test.conf" >/dev/null <<EOF
# hookd test cluster (scripts/pg_cluster.sh)
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
shared_preload_libraries = 'pg_stat_statements'
fsync = on
synchronous_commit = on
full_page_writes = on
logging_collector = off
log_min_messages = warning
${PG_CLUSTER_SETTINGS:-}
EOF
    if as_owner "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 -s start >/dev/null; then
      echo "postgres://postgres@127.0.0.1:$port/postgres"
      return 0
    fi
    # Lost the port to someone else? Try another; anything else is fatal.
    grep -q 'could not bind\|Address already in use' "$dir/server.log" 2>/dev/null || break
    echo "pg_cluster: port $port was taken, trying another" >&2
  done
  tail -n 20 "$dir/server.log" >&2 2>/dev/null || true
  die "the server in $dir did not start (log: $dir/server.log)"
}

stop() {
  [ -d "$dir" ] || return 0
  # Refuse to remove anything that is not a cluster (a typo must not wipe a
  # folder): a data folder holds PG_VERSION, or is empty after a failed start.
  if [ ! -f "$dir/PG_VERSION" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
    die "stop: $dir is not a PostgreSQL data folder; not removing it"
  fi
  if [ -f "$dir/postmaster.pid" ]; then
    as_owner "$bindir/pg_ctl" -D "$dir" -m fast -w -t 60 -s stop ||
      as_owner "$bindir/pg_ctl" -D "$dir" -m immediate -w -t 30 -s stop ||
      echo "pg_cluster: the server in $dir did not stop" >&2
  fi
  rm -rf "$dir"
}

# halt and resume: a database outage for the tests that need one (clients
# see their connections end and new ones refused until resume).
halt() {
  [ -f "$dir/PG_VERSION" ] || die "halt: $dir is not a PostgreSQL data folder"
  as_owner "$bindir/pg_ctl" -D "$dir" -m fast -w -t 60 -s stop
}

resume() {
  [ -f "$dir/PG_VERSION" ] || die "resume: $dir is not a PostgreSQL data folder"
  as_owner "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 -s start >/dev/null ||
    { tail -n 20 "$dir/server.log" >&2 2>/dev/null || true; die "resume: the server in $dir did not start"; }
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  halt) halt ;;
  resume) resume ;;
  *) usage ;;
esac
