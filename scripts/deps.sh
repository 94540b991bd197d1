#!/usr/bin/env bash
# Installs the Debian 12 packages hookd needs to build, run and test, skipping
# those already present. Uses sudo when not run as root.
#
# The browser tests (tests/web/) need Chromium and Node.js ≥ 18 with npm:
# Debian's nodejs and npm are installed only when no node ≥ 18 with npm is
# on PATH already, so a Node.js from elsewhere (NodeSource, nvm) is kept
# rather than fought with (NodeSource's nodejs conflicts with Debian's npm).
#
# The tests also run against PostgreSQL (scripts/pg_cluster.sh starts a
# throwaway cluster of its own): `postgresql` brings the PostgreSQL 15 server
# with its contrib modules (pg_stat_statements) and the postgres system user,
# `postgresql-client` psql and pg_dump, which the end-to-end suite uses.
# Installing it may make and start Debian's default cluster on port 5432;
# the tests never use that one.
#
# python3-jsonschema (4.10 on Debian 12: JSON Schema draft 2020-12, which
# OpenAPI 3.1 uses) checks the answers of a running hookd against
# docs/openapi.json (tests/e2e/test_openapi.py).
# man-db: tests/e2e/test_help.py reads the installed man page with `man -l`.
set -euo pipefail
pkgs=(build-essential pkg-config libmicrohttpd-dev libcurl4-openssl-dev libjansson-dev
      libsqlite3-dev libssl-dev libpq-dev liblz4-dev python3 python3-pytest python3-pytest-xdist python3-requests curl
      ca-certificates clang libclang-rt-14-dev chromium fonts-dejavu-core
      postgresql postgresql-client
      python3-jsonschema man-db)

node_ok() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || return 1
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || return 1
  [ "${major:-0}" -ge 18 ]
}
node_ok || pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing: ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
