"""disk full: the SQLite store on a size-limited tmpfs (8 MiB) that fills up
under ingest, then gets space back, without a restart.

A filler file takes most of the filesystem before hookd starts; activities
with incompressible 1 KiB attributes fill the rest.  Once answers turn 503
the ingest keeps going a few seconds (every answer must be 503
`unavailable`: a 500 or a crash fails); then the filler is deleted and the
same process must answer 2xx again.  Every activity answered 2xx must reach
the receiver with exactly the attribute it was accepted with (nothing
accepted damaged) and none lost; time to recover = from the space freed to
the first 2xx."""

import os
import subprocess
import time

import faultlib

NAME = "disk full"
BACKENDS = ("sqlite",)

SIZE = "8m"
FILLER_MB = 5
FULL_TIMEOUT_S = 90  # to fill the rest of the filesystem
KEEP_FULL_S, KEEP_FULL_S_BOUNDED = 5, 3
DRAIN_S = 60


def run(ctx):
    from conftest import Servers
    res = faultlib.Result(name=NAME)
    mnt = ctx.workdir / "disk"
    mnt.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        res.check(False, f"cannot mount a {SIZE} tmpfs at {mnt} (this scenario needs root): "
                         f"{p.stderr.strip()}")
        return res
    sv = Servers(ctx.workdir)
    sink = faultlib.Sink()
    feeder = None
    try:
        filler = mnt / "filler"
        with open(filler, "wb") as f:
            f.write(os.urandom(FILLER_MB << 20))
        s = sv.start(mnt / "hookd.db", args=["--request-timeout", "5s",
                                             "--retry-schedule", "1s,2s", "--max-retries", "10"])
        api = s.client()
        cid = faultlib.person(api)
        wid = faultlib.webhook(api, sink.url + "/d", "disk")
        feeder = faultlib.Feeder(lambda: (s.url, s.api_key), cid, batch=10, pause=0.01,
                                 prefix="d", attr_bytes=1024)
        feeder.start()

        def first_503():
            with feeder.lock:
                return next((e for e in feeder.events if e[2] == 503), None)

        full = faultlib.wait_until(first_503, FULL_TIMEOUT_S)
        if not res.check(full is not None, f"no 503 within {FULL_TIMEOUT_S} s of ingest "
                                           f"(answers {faultlib.fmt_statuses(feeder.statuses())})"):
            return res
        accepted_full = feeder.count()
        ctx.log(f"full after {accepted_full} activities accepted; keeping on")
        time.sleep(KEEP_FULL_S_BOUNDED if ctx.bounded else KEEP_FULL_S)
        res.check(s.alive(), "hookd died on the full disk")
        with feeder.lock:
            full_answers = [e[2] for e in feeder.events if e[0] >= full[0]]
        filler.unlink()
        freed_wall = time.time()

        def back():
            with feeder.lock:
                return next((e for e in feeder.events
                             if e[0] >= freed_wall and 200 <= e[2] < 300), None)

        ok_again = faultlib.wait_until(back, 30)
        if res.check(ok_again is not None, "no 2xx within 30 s of the space being freed"):
            res.recovery_s = ok_again[1] - freed_wall
        time.sleep(1.0)
        feeder.stop()
        res.accepted = feeder.count()
        res.did = (f"{SIZE} tmpfs, {FILLER_MB} MiB filler; ingest of 1 KiB activities until 503, "
                   f"kept on, filler deleted, ingest again, same process")
        expected = faultlib.expected_of(feeder, ["/d"])
        faultlib.wait_until(lambda: expected <= sink.got(), DRAIN_S, interval=0.2)
        missing = faultlib.count_delivery(res, sink, expected)
        res.stuck = len(faultlib.stuck_entries(api, [wid]))
        damaged = faultlib.payload_damage(sink, feeder)
        res.figures["accepted before full"] = accepted_full
        res.figures["answers while full"] = faultlib.fmt_statuses(
            {k: full_answers.count(k) for k in set(full_answers)})
        res.figures["ingest answers"] = faultlib.fmt_statuses(feeder.statuses())
        res.figures["payloads damaged"] = len(damaged)
        res.figures["time to 2xx after freeing"] = res.recovery_s
        if missing:
            res.figures["missing, e.g."] = sorted(missing)[:3]
        res.check(not feeder.bad, f"ingest answered other than 2xx/503 unavailable: {feeder.bad[:3]}")
        res.check(not damaged, f"{len(damaged)} payloads differ from what was accepted: {damaged[:3]}")
        res.check(full_answers.count(503) > 0, "no 503 while the disk was full")
        res.check(s.alive(), "hookd died")
    finally:
        if feeder is not None and feeder.is_alive():
            feeder.stop()
        try:
            sv.stop_all()
        finally:
            sink.stop()
            u = subprocess.run(["umount", str(mnt)], capture_output=True, text=True)
            if u.returncode != 0:
                subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
    return res
