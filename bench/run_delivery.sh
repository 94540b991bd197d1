#!/usr/bin/env bash
# run_delivery.sh — kept so older notes and habits still work: the delivery
# benchmark is now phases 1, 3 and 4 of bench/run_core.sh (wrk's rate, hookd
# end to end, 202 → first attempt at 1,000/s), which this runs alone. See
# bench/README.md.
#
#   bash bench/run_delivery.sh
#   DBENCH_N=20000 DBENCH_WRK_SECONDS=5 bash bench/run_delivery.sh
#
# The old knobs map onto run_core.sh's: DBENCH_N → CORE_N (default 50000
# here), DBENCH_WRK_SECONDS → CORE_WRK_SECONDS, DBENCH_LAT_SECONDS →
# CORE_LAT_SECONDS, DBENCH_KEEP → CORE_KEEP, DBENCH_PERF → CORE_PERF.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CORE_SKIP=${CORE_SKIP:-floor,backlog,slow,peer}
export CORE_N=${CORE_N:-${DBENCH_N:-50000}}
export CORE_WRK_SECONDS=${CORE_WRK_SECONDS:-${DBENCH_WRK_SECONDS:-10}}
export CORE_LAT_SECONDS=${CORE_LAT_SECONDS:-${DBENCH_LAT_SECONDS:-10}}
export CORE_KEEP=${CORE_KEEP:-${DBENCH_KEEP:-0}}
export CORE_PERF=${CORE_PERF:-${DBENCH_PERF:-0}}
exec bash "$ROOT/bench/run_core.sh"
