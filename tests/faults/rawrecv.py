"""rawrecv — a receiver on 127.0.0.1 that misbehaves on purpose, for the
fault suite's receiver scenarios, plus the few helpers they share.

http.server cannot send half an answer and then a reset, garbage instead
of a status line, or an answer that never reads its request, so this one
speaks HTTP over raw sockets, one thread per connection.  What a request
gets depends on the first segment of its path:

    /ok/...      200 at once, kept alive; every arrival is counted with its
                 time and its webhook-id and activity id (healthy)
    /hang/...    the request is read, nothing is ever answered
    /reset/...   the status line, headers promising 1000 bytes and 10 of
                 them, then a reset (SO_LINGER 0)
    /broken/...  a line of garbage where the status line belongs, then close
    /drip/...    a valid 200 answer, one byte a second
    /huge/...    200 with a 100 MB body, streamed until the client stops
                 reading
    /slow/...    200 after `slow_s` seconds (10), kept alive; counted
                 like /ok, with the time the answer was sent (answered)
    /never/...   served by a second listening socket with a small receive
                 buffer (`never_url`): connections are accepted and never
                 read, so the client's send blocks once the buffers are full

Every request but /never's is recorded (Arrival); `held()` counts the
connections being held open now.  `stop()` ends every hold and closes
every socket, so a stopped receiver never blocks teardown."""

import fcntl
import json
import os
import socket
import struct
import termios
import threading
import time

import conftest

HUGE_BYTES = 100 * 1000 * 1000
DRIP_BYTES = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
NEVER_RCVBUF = 4096  # the kernel doubles it and keeps a floor of about 2 KiB
NEVER_MSS = 536
HEAD_MAX = 64 * 1024


class Arrival:
    """One request read in full."""

    def __init__(self, kind, path, headers, body, t):
        self.kind = kind  # the first path segment: "ok", "hang", …
        self.path = path
        self.headers = headers  # {lower-case name: value}
        self.body = body
        self.time = t  # time.time() when the request had been read
        self.webhook_id = headers.get("webhook-id")  # the delivery id
        self.answered = None  # time.time() when a slow answer was sent
        self.activity_id = None
        self.is_test = False
        try:
            doc = json.loads(body) if body else None
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            self.is_test = doc.get("test") is True
            a = doc.get("activity")
            if isinstance(a, dict):
                self.activity_id = a.get("id")


