#!/usr/bin/env python3
"""delivery_bench.py — the client side of bench/run_delivery.sh (see bench/README.md).

Standard library only. Subcommands:

  setup       create the one webhook (POST, subscribed to ["act::s"]) and merge
              one person; prints {"webhook_id", "contact_id", "test"} as JSON.
  throughput  ingest N activities (requests of --batch, --conc keep-alive
              connections, as fast as hookd answers) and poll GET
              /api/v1/webhooks every --poll-ms until the webhook's
              stats.succeeded_24h has grown by N. Rate = N / (time of the first
              poll that saw all N succeeded - time the first ingest was sent).
  latency     start a receiver (this file, `receive`, in its own process),
              point the webhook at it, send --per-request activities every
              --interval-ms for --seconds, and for each delivery take
              (arrival at the receiver) - (send of the ingest request that
              carried its activity), and the same from the 202 coming back.
  receive     the receiver: a minimal keep-alive HTTP/1.1 server answering
              200 "ok", noting CLOCK_MONOTONIC at the moment each request is
              complete. Used by `latency`; not meant to be run by hand.

Every subcommand prints human lines, and one line `RESULT {json}` that
run_delivery.sh reads. All times are CLOCK_MONOTONIC (time.monotonic_ns), one
clock for every process on the machine, so the receiver's and the sender's
timestamps compare directly.
"""
import argparse
import asyncio
import http.client
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

ATTR = {
    "str::s": "Spring sale: 20% off everything until Sunday",
    "str::cn": "Spring sale 2024",
    "str::asn": "Spring newsletter, week 12",
    "idt::c": "cmp_0123456789abcdef",
}
CAMPAIGN = {"id": "cmp_0123456789abcdef", "name": "Spring sale 2024"}


def now_ns():
    return time.monotonic_ns()


class Api:
    """One keep-alive connection to hookd's API."""

    def __init__(self, base, key, timeout=60):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.key = key
        self.timeout = timeout
        self.conn = None

    def call(self, method, path, body=None):
        hdrs = {"Authorization": "Bearer " + self.key}
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, bytearray)) else json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=hdrs)
                r = self.conn.getresponse()
                raw = r.read()
                break
            except (http.client.HTTPException, ConnectionError) as e:
                # A kept-alive connection the server closed: reconnect once.
                self.conn.close()
                self.conn = None
                if attempt:
                    raise RuntimeError("%s %s: %s" % (method, path, e))
        if r.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = raw.decode(errors="replace")
        return r.status, doc

    def must(self, method, path, body=None, want=(200,)):
        st, doc = self.call(method, path, body)
        if st not in want:
            raise SystemExit("delivery_bench: %s %s -> %d %s" % (method, path, st, doc))
        return doc


def webhook_stats(api, webhook_id):
    doc = api.must("GET", "/api/v1/webhooks")
    for w in doc["webhooks"]:
        if w["id"] == webhook_id:
            return w["stats"]
    raise SystemExit("delivery_bench: webhook %s is gone" % webhook_id)


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def result(obj):
    print("RESULT " + json.dumps(obj, sort_keys=True), flush=True)


# ---- setup ---------------------------------------------------------------

def cmd_setup(a):
    api = Api(a.base, a.key)
    wh = api.must("POST", "/api/v1/webhooks", {
        "name": "delivery bench",
        "url": a.target,
        "activities": ["act::s"],
    }, want=(201,))
    ppl = api.must("POST", "/api/v1/people/merge", {
        "people": [{"fields": {"str::email": "bench@example.com", "str::first": "Bench",
                               "str::last": "Mark"}}],
    })
    out = {"webhook_id": wh["id"], "contact_id": ppl["people"][0]["contact_id"],
           "test": wh.get("test")}
    print("webhook %s -> %s (creation test: %s)" % (wh["id"], a.target, wh.get("test")))
    result(out)


def activity(aid, contact):
    return {"id": aid, "field_id": "act::s", "contact": {"contact_id": contact},
            "attr": ATTR, "campaign": CAMPAIGN}


# ---- throughput ----------------------------------------------------------

