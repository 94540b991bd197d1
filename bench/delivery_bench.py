#!/usr/bin/env python3
"""delivery_bench.py — the Python side of bench/run_core.sh (see bench/README.md).

Standard library only (Debian's /usr/bin/python3). Subcommands:

  latency     start a receiver (this file, `receive`, in its own process),
              point the webhook at it, send --per-request activities (read
              from --activities, JSON lines made by core_client) every
              --interval-ms for --seconds, and for each delivery take
              (arrival at the receiver) - (the 202 of the ingest request that
              carried its activity), and the same from that request's send.
  receive     the receiver: a minimal keep-alive HTTP/1.1 server answering
              200 "ok", noting CLOCK_MONOTONIC at the moment each request is
              complete. Used by `latency`; not meant to be run by hand.
  slow        a receiver that holds every request --hold-ms before answering
              200 "ok" (asyncio: thousands of open requests cost it nothing),
              and writes how many it held at most and in all to --out at
              SIGTERM. The slow webhook of run_core.sh's phase 6.

`latency` prints human lines and one line `RESULT {json}` that run_core.sh
reads. All times are CLOCK_MONOTONIC (time.monotonic_ns), one clock for every
process on the machine, so the receiver's and the sender's timestamps compare
directly.
"""
import argparse
import asyncio
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

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


# ---- the receiver --------------------------------------------------------

RESP = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


def take_request(buf):
    """The first whole request in buf as (head, body), removed from buf; None
    while it is incomplete. hookd sends Content-Length, never chunks."""
    i = buf.find(b"\r\n\r\n")
    if i < 0:
        return None
    cl = 0
    for line in bytes(buf[:i]).split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            cl = int(v.strip())
    end = i + 4 + cl
    if len(buf) < end:
        return None
    req = (bytes(buf[:i]), bytes(buf[i + 4:end]))
    del buf[:end]
    return req


def serve(on_request):
    """Runs a keep-alive HTTP/1.1 server on a free loopback port (printed on
    stdout) until SIGTERM or SIGINT; on_request(transport, t_ns, head, body)
    is called for each whole request, t_ns when its last byte arrived."""

    class Proto(asyncio.Protocol):
        def connection_made(self, transport):
            self.t = transport
            self.buf = bytearray()

        def data_received(self, data):
            t = time.monotonic_ns()
            self.buf += data
            while (req := take_request(self.buf)) is not None:
                on_request(self.t, t, *req)

    async def main():
        loop = asyncio.get_running_loop()
        srv = await loop.create_server(Proto, "127.0.0.1", 0, backlog=4096)
        print(srv.sockets[0].getsockname()[1], flush=True)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        await stop.wait()
        srv.close()

    asyncio.run(main())


def cmd_receive(a):
    records = []  # (t_ns, head bytes, body bytes): parsed only at the end

    def on_request(transport, t, head, body):
        records.append((t, head, body))
        transport.write(RESP)

    serve(on_request)
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
        # The activities are core_client's (the ~1 KB ones every phase sends),
        # grouped per_request to a body; their ids find the deliveries again.
        with open(a.activities) as f:
            lines = [ln.strip() for ln in f if ln.strip()]
        if len(lines) < n:
            raise SystemExit("delivery_bench: %s holds %d activities, %d needed" % (a.activities, len(lines), n))
        ids = [json.loads(ln)["id"] for ln in lines[:n]]
        bodies = [('{"activities":[' + ",".join(lines[k * a.per_request:(k + 1) * a.per_request]) + "]}").encode()
                  for k in range(nreq)]
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

    want = set(ids)
    arrivals = {}
    dups = 0
    with open(out_path) as f:
        for line in f:
            r = json.loads(line)
            aid = r["activity_id"]
            if not aid or aid not in want:
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
            r = arrivals.get(ids[k * a.per_request + i])
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


def cmd_slow(a):
    """Holds each request a.hold_ms, then answers 200; counts what it held."""
    held = [0, 0, 0]  # now, at most, in all

    def answer(transport):
        held[0] -= 1
        if not transport.is_closing():
            transport.write(RESP)

    def on_request(transport, t, head, body):
        held[0] += 1
        held[1] = max(held[1], held[0])
        held[2] += 1
        asyncio.get_running_loop().call_later(a.hold_ms / 1000.0, answer, transport)

    serve(on_request)
    with open(a.out, "w") as f:
        json.dump({"held_max": held[1], "received": held[2], "hold_ms": a.hold_ms}, f)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("latency")
    s.add_argument("--base", required=True, help="hookd's http://127.0.0.1:PORT")
    s.add_argument("--key", required=True)
    s.add_argument("--webhook", required=True)
    s.add_argument("--activities", required=True, help="JSON lines, one activity each (core_client activities)")
    s.add_argument("--work", required=True, help="a directory for the receiver's record")
    s.add_argument("--per-request", type=int, default=10)
    s.add_argument("--interval-ms", type=float, default=10)
    s.add_argument("--seconds", type=float, default=10)
    s.add_argument("--senders", type=int, default=4, help="ingest connections taking the ticks")
    s.add_argument("--timeout", type=float, default=30, help="wait at most this long for the last deliveries")
    s = sub.add_parser("receive")
    s.add_argument("--out", required=True)
    s = sub.add_parser("slow")
    s.add_argument("--out", required=True)
    s.add_argument("--hold-ms", type=float, default=10000)
    a = p.parse_args()
    {"latency": cmd_latency, "receive": cmd_receive, "slow": cmd_slow}[a.cmd](a)


if __name__ == "__main__":
    main()
