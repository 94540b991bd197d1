#!/usr/bin/python3
"""The fault suite: drives the real binary through each scenario of
tests/faults/scn_<name>.py and prints what it did and what it counted.

    /usr/bin/python3 tests/faults/run.py [--bounded] [--only name,...]
                                         [--backend sqlite|postgres]

--bounded is the short form CI runs (fewer cycles, less data); --only runs
the scenarios of those file names (scn_<name>.py: crash, disk, …);
--backend picks the store (default sqlite).  postgres needs
HOOKD_TEST_DATABASE_URL, the admin URL of a throwaway server (run it inside
`bash scripts/with_pg.sh`); scenarios that cannot run on that backend are
listed as not run, with the reason.  HOOKD_BIN names the binary (default
build/hookd).

Each scenario runs in a fresh work directory of its own.  The exit status is
1 if any scenario lost or left stuck a delivery, failed a check of its own,
or raised (a scenario that cannot run here — no permission to mount, no
PostgreSQL — fails: it does not pass silently), else 0."""

import argparse
import importlib
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ADMIN_URL_ENV = "HOOKD_TEST_DATABASE_URL"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bounded", action="store_true", help="the short form (CI)")
    p.add_argument("--only", default="", help="comma-separated scenario names (scn_<name>.py)")
    p.add_argument("--backend", default="sqlite", choices=("sqlite", "postgres"))
    return p.parse_args(argv)


def setup_env(backend):
    """What the end-to-end machinery (tests/e2e/conftest.py) reads at import:
    the binary, the backend, and, for postgres, its Postgres of the run
    (pytest_configure's job under pytest)."""
    os.environ.setdefault("HOOKD_BIN", str(ROOT / "build" / "hookd"))
    os.environ["HOOKD_TEST_BACKEND"] = backend
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    sys.path.insert(0, str(HERE))
    if not os.access(os.environ["HOOKD_BIN"], os.X_OK):
        sys.exit(f"run.py: HOOKD_BIN {os.environ['HOOKD_BIN']} is not an executable file "
                 "(make builds build/hookd)")
    import conftest
    admin = None
    if backend == "postgres":
        admin = os.environ.get(ADMIN_URL_ENV, "")
        if not admin:
            sys.exit(f"run.py: --backend postgres needs {ADMIN_URL_ENV}, the admin URL of a "
                     "throwaway PostgreSQL server: run it inside bash scripts/with_pg.sh")
        conftest.PG = conftest.Postgres(admin)
        conftest.PG.psql("SELECT 1;")  # reachable, and psql is there
    return admin


def discover(only):
    names = sorted(p.stem[len("scn_"):] for p in HERE.glob("scn_*.py"))
    if only:
        wanted = [n.strip() for n in only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in names]
        if unknown:
            sys.exit(f"run.py: no scenario {unknown} (there are: {', '.join(names)})")
        names = [n for n in names if n in wanted]
    return names


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def report(res, secs):
    """The scenario's figures, one per line."""
    print(f"  did: {res.did}")
    print(f"  activities accepted {res.accepted}, deliveries expected {res.expected}, "
          f"delivered {res.delivered}, lost {res.lost}, duplicated {res.duplicated}, "
          f"stuck past due {res.stuck}, time to recover "
          f"{fmt(res.recovery_s) + ' s' if res.recovery_s is not None else '-'}")
    for k, v in res.figures.items():
        print(f"  {k}: {fmt(v)}")
    for f in res.failures:
        print(f"  FAILED: {f}")
    print(f"  => {'ok' if res.ok else 'FAIL'} ({secs:.0f} s)", flush=True)


def run_one(name, args, admin, workroot):
    import faultlib
    mod = importlib.import_module(f"scn_{name}")
    title = getattr(mod, "NAME", name)
    backends = getattr(mod, "BACKENDS", ("sqlite", "postgres"))
    if args.backend not in backends:
        return title, None, f"not run: {title} runs on {', '.join(backends)} only", 0.0
    work = Path(tempfile.mkdtemp(prefix=f"{name}.", dir=workroot))
    os.chmod(work, 0o711)  # a PostgreSQL cluster of a scenario's own runs as postgres
    ctx = faultlib.Ctx(hookd_bin=os.environ["HOOKD_BIN"], workdir=work, bounded=args.bounded,
                       backend=args.backend, admin_url=admin)
    print(f"== {title} ({args.backend}{', bounded' if args.bounded else ''}) in {work}",
          flush=True)
    t0 = time.monotonic()
    try:
        res = mod.run(ctx)
        if not isinstance(res, faultlib.Result):
            raise TypeError(f"scn_{name}.run returned {type(res).__name__}, not a Result")
        err = None
    except BaseException as e:  # noqa: BLE001 — a scenario that raises fails, whatever it raised
        if isinstance(e, KeyboardInterrupt):
            raise
        traceback.print_exc()
        res = faultlib.Result(name=title)
        res.failures.append(f"raised {type(e).__name__}: {str(e)[:500]}")
        err = e
    secs = time.monotonic() - t0
    report(res, secs)
    if res.ok and err is None:
        shutil.rmtree(work, ignore_errors=True)
    return title, res, None, secs


def summary(rows, backend):
    head = ("scenario", "ok", "accepted", "expected", "delivered", "lost", "dup", "stuck",
            "recover s", "secs")
    table = [head]
    for title, res, why, secs in rows:
        if res is None:
            table.append((title, "not run", "", "", "", "", "", "", "", ""))
            continue
        table.append((title, "ok" if res.ok else "FAIL", res.accepted, res.expected,
                      res.delivered, res.lost, res.duplicated, res.stuck, fmt(res.recovery_s),
                      f"{secs:.0f}"))
    widths = [max(len(str(r[i])) for r in table) for i in range(len(head))]
    print(f"\n== fault suite summary ({backend})")
    for r in table:
        print("  " + "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))))
    for title, res, why, _ in rows:
        if why:
            print(f"  {why}")


def main(argv):
    args = parse_args(argv)
    admin = setup_env(args.backend)
    names = discover(args.only)
    if not names:
        sys.exit("run.py: no scenario to run")
    workroot = tempfile.mkdtemp(prefix="hookd-faults.")
    os.chmod(workroot, 0o711)
    rows = []
    try:
        for name in names:
            rows.append(run_one(name, args, admin, workroot))
    finally:
        import conftest
        if conftest.PG is not None:
            conftest.PG.drop_all()
    summary(rows, args.backend)
    failed = [t for t, res, _, _ in rows if res is not None and not res.ok]
    ran = [t for t, res, _, _ in rows if res is not None]
    if not ran:
        print("run.py: no scenario runs on this backend")
        return 1
    if failed:
        print(f"FAILED: {', '.join(failed)} (work directories kept under {workroot})")
        return 1
    shutil.rmtree(workroot, ignore_errors=True)
    print(f"all {len(ran)} scenarios ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
