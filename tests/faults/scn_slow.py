"""slow consumers: one webhook whose endpoint answers each request after
10 s, beside HEALTHY webhooks fed a steady stream.

Phases: a baseline (the stream only, the slow webhook idle), then the slow
phase: the slow webhook gets its deliveries (more than hookd's 16 attempts
per webhook at once in the full form, so they queue) while the stream goes
on, until every slow delivery has been answered.  Checked and reported,
for the healthy webhooks: deliveries a second during the slow phase at
least RATE_MIN of the baseline's, and the latency from the ingest's 202 to
the arrival (p50/p99) under P99_MAX; for the slow one: every delivery
answered and logged `succeeded` (the request timeout is above 10 s).
lost = deliveries (healthy and slow) never received; stuck = waiting
deliveries whose next attempt is overdue by more than STUCK_GRACE s."""

import math
import time

from faultlib import Result
import rawrecv

NAME = "slow consumers"
BACKENDS = ("sqlite", "postgres")

SLOW_S = 10            # the slow endpoint's answer time
TIMEOUT_S = 15         # --request-timeout: above SLOW_S, so slow answers succeed
HEALTHY = 3            # healthy webhooks
RATE = 20              # activities a second, each to every healthy webhook
RATE_MIN = 0.7         # slow-phase rate / baseline rate, at least
P99_MAX = 1.0          # seconds, healthy latency p99 in the slow phase
PER_WEBHOOK_CAP = 16   # attempts of one webhook at once (docs/architecture.md)
STUCK_GRACE = 5
STEADY, SLOW = "act:cm:steady", "act:cm:slow"


