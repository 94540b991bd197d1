"""scn_alloc — the fault suite's allocation-failure scenario.

Runs the driver of the allocation-failure build (tests/faults/alloc_fail.c,
built by `make alloc-fail` into build-allocfail/alloc_fail, or the binary
HOOKD_ALLOC_FAIL_BIN names): for each of the ingest, payload and webhook-
change paths it fails allocation N for N = 1, 2, … until a run fails none,
and checks that every failure was a clean error, the store all or nothing,
the same request then succeeded, and LeakSanitizer found nothing. The
bounded form (CI) fails every 4th allocation (--stride 4).

It accepts no deliveries, so accepted/expected/delivered/lost/stuck stay 0;
its figures are the driver's counts per path.
"""

import json
import os
import subprocess
import time
from pathlib import Path

from faultlib import Result

NAME = "allocation failure"
BACKENDS = ("sqlite",)

ROOT = Path(__file__).resolve().parents[2]
RESULT_TAG = "ALLOC_FAIL_RESULT "
BOUNDED_STRIDE = 4
TIMEOUT_S = {True: 300, False: 900}  # bounded, full


def driver_path():
    return os.environ.get("HOOKD_ALLOC_FAIL_BIN") or str(ROOT / "build-allocfail" / "alloc_fail")


def _scratch_dir(ctx):
    # Each run commits a few times: on tmpfs an fsync costs nothing, and the
    # paths tested are the same.
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else str(ctx.workdir)


def run(ctx):
    res = Result(NAME)
    binary = driver_path()
    if not os.access(binary, os.X_OK):
        res.did = "nothing: the allocation-failure driver is not built"
        res.check(False, f"{binary} is missing: run `make alloc-fail`")
        return res
    args = [binary]
    if ctx.bounded:
        args += ["--stride", str(BOUNDED_STRIDE)]
    env = dict(os.environ, TMPDIR=_scratch_dir(ctx))
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    log_path = Path(ctx.workdir) / "alloc_fail.log"
    t0 = time.monotonic()
    try:
        proc = subprocess.run(args, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT_S[ctx.bounded])
    except subprocess.TimeoutExpired as e:
        out = e.stdout or ""
        log_path.write_text(out.decode(errors="replace") if isinstance(out, bytes) else out)
        res.did = "the driver ran out of time"
        res.check(False, f"alloc_fail did not finish in {TIMEOUT_S[ctx.bounded]} s")
        return res
    elapsed = time.monotonic() - t0
    log_path.write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)

    summary = None
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            summary = json.loads(line[len(RESULT_TAG):])
        elif line.strip():
            ctx.log(line)
    stride = BOUNDED_STRIDE if ctx.bounded else 1
    res.did = (f"failed allocation N (N = 1, 1+{stride}, …) of the ingest, payload and "
               f"webhook-change paths until a run completed, in {elapsed:.0f} s")
    if not res.check(summary is not None,
                     f"alloc_fail printed no result (exit {proc.returncode}); see {log_path}"):
        return res

    totals = {"allocations failed": 0, "clean errors": 0, "absorbed": 0, "crashes": 0,
              "leaks": 0, "inconsistencies": 0}
    for name, p in summary["paths"].items():
        res.figures[f"{name}: allocations on the path"] = p["allocations"]
        res.figures[f"{name}: allocations failed"] = p["failed_points"]
        res.figures[f"{name}: clean errors"] = p["clean_errors"]
        res.figures[f"{name}: absorbed"] = p["absorbed"]
        for key, field in (("allocations failed", "failed_points"), ("clean errors", "clean_errors"),
                           ("absorbed", "absorbed"), ("crashes", "crashes"), ("leaks", "leaks"),
                           ("inconsistencies", "inconsistencies")):
            totals[key] += p[field]
        res.check(p["crashes"] == 0, f"{name}: crashed at N={p['last_n']}")
        res.check(p["leaks"] == 0, f"{name}: {p['leaks']} runs leaked")
        res.check(p["inconsistencies"] == 0,
                  f"{name}: {p['inconsistencies']} inconsistencies (see {log_path})")
        res.check(p["failed_points"] > 0 and p["allocations"] > 0,
                  f"{name}: no allocation was failed, or no run completed")
    res.figures.update(totals)
    res.check(set(summary["paths"]) == {"ingest", "payload", "webhook"},
              f"alloc_fail ran {sorted(summary['paths'])}, not the three paths")
    res.check(proc.returncode == 0 and summary["ok"],
              f"alloc_fail exited {proc.returncode}; see {log_path}")
    return res
