"""receiver faults: one hookd, one webhook per way an endpoint can fail
(rawrecv: hang, reset mid-answer, broken HTTP, one byte a second, a 100 MB
answer, never reading) and one healthy webhook with a steady stream.

Phases: a baseline (only the steady stream), then the faults (the stream
goes on while every faulty webhook gets its deliveries and their retries),
then a wait for everything to end.  Checked and reported:
  - memory: hookd's VmRSS sampled all along (and VmHWM at the end) stays
    under MEM_BOUND_MB, though one endpoint answers 100 MB;
  - classification: each faulty webhook's log entries end in the state and
    with the error docs/decisions.md gives for that failure;
  - rate: the healthy webhook's deliveries per second during the faults
    are at least RATE_MIN of the baseline's, and all of them succeed.
lost = healthy deliveries never received; stuck = waiting deliveries whose
next attempt is overdue by more than STUCK_GRACE seconds at the end."""

import time

from faultlib import Result
import rawrecv

NAME = "receiver faults"
BACKENDS = ("sqlite", "postgres")

FAULTS = ("hang", "reset", "broken", "drip", "huge", "never")
TIMEOUT_S = 3          # --request-timeout
RETRY_S = 2            # --retry-schedule
RATE = 20              # healthy activities a second, offered
TICK = 0.1             # the stream sends RATE * TICK activities each tick
RATE_MIN = 0.7         # fault-phase rate / baseline rate, at least
MEM_BOUND_MB = 100     # peak VmRSS / VmHWM of the plain build (see Decisions)
MEM_GROWTH_MB = 48     # peak over the baseline's RSS, any build
STUCK_GRACE = 5        # seconds past next_attempt_at that count as stuck
STEADY, FAULT, NEVER = "act:cm:steady", "act:cm:fault", "act:cm:never"
# the never-read webhook's activities carry this much, so that hookd's send
# fills the receiver's small buffer and its own and then blocks
PAD = 256 * 1024

# What docs/decisions.md ("Delivery") makes of each fault, checked on every
# log entry of that webhook once its deliveries have ended: a transport
# failure (no status, libcurl's message) is retried until the retries run
# out; an answer over 1 MiB is not read further and its status decides.
TIMED_OUT = "timed out"


def _expect(kind, e, attempts):
    """Why entry e is not what the documentation says for fault kind, or
    None when it is."""
    st, code, err = e["state"], e["status_code"], e["error"]
    if kind in ("hang", "drip", "never"):
        ok = st == "failed" and code is None and err and TIMED_OUT in err.lower() \
            and e["attempts"] == attempts
        want = f"failed after {attempts} attempts, no status, a timeout error"
    elif kind == "broken":
        ok = st == "failed" and code is None and err and TIMED_OUT not in err.lower() \
            and e["attempts"] == attempts
        want = f"failed after {attempts} attempts, no status, libcurl's protocol error"
    elif kind == "huge":
        ok = st == "succeeded" and code == 200 and err is None and e["attempts"] == 1
        want = "succeeded 200 at the first attempt, error null (status decides)"
    else:  # reset after the status line: one rule, and a consistent entry
        ok = (st == "succeeded" and code == 200 and err is None) or \
             (st == "failed" and err and e["attempts"] == attempts)
        want = ("either a success by its status (200, error null) or a transport "
                f"failure retried to failed ({attempts} attempts, an error)")
    if ok:
        return None
    return (f"{kind}: delivery {e['id']} is {st} status {code} error {err!r} "
            f"after {e['attempts']} attempts; documented: {want}")


class Stream:
    """The healthy webhook's steady stream: RATE activities a second, one
    ingest every TICK; remembers each activity's 202 time."""

    def __init__(self, api, cid):
        self.api, self.cid = api, cid
        self.sent = {}  # activity id -> time of the 202
        self.n = 0

    def run_for(self, phase, seconds, until=None):
        """Streams for seconds (or, with until, until it returns true and at
        least seconds have passed); returns (start, end, ids sent)."""
        per = max(1, int(RATE * TICK))
        start = time.time()
        ids = []
        nxt = start
        while True:
            now = time.time()
            if now - start >= seconds and (until is None or until()):
                break
            if now - start > 240:  # until() never came true: give up streaming
                break
            batch = [f"{phase}-{self.n + i}" for i in range(per)]
            self.n += per
            t = rawrecv.ingest(self.api, self.cid, [(a, STEADY) for a in batch])
            for a in batch:
                self.sent[a] = t
            ids += batch
            nxt += TICK
            time.sleep(max(0.0, nxt - time.time()))
        return start, time.time(), ids