class Poller(threading.Thread):
    """Polls the webhook's stats every period until succeeded grows by `want`."""

    def __init__(self, api, webhook_id, base_succeeded, want, period_s, deadline_ns):
        super().__init__(daemon=True)
        self.api, self.wid = api, webhook_id
        self.base, self.want = base_succeeded, want
        self.period = period_s
        self.deadline = deadline_ns
        self.samples = []  # (t_ns, succeeded - base, pending, failed)
        self.done_ns = None
        self.stop = threading.Event()

    def run(self):
        nxt = time.monotonic()
        while not self.stop.is_set():
            st = webhook_stats(self.api, self.wid)
            t = now_ns()
            got = st["succeeded_24h"] - self.base
            self.samples.append((t, got, st["pending"], st["failed_24h"]))
            if got >= self.want:
                self.done_ns = t
                return
            if t > self.deadline:
                return
            nxt += self.period
            time.sleep(max(0.0, nxt - time.monotonic()))


def cmd_throughput(a):
    api = Api(a.base, a.key)
    tag = "tp%x" % (time.time_ns() // 1000 % (1 << 40))
    bodies = []
    for r in range(0, a.n, a.batch):
        acts = [activity("%s-%d" % (tag, i), a.contact) for i in range(r, min(a.n, r + a.batch))]
        bodies.append(json.dumps({"activities": acts}, separators=(",", ":")).encode())
    one = len(json.dumps(activity(tag + "-0", a.contact), separators=(",", ":")))
    print("throughput: %d activities in %d requests of <=%d (%.0f KiB each, ~%d B an activity), "
          "%d connection(s)" % (a.n, len(bodies), a.batch, len(bodies[0]) / 1024, one, a.conc))

    base = webhook_stats(api, a.webhook)
    base_succ, base_failed = base["succeeded_24h"], base["failed_24h"]
    work = queue.Queue()
    for b in bodies:
        work.put(b)
    acks, errors = [], []
    lock = threading.Lock()

    def ingest():
        c = Api(a.base, a.key)
        while True:
            try:
                b = work.get_nowait()
            except queue.Empty:
                return
            t0 = now_ns()
            st, doc = c.call("POST", "/api/v1/activities", b)
            t1 = now_ns()
            with lock:
                if st != 202:
                    errors.append((st, doc))
                acks.append((t0, t1))

    deadline = now_ns() + int(a.timeout * 1e9)
    poller = Poller(Api(a.base, a.key), a.webhook, base_succ, a.n, a.poll_ms / 1000.0, deadline)
    workers = [threading.Thread(target=ingest, daemon=True) for _ in range(a.conc)]
    t_start = now_ns()
    for w in workers:
        w.start()
    poller.start()
    for w in workers:
        w.join()
    poller.join()
    if errors:
        raise SystemExit("delivery_bench: %d ingest request(s) failed, first: %s" % (len(errors), errors[0]))

    t_first = min(t0 for t0, _ in acks)
    t_last_ack = max(t1 for _, t1 in acks)
    lat = sorted((t1 - t0) / 1e6 for t0, t1 in acks)
    ingest_s = (t_last_ack - t_first) / 1e9
    last = poller.samples[-1] if poller.samples else (now_ns(), 0, 0, 0)
    failed = last[3] - base_failed
    # The steepest second of the succeeded curve: delivery's own pace once it runs.
    best = 0.0
    s = poller.samples
    j = 0
    for i in range(len(s)):  # over the shortest window of at least 1 s ending at each poll
        while j + 1 < i and s[i][0] - s[j + 1][0] >= 1e9:
            j += 1
        if s[i][0] - s[j][0] >= 1e9:
            best = max(best, (s[i][1] - s[j][1]) / ((s[i][0] - s[j][0]) / 1e9))
    out = {
        "n": a.n, "batch": a.batch, "conc": a.conc,
        "ingest_s": round(ingest_s, 3),
        "ingest_per_s": round(a.n / ingest_s, 1),
        "ingest_req_ms_p50": round(pct(lat, 50), 1), "ingest_req_ms_max": round(lat[-1], 1),
        "failed": failed, "polls": len(s), "peak_1s_per_s": round(best, 1),
    }
    if a.curve:
        with open(a.curve, "w") as f:
            f.write("ms_since_first_ingest\tsucceeded\tpending\tfailed\n")
            for t, got, pend, fl in s:
                f.write("%d\t%d\t%d\t%d\n" % ((t - t_first) // 1000000, got, pend, fl - base_failed))
    marks, sec = [], 1
    for t, got, _, _ in s:
        if t - t_first >= sec * 1e9:
            marks.append("%ds:%d" % (sec, got))
            sec = int((t - t_first) // 1e9) + 1
    print("  succeeded by time since the first ingest: " + " ".join(marks))
    print("  ingest: %d activities in %.2f s = %.0f activities/s (202 after p50 %.1f ms, max %.1f ms a request)"
          % (a.n, ingest_s, a.n / ingest_s, pct(lat, 50), lat[-1]))
    if poller.done_ns is None:
        out.update({"complete": False, "succeeded": last[1], "pending": last[2],
                    "elapsed_s": round((last[0] - t_first) / 1e9, 3),
                    "deliveries_per_s": round(last[1] / ((last[0] - t_first) / 1e9), 1)})
        print("  NOT COMPLETE after %.1f s: %d succeeded, %d pending, %d failed"
              % (out["elapsed_s"], last[1], last[2], failed))
    else:
        el = (poller.done_ns - t_first) / 1e9
        out.update({"complete": True, "succeeded": last[1], "elapsed_s": round(el, 3),
                    "deliveries_per_s": round(a.n / el, 1)})
        print("  delivered: all %d succeeded %.2f s after the first ingest request = %.0f deliveries/s "
              "end to end (steepest 1 s: %.0f/s; %d failed)" % (a.n, el, a.n / el, best, failed))
    result(out)


# ---- the receiver --------------------------------------------------------

RESP = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


def cmd_receive(a):
    records = []  # (t_ns, head bytes, body bytes): parsed only at the end

    class Proto(asyncio.Protocol):
        def connection_made(self, transport):
            self.t = transport
            self.buf = bytearray()

        def data_received(self, data):
            t = time.monotonic_ns()
            self.buf += data
            while True:
                i = self.buf.find(b"\r\n\r\n")
                if i < 0:
                    return
                cl = 0
                for line in bytes(self.buf[:i]).split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        cl = int(v.strip())
                end = i + 4 + cl
                if len(self.buf) < end:
                    return
                records.append((t, bytes(self.buf[:i]), bytes(self.buf[i + 4:end])))
                del self.buf[:end]
                self.t.write(RESP)

    def dump():
        with open(a.out, "w") as f:
            for t, head, body in records:
                wid = ""
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"webhook-id":
                        wid = v.strip().decode()
                try:
                    doc = json.loads(body) if body else {}
                except ValueError:
                    doc = {}
                act = doc.get("activity") or {}
                f.write(json.dumps({"t": t, "delivery_id": wid, "activity_id": act.get("id"),
                                    "test": bool(doc.get("test"))}) + "\n")

    async def main():
        loop = asyncio.get_running_loop()
        srv = await loop.create_server(Proto, "127.0.0.1", 0, backlog=1024)
        print(srv.sockets[0].getsockname()[1], flush=True)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        await stop.wait()
        srv.close()

    asyncio.run(main())
    dump()


# ---- latency -------------------------------------------------------------

def cmd_latency(a):
    api = Api(a.base, a.key)
    out_path = a.work + "/receiver.jsonl"
    rx = subprocess.Popen([sys.executable, os.path.abspath(__file__), "receive", "--out", out_path],
                          stdout=subprocess.PIPE, text=True)
    try:
        port = int(rx.stdout.readline())
        url = "http://127.0.0.1:%d/hook" % port
        api.must("PATCH", "/api/v1/webhooks/" + a.webhook, {"url": url})
        base = webhook_stats(api, a.webhook)
        nreq = int(round(a.seconds * 1000 / a.interval_ms))
        n = nreq * a.per_request
        rate = a.per_request * 1000.0 / a.interval_ms
        print("latency: %d activities/s (%d every %g ms) for %g s = %d activities, receiver on :%d"
              % (rate, a.per_request, a.interval_ms, a.seconds, n, port))
        tag = "lt%x" % (time.time_ns() // 1000 % (1 << 40))
        bodies = [json.dumps({"activities": [activity("%s-%d-%d" % (tag, k, i), a.contact)
                                             for i in range(a.per_request)]},
                             separators=(",", ":")).encode() for k in range(nreq)]
        sent = [None] * nreq  # (send_ns, ack_ns, status, lag_ns)
        nxt = [0]
        lock = threading.Lock()
        interval_ns = int(a.interval_ms * 1e6)
        t0 = now_ns() + 50_000_000

        def sender():
            c = Api(a.base, a.key)
            c.call("GET", "/healthz")  # open the connection before the clock starts
            while True:
                with lock:
                    k = nxt[0]
                    nxt[0] += 1
                if k >= nreq:
                    return
                due = t0 + k * interval_ns
                d = due - now_ns()
                if d > 0:
                    time.sleep(d / 1e9)
                ts = now_ns()
                st, _ = c.call("POST", "/api/v1/activities", bodies[k])
                sent[k] = (ts, now_ns(), st, ts - due)

        # Open-loop: several connections take the ticks in turn, so one slow
        # commit does not hold back the requests due after it.
        ths = [threading.Thread(target=sender, daemon=True) for _ in range(a.senders)]
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        bad = [s for s in sent if s is None or s[2] != 202]
        if bad:
            raise SystemExit("delivery_bench: %d latency ingest request(s) failed" % len(bad))
        # Wait for every delivery to be recorded as succeeded.
        deadline = time.monotonic() + a.timeout
        while True:
            st = webhook_stats(api, a.webhook)
            if st["succeeded_24h"] - base["succeeded_24h"] >= n or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        rx.send_signal(signal.SIGTERM)
        rx.wait(timeout=30)

    arrivals = {}
    dups = 0
    with open(out_path) as f:
        for line in f:
            r = json.loads(line)
            aid = r["activity_id"]
            if not aid or not aid.startswith(tag):
                continue
            if aid in arrivals:
                dups += 1
                continue
            arrivals[aid] = r
    from_send, from_ack = [], []
    missing = 0
    for k in range(nreq):
        ts, ta, _, _ = sent[k]
        for i in range(a.per_request):
            r = arrivals.get("%s-%d-%d" % (tag, k, i))
            if r is None:
                missing += 1
                continue
            from_send.append((r["t"] - ts) / 1e6)
            from_ack.append((r["t"] - ta) / 1e6)
    from_send.sort()
    from_ack.sort()
    ack_ms = sorted((s[1] - s[0]) / 1e6 for s in sent)
    lag_ms = sorted(s[3] / 1e6 for s in sent)
    span = (sent[-1][0] - sent[0][0]) / 1e9

    def stats(v):
        return {"p50": round(pct(v, 50), 2), "p90": round(pct(v, 90), 2),
                "p99": round(pct(v, 99), 2), "max": round(v[-1], 2) if v else None}

    out = {"n": n, "received": len(from_send), "missing": missing, "duplicates": dups,
           "offered_per_s": round(n / span, 1) if span > 0 else None,
           "from_send_ms": stats(from_send), "from_202_ms": stats(from_ack),
           "ingest_202_ms": stats(ack_ms), "send_lag_ms": stats(lag_ms)}
    print("  offered %.0f activities/s; ingest 202 after p50 %.2f ms p99 %.2f ms; sender behind schedule p99 %.2f ms"
          % (out["offered_per_s"] or 0, pct(ack_ms, 50), pct(ack_ms, 99), pct(lag_ms, 99)))
    for name, v in (("from ingest send", from_send), ("from its 202", from_ack)):
        print("  ingest->first attempt, %-16s p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms"
              % (name + ":", pct(v, 50), pct(v, 90), pct(v, 99), v[-1] if v else float("nan")))
    if missing or dups:
        print("  %d deliveries never arrived, %d arrived more than once" % (missing, dups))
    result(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp):
        sp.add_argument("--base", required=True, help="hookd's http://127.0.0.1:PORT")
        sp.add_argument("--key", required=True)

    s = sub.add_parser("setup")
    common(s)
    s.add_argument("--target", required=True, help="URL the webhook delivers to")
    s = sub.add_parser("throughput")
    common(s)
    s.add_argument("--webhook", required=True)
    s.add_argument("--contact", required=True)
    s.add_argument("-n", type=int, default=50000)
    s.add_argument("--batch", type=int, default=1000)
    s.add_argument("--conc", type=int, default=2, help="ingest connections")
    s.add_argument("--poll-ms", type=float, default=100)
    s.add_argument("--curve", help="write every poll (ms, succeeded, pending, failed) here as TSV")
    s.add_argument("--timeout", type=float, default=60, help="give up after this many seconds")
    s = sub.add_parser("latency")
    common(s)
    s.add_argument("--webhook", required=True)
    s.add_argument("--contact", required=True)
    s.add_argument("--work", required=True, help="a directory for the receiver's record")
    s.add_argument("--per-request", type=int, default=10)
    s.add_argument("--interval-ms", type=float, default=10)
    s.add_argument("--seconds", type=float, default=10)
    s.add_argument("--senders", type=int, default=4, help="ingest connections taking the ticks")
    s.add_argument("--timeout", type=float, default=30, help="wait at most this long for the last deliveries")
    s = sub.add_parser("receive")
    s.add_argument("--out", required=True)
    a = p.parse_args()
    {"setup": cmd_setup, "throughput": cmd_throughput, "latency": cmd_latency,
     "receive": cmd_receive}[a.cmd](a)


if __name__ == "__main__":
    main()
