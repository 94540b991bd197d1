"""store locked: another process holds the SQLite store locked (BEGIN
EXCLUSIVE through Python's sqlite3) for 10 s, once during ingest and once
during a drain.

ingest: three client threads post small batches; while the lock is held every
answer must be 503 `unavailable` or a 2xx that comes late, never a 500 or a
crash.  The ingest stops when the lock is released.  drain: a backlog is
accepted, the receiver answers each request after 100 ms (so attempts are in
flight when the lock is taken), and once a tenth of it has arrived the lock
is taken again.  After each release nothing more is written: deliveries
must keep arriving until all have.  What is still missing when none has
arrived for STALL_S is stuck (a delivery due and not attempted; a backlog
that takes time keeps arriving), as are log entries still pending past
their due time a grace after the last arrival.  Then one unrelated activity
is ingested (it wakes an engine that waits for a write) and what still
never arrives is lost.  The receiver answers every request well within the
2 s request timeout, so an attempt the log calls a timeout while the
receiver answered it is a transfer the busy store froze: counted, and it
fails the scenario."""

import sqlite3
import threading
import time

import faultlib

NAME = "store locked"
BACKENDS = ("sqlite",)

HOLD_S, HOLD_S_BOUNDED = 10.0, 6.0
STALL_S = 3.0              # no arrival for this long while some are missing: they are stuck
SETTLE_S = 120.0           # a drain still arriving after this long fails as lost
LOST_WINDOW_S = 30.0       # after one unrelated write
BACKLOG, BACKLOG_BOUNDED = 1500, 800
DRAIN_DELAY_S = 0.1     # each drain request answered this late: attempts are in flight when locked
INGEST_CLIENTS = 3
REQUEST_TIMEOUT = "2s"
ARGS = ["--request-timeout", REQUEST_TIMEOUT, "--retry-schedule", "1s,2s", "--max-retries", "10"]


class Lock(threading.Thread):
    """Holds db locked (BEGIN EXCLUSIVE) for hold seconds from another
    connection: the way another process would."""

    def __init__(self, db, hold):
        super().__init__(daemon=True)
        self.db, self.hold = db, hold
        self.taken = self.released = None
        self.error = None
        self.got = threading.Event()

    def run(self):
        try:
            c = sqlite3.connect(str(self.db), timeout=30, isolation_level=None)
            try:
                c.execute("BEGIN EXCLUSIVE")
                self.taken = time.time()
                self.got.set()
                time.sleep(self.hold)
                c.execute("ROLLBACK")
                self.released = time.time()
            finally:
                c.close()
        except sqlite3.Error as e:
            self.error = repr(e)
            self.got.set()


def hold_lock(res, db, hold, what):
    lk = Lock(db, hold)
    lk.start()
    lk.got.wait(60)
    if not res.check(lk.taken is not None, f"{what}: could not lock the store: {lk.error}"):
        return None
    lk.join(hold + 60)
    return lk


def settle(res, ctx, api, sink, expected, wids, cid, what, released):
    """After a release, nothing written: waits while deliveries keep
    arriving.  What is still missing when none has arrived for STALL_S is
    stuck (a backlog that merely takes time keeps arriving); so are log
    entries still pending past their due time GRACE_S after the last
    arrival.  Then one unrelated write, and what never arrives is lost."""

    def last_arrival():
        return max((r.time for r in sink.requests()), default=released)

    def settled():
        if expected <= sink.got():
            return "all"
        now = time.time()
        if now - max(released, last_arrival()) >= STALL_S:
            return "stalled"
        return None

    how = faultlib.wait_until(settled, SETTLE_S, interval=0.1) or "still arriving"
    late = expected - sink.got()
    # the log is read a grace after the last arrival: hookd may still be
    # storing the outcomes it could not store while the store was locked
    time.sleep(max(0.0, max(released, last_arrival()) + faultlib.GRACE_S - time.time()))
    pending = faultlib.stuck_entries(api, wids)
    res.stuck += max(len(late), len(pending))
    res.figures[f"{what}: after the release"] = (
        f"{how}; {len(late)} not arrived when arrivals stopped for {STALL_S:.0f} s"
        if how == "stalled" else how)
    res.figures[f"{what}: log entries pending past due afterwards"] = len(pending)
    if pending:
        got = {r.header("webhook-id") for r in sink.requests()}
        res.figures[f"{what}: of those, received already"] = sum(1 for e in pending if e["id"] in got)
    if late:
        # one write that concerns no webhook: what it wakes was stuck
        r = api.post("/api/v1/activities", {"activities": [
            {"id": f"nudge-{what}", "field_id": faultlib.OTHER_ACTIVITY,
             "contact": {"contact_id": cid}}]})
        res.check(200 <= r.status_code < 300, f"{what}: the unrelated ingest answered {r.status_code}")
        faultlib.wait_until(lambda: expected <= sink.got(), LOST_WINDOW_S, interval=0.2)
    done_at = faultlib.arrived_all(sink, expected)
    if done_at:
        res.figures[f"{what}: all arrived, s after the release"] = round(done_at - released, 1)
    else:
        ctx.log(f"{what}: {len(expected - sink.got())} never arrived")
    return done_at