def _phase_figures(rcv, ids, start, end):
    """(delivered a second within the phase, p50, p99 latency in s)."""
    want = set(ids)
    got = {}
    for a in rcv.arrivals("ok"):
        if a.activity_id in want and a.activity_id not in got:
            got[a.activity_id] = a.time
    in_window = sum(1 for t in got.values() if start <= t <= end + 0.5)
    return in_window / (end - start), got


def run(ctx):
    res = Result(NAME)
    per_fault = 8 if ctx.bounded else 24
    max_retries = 1 if ctx.bounded else 2
    attempts = max_retries + 1
    base_s = 4 if ctx.bounded else 10
    fault_min_s = 8 if ctx.bounded else 20
    plain = not rawrecv.sanitized(ctx.hookd_bin)
    rcv = rawrecv.RawReceiver()
    h = None
    mem = None
    try:
        h = rawrecv.start_hookd(ctx, ["--request-timeout", f"{TIMEOUT_S}s",
                                      "--retry-schedule", f"{RETRY_S}s",
                                      "--max-retries", str(max_retries)])
        api = h.client()
        mem = rawrecv.MemSampler(h.proc.pid)
        hooks = {}
        for kind in ("ok",) + FAULTS:
            # created on a healthy path (creation sends a test and waits for
            # it), then pointed at the fault: PATCH sends nothing
            wh = api.create({"name": kind, "url": f"{rcv.url}/ok/setup-{kind}",
                             "activities": [{"ok": STEADY, "never": NEVER}.get(kind, FAULT)]})
            url = (rcv.never_url if kind == "never" else rcv.url) + f"/{kind}/{wh['id']}"
            r = api.patch(f"/api/v1/webhooks/{wh['id']}", {"url": url})
            assert r.status_code == 200, r.text
            hooks[kind] = wh["id"]
        cid = rawrecv.person(api)
        stream = Stream(api, cid)

        b0, b1, base_ids = stream.run_for("base", base_s)
        base_rss = mem.rss_mb()

        fault_ids = [f"fault-{i}" for i in range(per_fault)]
        for i in range(0, per_fault, 4):
            rawrecv.ingest(api, cid, [(a, FAULT) for a in fault_ids[i:i + 4]])
        for i in range(0, per_fault, 2):
            rawrecv.ingest(api, cid, [(f"never-{j}", NEVER) for j in range(i, min(i + 2, per_fault))],
                           attr={"str:cm:pad": "x" * PAD})
        res.accepted += 2 * per_fault

        seen = {k: set() for k in FAULTS}  # states the logs showed on the way

        def faults_ended():
            ended = True
            for kind in FAULTS:
                es = rawrecv.log_entries(api, hooks[kind])
                seen[kind].update(e["state"] for e in es)
                if len(es) < per_fault or any(e["state"] in ("pending", "retrying")
                                              for e in es):
                    ended = False
            return ended

        # the stream goes on as long as the faults are being worked on
        f0, f1, fault_phase_ids = stream.run_for("fault", fault_min_s,
                                                  until=lambda: _every(1.0, faults_ended))
        fault_s = f1 - f0
        res.accepted += len(stream.sent)

        # everything ends: the healthy deliveries arrive
        want = set(stream.sent)
        deadline = time.time() + 30
        while time.time() < deadline:
            if want <= {a.activity_id for a in rcv.arrivals("ok")}:
                break
            time.sleep(0.1)
        done_at = time.time()
        peak_during = mem.peak_rss_mb
        mem.stop()
        hwm = mem.read()[1] / 1024 if mem.read()[1] else mem.hwm_mb

        # --- counts, from what the receiver got
        ok_arr = rcv.arrivals("ok")
        by_act = {}
        for a in ok_arr:
            by_act.setdefault(a.activity_id, set()).add(a.webhook_id)
        dup = len(ok_arr) - sum(len(v) for v in by_act.values())
        res.expected = len(want)
        res.delivered = len(want & set(by_act))
        res.lost = res.expected - res.delivered
        res.duplicated = dup + sum(len(v) - 1 for v in by_act.values() if len(v) > 1)
        res.recovery_s = round(done_at - f1, 1)

        base_rate, base_got = _phase_figures(rcv, base_ids, b0, b1)
        fault_rate, fault_got = _phase_figures(rcv, fault_phase_ids, f0, f1)
        # from the 202 to the arrival: hookd may deliver before the client
        # has read its 202 (the commit comes first), which counts as 0
        lat = lambda got, ids: [max(0.0, got[a] - stream.sent[a])  # noqa: E731
                                for a in ids if a in got]
        bl, fl = lat(base_got, base_ids), lat(fault_got, fault_phase_ids)

        # --- the logs
        now = time.time()
        entries = {k: rawrecv.log_entries(api, w) for k, w in hooks.items()}
        res.stuck = sum(rawrecv.stuck(es, now, STUCK_GRACE) for es in entries.values())
        healthy = entries["ok"]
        res.check(len(healthy) == res.expected and all(e["state"] == "succeeded"
                                                       for e in healthy),
                  f"healthy webhook: {len(healthy)} entries, states "
                  f"{_states(healthy)}; expected {res.expected} succeeded")
        attempts_seen = {}
        for kind in FAULTS:
            es = entries[kind]
            res.check(len(es) == per_fault, f"{kind}: {len(es)} log entries, sent {per_fault}")
            bad = [why for why in (_expect(kind, e, attempts) for e in es) if why]
            res.check(not bad, f"{len(bad)} of {len(es)} {kind} entries misclassified; "
                               f"first: {bad[0] if bad else ''}")
            logged = sum(e["attempts"] for e in es)
            got = rcv.never_accepted if kind == "never" else len(rcv.arrivals(kind))
            attempts_seen[kind] = (f"{_states(es)} at the end (seen: {sorted(seen[kind])}), "
                                   f"{logged} attempts logged, {got} received")
            # hookd closes a connection whose attempt failed, so every
            # attempt is one request read (one connection, for never)
            res.check(got == logged, f"{kind}: the receiver got {got} requests or "
                                     f"connections, the log counts {logged} attempts")
        q = rcv.never_queued
        res.check(q and max(q) < PAD, f"never: the receiver's buffer held {max(q or [0])} bytes "
                                      f"of a {PAD}-byte request: hookd's send did not block")
        res.figures["never_buffered_max_bytes"] = max(q or [0])
        sample = {k: (entries[k][0]["status_code"], entries[k][0]["error"])
                  for k in FAULTS if entries[k]}

        # --- memory and rate
        growth = max(peak_during, hwm) - base_rss
        if plain:
            res.check(max(peak_during, hwm) < MEM_BOUND_MB,
                      f"memory: peak {max(peak_during, hwm):.1f} MB ≥ bound {MEM_BOUND_MB} MB")
        res.check(growth < MEM_GROWTH_MB,
                  f"memory: peak {growth:.1f} MB over the baseline's {base_rss:.1f} MB "
                  f"(bound {MEM_GROWTH_MB} MB)")
        ratio = fault_rate / base_rate if base_rate else 0
        res.check(ratio >= RATE_MIN, f"healthy rate during faults {fault_rate:.1f}/s is "
                                     f"{ratio:.0%} of the baseline {base_rate:.1f}/s "
                                     f"(at least {RATE_MIN:.0%})")
        res.did = (f"{per_fault} deliveries to each of {len(FAULTS)} faulty endpoints "
                   f"({', '.join(FAULTS)}; timeout {TIMEOUT_S}s, {attempts} attempts) during "
                   f"{fault_s:.0f}s of a {RATE}/s healthy stream ({base_s}s baseline first)")
        res.figures.update({
            "rss_baseline_mb": round(base_rss, 1),
            "rss_peak_mb": round(peak_during, 1),
            "vmhwm_mb": round(hwm, 1),
            "mem_bound_mb": MEM_BOUND_MB if plain else f"growth < {MEM_GROWTH_MB} (sanitizer)",
            "healthy_rate_baseline": round(base_rate, 1),
            "healthy_rate_faults": round(fault_rate, 1),
            "rate_ratio": f"{ratio:.0%}",
            "healthy_latency_baseline_p50_p99_ms": _ms(bl),
            "healthy_latency_faults_p50_p99_ms": _ms(fl),
            "fault_phase_s": round(fault_s, 1),
            **{f"fault_{k}": v for k, v in attempts_seen.items()},
            **{f"logged_{k}": f"status {c} error {e!r}" for k, (c, e) in sample.items()},
        })
    finally:
        if mem:
            mem.stop()
        rcv.stop()  # ends every hold first, so hookd's stop is quick
        if h:
            rawrecv.stop_hookd(h)
    return res


_last = {}


def _every(seconds, fn):
    """fn(), at most once every seconds (the logs are not read on every
    tick of the stream); in between, its last answer."""
    now = time.monotonic()
    if fn not in _last or now - _last[fn][0] >= seconds:
        _last[fn] = (now, fn())
    return _last[fn][1]


def _states(es):
    out = {}
    for e in es:
        out[e["state"]] = out.get(e["state"], 0) + 1
    return out


def _ms(xs):
    if not xs:
        return None
    return (round(rawrecv.percentile(xs, 50) * 1000), round(rawrecv.percentile(xs, 99) * 1000))
