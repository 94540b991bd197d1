"""crash loop: steady ingest and delivery while hookd is killed with SIGKILL
at random moments, restarted on the same database each time.

A client thread posts small batches of activities, sending a batch again
(same ids) until it is answered 2xx, as a careful client does; two webhooks
point at a receiver that records every request's webhook-id.  hookd runs
0.5–2 s (random), is killed with SIGKILL, and started again on the same
store, CYCLES times.  Then, hookd running and the ingest stopped, every
accepted activity must reach both webhooks: lost = expected − delivered
(counted by the receiver), duplicated = receptions of a delivery id beyond
its first, stuck = log entries still pending past their due time once
everything arrived or the drain window ended, time to recover = from the
last kill until everything accepted before it has arrived (the restart
included)."""

import random
import time

import faultlib

NAME = "crash loop"
BACKENDS = ("sqlite", "postgres")

CYCLES, CYCLES_BOUNDED = 20, 6
DRAIN_S = 90  # a killed process's claims may wait for their lease (30 s) to run out
ARGS = ["--request-timeout", "5s"]


def run(ctx):
    from conftest import Servers
    res = faultlib.Result(name=NAME)
    cycles = CYCLES_BOUNDED if ctx.bounded else CYCLES
    rnd = random.Random()
    seed = rnd.randrange(1 << 30)
    rnd.seed(seed)
    res.figures["random seed"] = seed
    sv = Servers(ctx.workdir)
    sink = faultlib.Sink()
    db = ctx.workdir / "crash.db"
    current = {"s": None}
    feeder = None
    try:
        s = sv.start(db, args=ARGS)
        current["s"] = s
        api = s.client()
        cid = faultlib.person(api)
        paths = ["/a", "/b"]
        wids = [faultlib.webhook(api, sink.url + p, f"crash {p}") for p in paths]

        def target():
            cur = current["s"]
            return (cur.url, cur.api_key) if cur is not None and cur.alive() else None

        feeder = faultlib.Feeder(target, cid, batch=10, pause=0.01, prefix="c")
        feeder.start()
        uptimes = []
        kills = []  # (killed, healthy again), time.time()
        for i in range(cycles):
            up = rnd.uniform(0.5, 2.0)
            time.sleep(up)
            uptimes.append(up)
            current["s"] = None
            killed = time.time()
            s.kill9()
            s = sv.start(db, args=ARGS)
            kills.append((killed, time.time()))
            current["s"] = s
            ctx.log(f"cycle {i + 1}/{cycles}: killed after {up:.2f} s, restarted; "
                    f"{feeder.count()} accepted so far")
        time.sleep(1.0)  # some ingest on the last process too
        feeder.stop()
        res.accepted = feeder.count()
        res.did = (f"{cycles} SIGKILL cycles (up {min(uptimes):.1f}–{max(uptimes):.1f} s) under "
                   f"steady ingest, {len(paths)} webhooks, same {ctx.backend} store")
        expected = faultlib.expected_of(feeder, paths)
        faultlib.wait_until(lambda: expected <= sink.got(), DRAIN_S, interval=0.2)
        # what was accepted before the last kill: how long the restart and
        # the last process took to deliver what the killed ones left
        res.recovery_s = faultlib.recovery(sink, faultlib.expected_of(feeder, paths, killed),
                                           killed)
        missing = faultlib.count_delivery(res, sink, expected)
        # the same for every kill: the worst is the figure to watch
        per_kill = [faultlib.recovery(sink, faultlib.expected_of(feeder, paths, k), k)
                    for k, _ in kills]
        res.figures["time to recover, worst kill, s"] = (
            None if None in per_kill else max(per_kill))
        res.figures["restart, kill to healthy, s (mean, max)"] = (
            f"{sum(h - k for k, h in kills) / len(kills):.2f}, {max(h - k for k, h in kills):.2f}")
        api = s.client()
        stuck = faultlib.stuck_entries(api, wids)
        res.stuck = len(stuck)
        res.figures["ingest answers"] = faultlib.fmt_statuses(feeder.statuses())
        if missing:
            res.figures["missing, e.g."] = sorted(missing)[:3]
        if stuck:
            res.figures["stuck, e.g."] = [(e["id"], e["state"], e["next_attempt_at"])
                                          for e in stuck[:3]]
        res.check(not feeder.bad, f"ingest answered other than 2xx/503: {feeder.bad[:3]}")
        res.check(res.accepted > 0, "nothing was accepted")
        res.check(s.alive(), "hookd died after the last restart")
    finally:
        if feeder is not None and feeder.is_alive():
            feeder.stop()
        try:
            sv.stop_all()
        finally:
            sink.stop()
    return res
