#!/usr/bin/env bash
# Runs CMD with HOOKD_TEST_DATABASE_URL naming a PostgreSQL server the tests
# may create and drop databases on:
#
#   bash scripts/with_pg.sh CMD [ARG…]
#
# When HOOKD_TEST_DATABASE_URL is already set, that server is used as it is.
# Otherwise a throwaway cluster (scripts/pg_cluster.sh) is started in a new
# folder under $TMPDIR (else /tmp), its admin URL exported, and the cluster
# stopped and removed when CMD ends, however it ends. Exits with CMD's status.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 CMD [ARG…]" >&2; exit 2; }

if [ -n "${HOOKD_TEST_DATABASE_URL:-}" ]; then
  echo "with_pg: using the PostgreSQL server of HOOKD_TEST_DATABASE_URL" >&2
  exec "$@"
fi

here=$(cd "$(dirname "$0")" && pwd)
# A folder of our own, open to others for traversal only: as root the cluster
# inside it belongs to the postgres user, who must be able to reach it.
parent=$(mktemp -d "${TMPDIR:-/tmp}/hookd-pg.XXXXXX")
chmod 711 "$parent"
cluster="$parent/data"

cleanup() {
  bash "$here/pg_cluster.sh" stop "$cluster" || true
  rmdir "$parent" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

url=$(bash "$here/pg_cluster.sh" start "$cluster")
echo "with_pg: PostgreSQL at $url (cluster in $cluster)" >&2
export HOOKD_TEST_DATABASE_URL="$url"

status=0
"$@" || status=$?
exit "$status"