class RawReceiver:
    def __init__(self):
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._arrivals = []
        self._socks = set()  # every accepted socket still open
        self._held = 0
        self.slow_s = 10.0
        self.lsock = self._listen(None)
        self.port = self.lsock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.never = self._listen(NEVER_RCVBUF)
        self.never_url = f"http://127.0.0.1:{self.never.getsockname()[1]}"
        self.never_accepted = 0
        # (bytes in this socket's receive buffer, bytes in the client
        # socket's send queue) of each never-read connection after 1 s:
        # with a request larger than both, the client still holds the rest
        # itself, its send blocked
        self.never_queued = []
        self.huge_sent = []  # bytes of the 100 MB body sent, per connection
        self._threads = [threading.Thread(target=self._accept, args=(self.lsock, self._serve),
                                          daemon=True),
                         threading.Thread(target=self._accept, args=(self.never, self._never),
                                          daemon=True)]
        for t in self._threads:
            t.start()

    @staticmethod
    def _listen(rcvbuf):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf:
            # set on the listening socket so the accepted ones inherit it
            # (and the window it announces) from the handshake on
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            # a small MSS too: Linux sizes the client's send buffer from the
            # MSS (64 KiB on loopback, which makes it megabytes), so with
            # this one a request of a few hundred KiB cannot all leave
            # hookd's process and its send blocks
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, NEVER_MSS)
        s.bind(("127.0.0.1", 0))
        s.listen(1024)
        s.settimeout(0.2)
        return s

    # -- reading ------------------------------------------------------------

    def arrivals(self, kind=None, tests=False):
        with self._lock:
            out = list(self._arrivals)
        return [a for a in out if (kind is None or a.kind == kind) and (tests or not a.is_test)]

    def held(self):
        """Connections held open now by hang, drip, huge and never."""
        with self._lock:
            return self._held

    def stop(self):
        self._stopped.set()
        for t in self._threads:
            t.join(timeout=5)
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.close()
            except OSError:
                pass
        self.lsock.close()
        self.never.close()

    # -- serving ------------------------------------------------------------

    def _accept(self, lsock, serve):
        while not self._stopped.is_set():
            try:
                conn, _ = lsock.accept()
            except (socket.timeout, OSError):
                continue
            with self._lock:
                self._socks.add(conn)
            threading.Thread(target=self._run, args=(conn, serve), daemon=True).start()

    def _run(self, conn, serve):
        try:
            serve(conn)
        except OSError:
            pass  # the client went away (a timeout, hookd stopped)
        finally:
            with self._lock:
                self._socks.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def _hold(self, seconds=None):
        """Waits until stop (or seconds), counted in held()."""
        with self._lock:
            self._held += 1
        try:
            self._stopped.wait(seconds)
        finally:
            with self._lock:
                self._held -= 1

    def _never(self, conn):
        with self._lock:
            self.never_accepted += 1
        self._hold(1.0)
        if not self._stopped.is_set():
            # what reached this socket's buffer: less than the request means
            # the rest is still in the client's hands, its send blocked
            n = struct.unpack("i", fcntl.ioctl(conn, termios.FIONREAD, b"\0\0\0\0"))[0]
            out = _tx_queue(conn.getpeername()[1], conn.getsockname()[1])
            with self._lock:
                self.never_queued.append((n, out))
            self._hold()

    def _read_request(self, conn, buf):
        """(method, path, headers, body, rest) of the next request on conn,
        or None once the client has closed."""
        while b"\r\n\r\n" not in buf:
            if len(buf) > HEAD_MAX:
                return None
            chunk = conn.recv(65536)
            if not chunk:
                return None
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length") or 0)
        while len(buf) < n:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            buf += chunk
        return method, path, headers, buf[:n], buf[n:]

    def _serve(self, conn):
        conn.settimeout(None)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        while not self._stopped.is_set():
            req = self._read_request(conn, buf)
            if req is None:
                return
            method, path, headers, body, buf = req
            kind = path.lstrip("/").split("/", 1)[0]
            a = Arrival(kind, path, headers, body, time.time())
            with self._lock:
                self._arrivals.append(a)
            if kind == "slow" and not a.is_test:
                self._hold(self.slow_s)
                if self._stopped.is_set():
                    return
                a.answered = time.time()
            if kind in ("ok", "slow") or a.is_test:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                continue
            getattr(self, "_" + kind.replace("-", "_"), self._unknown)(conn)
            return  # every fault ends its connection

    def _unknown(self, conn):
        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    def _hang(self, conn):
        self._hold()

    def _reset(self, conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                     b"Content-Length: 1000\r\n\r\n0123456789")
        time.sleep(0.05)  # let the client read what was sent before the reset
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    def _broken(self, conn):
        conn.sendall(b"SURPRISE! this is not HTTP\r\n\r\n")
        conn.shutdown(socket.SHUT_WR)
        time.sleep(0.05)

    def _drip(self, conn):
        with self._lock:
            self._held += 1
        try:
            for i in range(len(DRIP_BYTES)):
                if self._stopped.wait(1.0 if i else 0):
                    return
                conn.sendall(DRIP_BYTES[i:i + 1])
        finally:
            with self._lock:
                self._held -= 1

    def _huge(self, conn):
        with self._lock:
            self._held += 1
        try:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         b"Content-Length: %d\r\n\r\n" % HUGE_BYTES)
            chunk = b"x" * 65536
            sent = 0
            try:
                while sent < HUGE_BYTES and not self._stopped.is_set():
                    sent += conn.send(chunk[:min(len(chunk), HUGE_BYTES - sent)])
            finally:
                with self._lock:
                    self.huge_sent.append(sent)
        finally:
            with self._lock:
                self._held -= 1


def _tx_queue(local_port, remote_port):
    """The send queue (bytes) of the loopback TCP socket local_port →
    remote_port, from /proc/net/tcp (hookd's end of a connection, seen from
    outside the process); 0 if it is not found."""
    want = f":{local_port:04X}", f":{remote_port:04X}"
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            p = line.split()
            if p[1].endswith(want[0]) and p[2].endswith(want[1]):
                return int(p[4].split(":")[0], 16)
    return 0


# ---------------------------------------------------------------------------
# helpers the receiver scenarios share


def start_hookd(ctx, args):
    """A conftest.Hookd on ctx's backend with a fresh store in ctx.workdir.
    conftest reads its backend once, at import, and sets up PostgreSQL only
    under pytest: the runner may run both backends in one process, so both
    are set here from ctx."""
    conftest.BACKEND = ctx.backend
    if ctx.backend == "postgres" and conftest.PG is None:
        conftest.PG = conftest.Postgres(ctx.admin_url or os.environ[conftest.ADMIN_URL_ENV])
    return conftest.Hookd(ctx.workdir / "hookd.db", args=args)


def stop_hookd(h):
    """Stops h (SIGTERM, exit 0 expected) and drops its store."""
    try:
        if h.alive():
            h.stop()
    finally:
        conftest.drop_store(h.db)


