# bench/lib.sh — shared by the benchmark scripts (sourced, not run).
# shellcheck shell=bash

# start_hookd BIN DB LOG [ARGS…]: starts `BIN serve` on a free loopback port
# with the store DB, stderr to LOG, and waits until it says where it listens.
# Sets HOOKD_PID and HOOKD_PORT; on failure prints the log and returns 1.
start_hookd() {
    local bin=$1 db=$2 log=$3
    shift 3
    # Port 0: the kernel picks a free port, and hookd logs the one it got.
    "$bin" serve --listen 127.0.0.1:0 --db "$db" "$@" 2>"$log" &
    HOOKD_PID=$!
    HOOKD_PORT=
    for _ in $(seq 100); do
        HOOKD_PORT=$(sed -n 's/.* listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log" | head -n1)
        [[ -n $HOOKD_PORT ]] && return 0
        if ! kill -0 "$HOOKD_PID" 2>/dev/null; then
            echo "hookd exited at start:" >&2
            cat "$log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "hookd did not report its port within 10 s:" >&2
    cat "$log" >&2
    return 1
}

# stop_hookd: SIGTERM to HOOKD_PID and wait; returns hookd's exit status.
stop_hookd() {
    [[ -n ${HOOKD_PID:-} ]] || return 0
    kill -TERM "$HOOKD_PID" 2>/dev/null || true
    local status=0
    wait "$HOOKD_PID" 2>/dev/null || status=$?
    HOOKD_PID=
    return $status
}

# stop_child PID SECONDS: SIGTERM to a child of this shell, then SIGKILL if it
# has not exited within SECONDS; reaps it either way (so its I/O counts land
# in this shell's /proc/<pid>/io, which run_core.sh reads). Returns the
# child's exit status (137 if it had to be killed).
stop_child() {
    local pid=$1 limit=$2 state
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    # A child that exited stays a zombie until waited for, and `kill -0`
    # still finds it: read its state instead.
    for _ in $(seq $((limit * 10))); do
        state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo gone)
        [[ $state == Z || $state == gone ]] && break
        sleep 0.1
    done
    [[ $state == Z || $state == gone ]] || kill -KILL "$pid" 2>/dev/null || true
    local status=0
    wait "$pid" 2>/dev/null || status=$?
    return $status
}
