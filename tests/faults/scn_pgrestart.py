"""PostgreSQL restarted mid-load: the database hookd uses is stopped for
about 3 s and started again while activities keep coming and deliveries go
out.

It runs a PostgreSQL cluster of its own (scripts/pg_cluster.sh, as
tests/e2e/test_cluster.py's outage test does) so that stopping it disturbs
nothing else.  While the database is down every ingest answer must be 503
`unavailable` (never a 2xx, a 500 or a crash); afterwards the same process
answers 2xx again, and every activity answered 2xx, before or after,
arrives.  Time to recover = from the database's start until hookd answers
2xx again and everything accepted before the start has arrived."""

import subprocess
import time

import faultlib

NAME = "PostgreSQL restarted"
BACKENDS = ("postgres",)

DOWN_S = 3.0
AFTER_S, AFTER_S_BOUNDED = 5.0, 3.0
DRAIN_S = 60


def cluster(cmd, data, script, timeout=180):
    p = subprocess.run(["bash", script, cmd, str(data)], capture_output=True, text=True,
                       timeout=timeout)
    if p.returncode != 0:
        raise AssertionError(f"pg_cluster.sh {cmd} failed: {p.stderr.strip()[-500:]}")
    return p.stdout.strip()


def run(ctx):
    from conftest import ROOT, Hookd, master_key_file
    res = faultlib.Result(name=NAME)
    script = str(ROOT / "scripts" / "pg_cluster.sh")
    data = ctx.workdir / "pg"
    admin = cluster("start", data, script)
    sink = faultlib.Sink()
    s = feeder = None
    try:
        url = admin.rsplit("/", 1)[0] + "/hookd"
        subprocess.run(["psql", "-X", "-q", "-d", admin, "-c", "CREATE DATABASE hookd"],
                       check=True, capture_output=True, timeout=60)
        db = ctx.workdir / "restart.db"  # names the store for Hookd: its folder, its key file
        s = Hookd(db, db_flag=False, args=["--database-url", url, "--master-key-file",
                                           master_key_file(db), "--request-timeout", "5s",
                                           "--retry-schedule", "1s,2s", "--max-retries", "10"])
        api = s.client()
        cid = faultlib.person(api)
        wid = faultlib.webhook(api, sink.url + "/p", "pg restart")
        feeder = faultlib.Feeder(lambda: (s.url, s.api_key), cid, batch=10, pause=0.01, prefix="p")
        feeder.start()
        faultlib.wait_until(lambda: feeder.count() >= 500, 60)
        before = feeder.count()
        cluster("halt", data, script)
        halted = time.time()
        time.sleep(DOWN_S)
        cluster("resume", data, script)
        resumed = time.time()
        ctx.log(f"database down {resumed - halted:.1f} s; {before} accepted before")
        faultlib.wait_until(lambda: any(e[0] > resumed and 200 <= e[2] < 300
                                        for e in list(feeder.events)), 60)
        time.sleep(AFTER_S_BOUNDED if ctx.bounded else AFTER_S)
        feeder.stop()
        res.accepted = feeder.count()
        res.did = (f"ingest and delivery on a cluster of its own, database stopped "
                   f"{resumed - halted:.1f} s and started again, same hookd process")
        with feeder.lock:
            events = list(feeder.events)
        down = [e for e in events if e[0] >= halted and e[1] <= resumed]
        ok_down = [e for e in down if 200 <= e[2] < 300]
        first_back = min((e[1] for e in events if e[0] > resumed and 200 <= e[2] < 300),
                         default=None)
        expected = faultlib.expected_of(feeder, ["/p"])
        faultlib.wait_until(lambda: expected <= sink.got(), DRAIN_S, interval=0.2)
        drained = faultlib.recovery(sink, faultlib.expected_of(feeder, ["/p"], resumed), resumed)
        if drained is not None and first_back is not None:
            res.recovery_s = max(drained, first_back - resumed)
        missing = faultlib.count_delivery(res, sink, expected)
        res.stuck = len(faultlib.stuck_entries(api, [wid]))
        res.figures["answers while down"] = faultlib.fmt_statuses(
            {k: sum(1 for e in down if e[2] == k) for k in {e[2] for e in down}})
        res.figures["ingest answers"] = faultlib.fmt_statuses(feeder.statuses())
        res.figures["first 2xx after the start, s"] = (None if first_back is None
                                                       else round(first_back - resumed, 2))
        if missing:
            res.figures["missing, e.g."] = sorted(missing)[:3]
        res.check(not ok_down, f"{len(ok_down)} answers 2xx while the database was down")
        res.check(any(e[2] == 503 for e in down), "no 503 while the database was down")
        res.check(first_back is not None, "never 2xx again after the database started")
        res.check(not feeder.bad, f"ingest answered other than 2xx/503 unavailable: {feeder.bad[:3]}")
        res.check(s.alive(), "hookd died")
    finally:
        if feeder is not None and feeder.is_alive():
            feeder.stop()
        try:
            if s is not None and s.alive():
                s.stop()
        finally:
            sink.stop()
            cluster("stop", data, script)
    return res