def person(api, email="fault@example.com"):
    r = api.post("/api/v1/people/merge", {"people": [{"fields": {"str::email": email}}]})
    assert r.status_code == 200, r.text
    return r.json()["people"][0]["contact_id"]


def ingest(api, cid, items, attr=None):
    """Posts [(activity id, field_id), …] for contact cid, each with attr if
    given; returns the time the 202 arrived.  Raises unless every one was
    accepted as new."""
    body = {"activities": [{"id": aid, "field_id": fid, "contact": {"contact_id": cid},
                            **({"attr": attr} if attr else {})} for aid, fid in items]}
    r = api.post("/api/v1/activities", body, timeout=30)
    t = time.time()
    assert r.status_code == 202, r.text
    assert not any(a["duplicate"] for a in r.json()["activities"]), r.text
    return t


def log_entries(api, wid, kind="activity"):
    """Every log entry of webhook wid of that kind (None: any), page by
    page."""
    from test_engine import all_entries
    return [e for e in all_entries(api, wid) if kind is None or e["kind"] == kind]


def parse_ts(s):
    """Seconds since the epoch of an answer's time (…T18:53:44.130Z)."""
    import datetime
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def stuck(entries, now, grace):
    """Entries waiting (pending/retrying) whose next attempt was due more
    than grace seconds ago."""
    n = 0
    for e in entries:
        if e["state"] in ("pending", "retrying") and e.get("next_attempt_at") and \
                parse_ts(e["next_attempt_at"]) < now - grace:
            n += 1
    return n


def percentile(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def p50_p99_ms(xs):
    """(p50, p99) of xs seconds in whole ms, or None for none."""
    if not xs:
        return None
    return (round(percentile(xs, 50) * 1000), round(percentile(xs, 99) * 1000))


def state_counts(entries):
    """{state: how many} of log entries."""
    out = {}
    for e in entries:
        out[e["state"]] = out.get(e["state"], 0) + 1
    return out


class Stream:
    """A steady stream of activities of field_id: rate a second, one ingest
    every `tick` seconds; remembers the time of each activity's 202."""

    def __init__(self, api, cid, field_id, rate, tick=0.1):
        self.api, self.cid, self.field_id = api, cid, field_id
        self.per = max(1, int(rate * tick))
        self.tick = tick
        self.sent = {}  # activity id -> time of the 202
        self.n = 0

    def run_for(self, phase, seconds, until=None, limit=240):
        """Streams for seconds (with until: and then until it returns true,
        at most limit seconds in all; until is called on every tick);
        returns (start, end, ids sent)."""
        start = time.time()
        ids = []
        nxt = start
        while True:
            now = time.time()
            done = until() if until else True  # asked every tick, so it can watch
            if now - start >= limit or (now - start >= seconds and done):
                break
            batch = [f"{phase}-{self.n + i}" for i in range(self.per)]
            self.n += self.per
            t = ingest(self.api, self.cid, [(a, self.field_id) for a in batch])
            for a in batch:
                self.sent[a] = t
            ids += batch
            nxt += self.tick
            time.sleep(max(0.0, nxt - time.time()))
        return start, time.time(), ids


def phase_figures(arrivals, ids, start, end):
    """(deliveries a second that arrived within [start, end + 0.5 s], and
    {activity id: first arrival time}) of one webhook's arrivals for the
    activities ids, streamed from start to end."""
    want = set(ids)
    got = {}
    for a in arrivals:
        if a.activity_id in want and a.activity_id not in got:
            got[a.activity_id] = a.time
    in_window = sum(1 for t in got.values() if start <= t <= end + 0.5)
    return in_window / (end - start), got


class MemSampler:
    """Samples VmRSS and VmHWM of pid from /proc every `every` seconds, on
    a thread, until stop(); peak_rss_mb and hwm_mb in MiB."""

    def __init__(self, pid, every=0.05):
        self.pid = pid
        self.every = every
        self.samples = []  # (time, rss_kb)
        self.hwm_kb = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def read(self):
        rss = hwm = None
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1])
                    elif line.startswith("VmHWM:"):
                        hwm = int(line.split()[1])
        except OSError:
            pass
        return rss, hwm

    def _run(self):
        while not self._stop.is_set():
            rss, hwm = self.read()
            if rss is not None:
                self.samples.append((time.time(), rss))
                self.hwm_kb = max(self.hwm_kb, hwm or 0)
            self._stop.wait(self.every)

    def stop(self):
        self._stop.set()
        self._t.join(timeout=5)

    def rss_mb(self):
        rss, _ = self.read()
        return (rss or 0) / 1024

    @property
    def peak_rss_mb(self):
        return max((s for _, s in self.samples), default=0) / 1024

    @property
    def hwm_mb(self):
        return self.hwm_kb / 1024


def sanitized(binary):
    """Whether binary is the ASan build (more memory, slower)."""
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()