def run(ctx):
    res = Result(NAME)
    n_slow = PER_WEBHOOK_CAP if ctx.bounded else 3 * PER_WEBHOOK_CAP
    base_s = 5 if ctx.bounded else 10
    rcv = rawrecv.RawReceiver()
    rcv.slow_s = SLOW_S
    h = None
    try:
        h = rawrecv.start_hookd(ctx, ["--request-timeout", f"{TIMEOUT_S}s",
                                      "--retry-schedule", "2s"])
        api = h.client()
        hooks = {}
        for i in range(HEALTHY):
            hooks[f"h{i}"] = api.create({"name": f"healthy {i}", "url": f"{rcv.url}/ok/h{i}",
                                         "activities": [STEADY]})["id"]
        hooks["slow"] = api.create({"name": "slow", "url": f"{rcv.url}/slow/x",
                                    "activities": [SLOW]})["id"]
        cid = rawrecv.person(api)
        stream = rawrecv.Stream(api, cid, STEADY, RATE)

        b0, b1, base_ids = stream.run_for("base", base_s)

        slow_ids = [f"slow-{i}" for i in range(n_slow)]
        for i in range(0, n_slow, 8):
            rawrecv.ingest(api, cid, [(a, SLOW) for a in slow_ids[i:i + 8]])
        slow_sent = time.time()

        def slow_done():
            return sum(1 for a in rcv.arrivals("slow") if a.answered) >= n_slow

        waves = math.ceil(n_slow / PER_WEBHOOK_CAP)
        s0, s1, slow_phase_ids = stream.run_for("slow", SLOW_S * waves - 1, until=slow_done,
                                                limit=SLOW_S * waves + 60)
        # the last answers are logged; the stream's last deliveries arrive
        want = set(stream.sent)
        deadline = time.time() + 30
        while time.time() < deadline:
            arrived = [{a.activity_id for a in rcv.arrivals("ok") if a.path == f"/ok/h{i}"}
                       for i in range(HEALTHY)]
            states = [e["state"] for e in rawrecv.log_entries(api, hooks["slow"])]
            if all(want <= got for got in arrived) and \
                    states.count("succeeded") == n_slow:
                break
            time.sleep(0.2)
        res.recovery_s = round(time.time() - s1, 1)
        res.accepted = len(stream.sent) + n_slow

        # --- counts, from what the receiver got
        res.expected = HEALTHY * len(want) + n_slow
        per_hook = {}
        dup = 0
        for key in list(hooks):
            arr = rcv.arrivals("slow") if key == "slow" else \
                [a for a in rcv.arrivals("ok") if a.path == f"/ok/{key}"]
            ids = [a.activity_id for a in arr]
            dup += len(ids) - len(set(ids))
            per_hook[key] = arr
        slow_arr = per_hook["slow"]
        slow_answered = {a.activity_id for a in slow_arr if a.answered}
        res.delivered = sum(len(want & {a.activity_id for a in per_hook[f"h{i}"]})
                            for i in range(HEALTHY)) + len(slow_answered & set(slow_ids))
        res.lost = res.expected - res.delivered
        res.duplicated = dup

        # --- the logs
        now = time.time()
        entries = {k: rawrecv.log_entries(api, w) for k, w in hooks.items()}
        res.stuck = sum(rawrecv.stuck(es, now, STUCK_GRACE) for es in entries.values())
        for key, es in entries.items():
            n = n_slow if key == "slow" else len(want)
            ok = [e for e in es if e["state"] == "succeeded" and e["status_code"] == 200]
            res.check(len(es) == n and len(ok) == n,
                      f"{key}: {len(ok)} of {len(es)} log entries succeeded 200; expected {n}")
        slow_attempts = sum(e["attempts"] for e in entries["slow"])
        res.check(slow_attempts == n_slow and len(slow_arr) == n_slow,
                  f"slow: {slow_attempts} attempts logged, {len(slow_arr)} received, for "
                  f"{n_slow} deliveries (a timeout would have retried)")

        # --- rate and latency of the healthy webhooks, per phase
        rates, lats = {"base": [], "slow": []}, {"base": [], "slow": []}
        for i in range(HEALTHY):
            arr = per_hook[f"h{i}"]
            for ph, ids, t0, t1 in (("base", base_ids, b0, b1), ("slow", slow_phase_ids, s0, s1)):
                rate, got = rawrecv.phase_figures(arr, ids, t0, t1)
                rates[ph].append(rate)
                # hookd may deliver before the client has read its 202
                lats[ph] += [max(0.0, got[a] - stream.sent[a]) for a in ids if a in got]
        base_rate, slow_rate = sum(rates["base"]), sum(rates["slow"])
        ratio = slow_rate / base_rate if base_rate else 0
        p99 = rawrecv.percentile(lats["slow"], 99)
        res.check(ratio >= RATE_MIN, f"healthy rate during the slow phase {slow_rate:.1f}/s is "
                                     f"{ratio:.0%} of the baseline {base_rate:.1f}/s "
                                     f"(at least {RATE_MIN:.0%})")
        res.check(p99 is not None and p99 < P99_MAX,
                  f"healthy latency p99 during the slow phase {p99}s (under {P99_MAX}s)")
        slow_times = sorted(a.answered for a in slow_arr if a.answered)
        res.did = (f"{n_slow} deliveries to an endpoint answering after {SLOW_S}s beside "
                   f"{HEALTHY} healthy webhooks fed {RATE} activities/s ({base_s}s baseline, "
                   f"{s1 - s0:.0f}s slow phase)")
        res.figures.update({
            "healthy_offered_baseline_slow": (round(HEALTHY * len(base_ids) / (b1 - b0), 1),
                                              round(HEALTHY * len(slow_phase_ids) / (s1 - s0), 1)),
            "healthy_rate_baseline": round(base_rate, 1),
            "healthy_rate_slow": round(slow_rate, 1),
            "rate_ratio": f"{ratio:.0%}",
            "healthy_latency_baseline_p50_p99_ms": rawrecv.p50_p99_ms(lats["base"]),
            "healthy_latency_slow_p50_p99_ms": rawrecv.p50_p99_ms(lats["slow"]),
            "slow_answered": f"{len(slow_answered)} of {n_slow}",
            "slow_drained_s": round(slow_times[-1] - slow_sent, 1) if slow_times else None,
            "slow_drain_floor_s": SLOW_S * waves,
            "slow_states": rawrecv.state_counts(entries["slow"]),
        })
    finally:
        rcv.stop()
        if h:
            rawrecv.stop_hookd(h)
    return res