def timeouts_answered(api, sink, wids, timeout_s):
    """Attempts the log records as a timeout although the receiver answered
    that delivery within the attempt's time; and attempts in all."""
    by_id = sink.by_delivery()
    bad, attempts = [], 0
    for wid in wids:
        for e in faultlib.log_entries(api, wid):
            attempts += e["attempts"]
            if e["attempts"] <= 1 and not e["error"]:
                continue
            r = api.get(f"/api/v1/webhooks/{wid}/logs/{e['id']}", timeout=60)
            if r.status_code != 200:
                bad.append(f"{e['id']}: detail answered {r.status_code}")
                continue
            for a in r.json().get("attempts_detail", []):
                err = (a.get("error") or "").lower()
                if "timed out" not in err and "timeout" not in err:
                    continue
                t = faultlib._unix(a["time"])
                if any(q.answered_at is not None and t - 2 <= q.time <= t + timeout_s + 2
                       for q in by_id.get(e["id"], [])):
                    bad.append(f"{e['id']} at {a['time']}: {a.get('error')}")
    return bad, attempts


def run(ctx):
    from conftest import Servers
    res = faultlib.Result(name=NAME)
    hold = HOLD_S_BOUNDED if ctx.bounded else HOLD_S
    backlog = BACKLOG_BOUNDED if ctx.bounded else BACKLOG
    sv = Servers(ctx.workdir)
    sink = faultlib.Sink()
    db = ctx.workdir / "locked.db"
    feeders = []
    try:
        s = sv.start(db, args=ARGS)
        api = s.client()
        cid = faultlib.person(api)
        wid = faultlib.webhook(api, sink.url + "/l", "locked")

        # -- during ingest
        # three clients, so that more than one request meets the lock
        f1s = [faultlib.Feeder(lambda: (s.url, s.api_key), cid, batch=10, pause=0.02,
                               prefix=f"i{k}") for k in range(INGEST_CLIENTS)]
        feeders += f1s
        for f in f1s:
            f.start()
        time.sleep(1.5)
        lk = hold_lock(res, db, hold, "ingest")
        if lk is None:
            return res
        for f in f1s:
            f.stop()  # finishes the batch in hand: nothing is written after it
        during, bad1, exp1 = [], [], set()
        for f in f1s:
            with f.lock:
                during += [e for e in f.events if e[0] < lk.released and e[1] > lk.taken]
                bad1 += f.bad
            exp1 |= faultlib.expected_of(f, ["/l"])
        slowest = max((e[1] - e[0] for e in during), default=0.0)
        res.figures["ingest: answers while locked"] = faultlib.fmt_statuses(
            {k: sum(1 for e in during if e[2] == k) for k in {e[2] for e in during}})
        res.figures["ingest: slowest answer, s"] = round(slowest, 1)
        res.check(not bad1, f"ingest: answers other than 2xx/503 unavailable: {bad1[:3]}")
        res.check(s.alive(), "hookd died while the store was locked during ingest")
        done1 = settle(res, ctx, api, sink, exp1, [wid], cid, "ingest", max(lk.released, time.time()))

        # -- during a drain
        sink.rcv.delay = DRAIN_DELAY_S
        base = len(sink.got())
        f2 = faultlib.Feeder(lambda: (s.url, s.api_key), cid, batch=100, pause=0.0, prefix="r")
        feeders.append(f2)
        f2.start()
        faultlib.wait_until(lambda: f2.count() >= backlog, 120)
        f2.stop()
        exp2 = faultlib.expected_of(f2, ["/l"])
        faultlib.wait_until(lambda: len(sink.got()) - base >= len(exp2) // 10, 60)
        lk2 = hold_lock(res, db, hold, "drain")
        if lk2 is None:
            return res
        arrived_at_lock = len(exp2 & {(r.path, r.activity_id) for r in sink.requests()
                                      if r.time <= lk2.taken})
        res.figures["drain: backlog, arrived when locked"] = f"{len(exp2)}, {arrived_at_lock}"
        res.check(arrived_at_lock < len(exp2), "drain: the backlog was delivered before the lock "
                                               "was taken (no drain to disturb)")
        res.check(s.alive(), "hookd died while the store was locked during a drain")
        done2 = settle(res, ctx, api, sink, exp2, [wid], cid, "drain", lk2.released)

        res.accepted = sum(f.count() for f in feeders)
        res.did = (f"store locked {hold:.0f} s during ingest, then {hold:.0f} s during a drain of "
                   f"{len(exp2)}; no write after each release")
        expected = exp1 | exp2
        missing = faultlib.count_delivery(res, sink, expected)
        if done1 and done2:
            res.recovery_s = max(0.0, done2 - lk2.released)
        if missing:
            res.figures["missing, e.g."] = sorted(missing)[:3]
        bad, attempts = timeouts_answered(api, sink, [wid], float(REQUEST_TIMEOUT[:-1]))
        res.figures["attempts logged"] = attempts
        # whether the lock bit: hookd's own word for writes it could not make
        res.figures["hookd errors logged (cannot store …)"] = sum(
            1 for line in list(s.stderr_lines) if "cannot" in line)
        res.figures["answered attempts logged as timeouts"] = len(bad)
        res.check(not bad, f"{len(bad)} answered attempts logged as timeouts, e.g. {bad[:2]}")
        res.check(s.alive(), "hookd died")
    finally:
        for f in feeders:
            if f.is_alive():
                f.stop()
        try:
            sv.stop_all()
        finally:
            sink.stop()
    return res
