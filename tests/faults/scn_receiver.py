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
    are at least RATE_MIN of the baseline's, its latency p99 under
    P99_MAX, and all of them succeed;
  - the faults are real: hookd's send to the never-read endpoint blocks
    (part of the request is still in hookd, seen from /proc/net/tcp), and
    hookd takes only part of the 100 MB answer.
lost = healthy deliveries never received; stuck = waiting deliveries whose
next attempt is overdue by more than STUCK_GRACE seconds at the end."""

import threading
import time

from faultlib import Result
import rawrecv

NAME = "receiver faults"
BACKENDS = ("sqlite", "postgres")

FAULTS = ("hang", "reset", "broken", "drip", "huge", "never")
TIMEOUT_S = 3          # --request-timeout
RETRY_S = 2            # --retry-schedule
RATE = 20              # healthy activities a second, offered
RATE_MIN = 0.7         # fault-phase rate / baseline rate, at least
P99_MAX = 1.0          # seconds, healthy latency (202 to arrival) p99 during the faults
# memory (see docs/testing.md), judged on the plain build only (ASan keeps
# freed blocks in a quarantine of up to 256 MB, so its RSS measures the
# sanitizer): both bounds are below the size of the one 100 MB answer, so
# holding it once fails them, and well above what hookd needs (about 15 MB
# idle, 30-50 MB here with the never-read payloads)
MEM_BOUND_MB = 100     # peak VmRSS / VmHWM
MEM_GROWTH_MB = 80     # peak over the baseline's RSS
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
        stream = rawrecv.Stream(api, cid, STEADY, RATE)

        b0, b1, base_ids = stream.run_for("base", base_s)
        base_rss = mem.rss_mb()

        fault_ids = [f"fault-{i}" for i in range(per_fault)]
        for i in range(0, per_fault, 4):
            rawrecv.ingest(api, cid, [(a, FAULT) for a in fault_ids[i:i + 4]])
        for i in range(0, per_fault, 2):
            rawrecv.ingest(api, cid, [(f"never-{j}", NEVER) for j in range(i, min(i + 2, per_fault))],
                           attr={"str:cm:pad": "x" * PAD})
        res.accepted += 2 * per_fault

        # a watcher, on its own thread and connection so the stream keeps
        # its pace: the faults have ended when every faulty webhook's
        # deliveries have finished (its list stats: cheap, no bodies); on
        # the way it notes which faults were seen `retrying`
        ended = threading.Event()
        seen_retrying = set()

        def watch(wapi):
            try:
                watch_until_ended(wapi)
            except Exception as e:  # noqa: BLE001 — reported, and the stream stops
                res.failures.append(f"watching the faults' end failed: {e!r}"[:300])
                ended.set()

        def watch_until_ended(wapi):
            while not ended.is_set() and h.alive():
                stats = {w["id"]: w["stats"] for w in wapi.webhooks()}
                for kind in FAULTS:
                    if kind not in seen_retrying:
                        r = wapi.get(f"/api/v1/webhooks/{hooks[kind]}/logs"
                                     "?state=retrying&limit=1", timeout=30)
                        if r.status_code == 200 and r.json()["entries"]:
                            seen_retrying.add(kind)
                if all(stats[hooks[k]]["pending"] == 0 and
                       stats[hooks[k]]["succeeded_24h"] + stats[hooks[k]]["failed_24h"]
                       >= per_fault for k in FAULTS):
                    ended.set()
                time.sleep(1.0)

        watcher = threading.Thread(target=watch, args=(h.client(),), daemon=True)
        watcher.start()
        # the stream goes on as long as the faults are being worked on
        f0, f1, fault_phase_ids = stream.run_for("fault", fault_min_s, until=ended.is_set)
        ended.set()
        watcher.join(timeout=30)
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

        base_rate, base_got = rawrecv.phase_figures(rcv.arrivals("ok"), base_ids, b0, b1)
        fault_rate, fault_got = rawrecv.phase_figures(rcv.arrivals("ok"), fault_phase_ids, f0, f1)
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
                  f"{rawrecv.state_counts(healthy)}; expected {res.expected} succeeded")
        attempts_seen = {}
        for kind in FAULTS:
            es = entries[kind]
            res.check(len(es) == per_fault, f"{kind}: {len(es)} log entries, sent {per_fault}")
            bad = [why for why in (_expect(kind, e, attempts) for e in es) if why]
            res.check(not bad, f"{len(bad)} of {len(es)} {kind} entries misclassified; "
                               f"first: {bad[0] if bad else ''}")
            logged = sum(e["attempts"] for e in es)
            got = rcv.never_accepted if kind == "never" else len(rcv.arrivals(kind))
            seen = ", seen retrying" if kind in seen_retrying else ""
            attempts_seen[kind] = (f"{rawrecv.state_counts(es)} at the end{seen}, "
                                   f"{logged} attempts logged, {got} received")
            # hookd closes a connection whose attempt failed, so every
            # attempt is one request read (one connection, for never)
            res.check(got == logged, f"{kind}: the receiver got {got} requests or "
                                     f"connections, the log counts {logged} attempts")
        # never: the request's bytes outside hookd (this end's receive
        # buffer plus hookd's socket's send queue) fall short of it, so hookd
        # itself still holds the rest: its send blocked, and it timed out
        q = [r + t for r, t in rcv.never_queued]
        res.check(q and max(q) < PAD, f"never: {max(q or [0])} bytes of a {PAD}-byte request "
                                      f"left hookd: its send never blocked")
        res.figures["never_bytes_out_of_hookd_max"] = max(q or [0])
        # huge: how much of the 100 MB body hookd let the receiver send
        res.figures["huge_sent_max_mb"] = round(max(rcv.huge_sent or [0]) / 1e6, 1)
        # hookd reads 1 MiB and closes; the kernel's receive buffer (up to
        # tcp_rmem's 32 MiB) takes more, but never the whole answer
        res.check(rcv.huge_sent and max(rcv.huge_sent) < rawrecv.HUGE_BYTES / 2,
                  f"huge: hookd took {max(rcv.huge_sent or [0])} bytes of a 100 MB answer; it "
                  f"should stop reading at 1 MiB and close")
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
        p99 = rawrecv.percentile(fl, 99)
        res.check(p99 is not None and p99 < P99_MAX,
                  f"healthy latency p99 during the faults {p99}s (under {P99_MAX}s)")
        res.did = (f"{per_fault} deliveries to each of {len(FAULTS)} faulty endpoints "
                   f"({', '.join(FAULTS)}; timeout {TIMEOUT_S}s, {attempts} attempts) during "
                   f"{fault_s:.0f}s of a {RATE}/s healthy stream ({base_s}s baseline first)")
        res.figures.update({
            "rss_baseline_mb": round(base_rss, 1),
            "rss_peak_mb": round(peak_during, 1),
            "vmhwm_mb": round(hwm, 1),
            "mem_bound_mb": (f"{MEM_BOUND_MB}, growth {MEM_GROWTH_MB}" if plain else
                             "not judged: sanitizer build (ASan's quarantine keeps freed memory)"),
            "healthy_offered_baseline_faults": (round(len(base_ids) / (b1 - b0), 1),
                                                round(len(fault_phase_ids) / (f1 - f0), 1)),
            "healthy_rate_baseline": round(base_rate, 1),
            "healthy_rate_faults": round(fault_rate, 1),
            "rate_ratio": f"{ratio:.0%}",
            "healthy_latency_baseline_p50_p99_ms": rawrecv.p50_p99_ms(bl),
            "healthy_latency_faults_p50_p99_ms": rawrecv.p50_p99_ms(fl),
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
