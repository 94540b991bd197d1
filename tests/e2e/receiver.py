"""A scriptable HTTP receiver on loopback for the delivery tests.

Every request is recorded, in arrival order, with its method, target, raw
header list (names as sent, in the order sent), body bytes and arrival time.
What each path answers is scripted: a list of actions used one per request, in
order, the last one repeating.  An action is one of

    200                                  a status with a short body
    ("status", code, body, {headers})    a status, body bytes and extra headers
    ("delay", seconds, action)           wait, then do action
    ("redirect", location)               302 with that Location
    "hang"                               answer nothing for a long time, then close
    "reset"                              close the connection without answering (RST)
    ("cut", code, body, rst)             the status line and headers promising more bytes
                                         than body, body, then the connection ends (with
                                         a reset when rst, else an orderly close)
    a callable                           called with the Received request; does the
                                         action it returns (answers that depend on
                                         the payload, or drawn at random)

Unscripted paths answer 200.  `delay` (seconds) slows every request down before
its action, for tests that need a delivery run to take a while.  `held()`
counts the requests being handled right now (read, neither answered nor
dropped yet): how many connections a hanging path holds open.

Paths are matched without the query string.  Waits ("delay", "hang") end early
when the receiver stops, so a stopped receiver never blocks teardown."""

import http.server
import json
import socket
import struct
import threading
import time
import urllib.parse

import pytest

HANG_SECONDS = 30  # longer than any --request-timeout a test uses


class Received:
    """One recorded request."""

    def __init__(self, method, target, headers, body, t, peer):
        self.method = method
        self.target = target  # path and query as sent
        split = urllib.parse.urlsplit(target)
        self.path = split.path
        self.query = split.query
        self.headers = headers  # [(name, value)] as sent, in order
        self.body = body  # bytes
        self.time = t  # time.time() at arrival (headers and body read)
        self.peer = peer  # (host, port) of the client connection
        self.answered_at = None  # time.time() when the answer began, if any
        # is_test: a test payload ("test": true at the top level of the JSON
        # body, or test=true in the query); activity_id: the payload's
        # activity.id, or None
        self.is_test, self.activity_id = self._parse()

    def header(self, name):
        """The value of the first header called name (any case), or None."""
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def header_names(self):
        return [k for k, _ in self.headers]

    def json(self):
        return json.loads(self.body)

    def query_pairs(self):
        return urllib.parse.parse_qsl(self.query, keep_blank_values=True)

    def _parse(self):
        """(is_test, activity_id) from the JSON body or, without a body, the
        query (GET/DELETE webhooks)."""
        if self.body:
            try:
                doc = json.loads(self.body)
            except ValueError:
                return False, None
            if not isinstance(doc, dict):
                return False, None
            act = doc.get("activity")
            return doc.get("test") is True, act.get("id") if isinstance(act, dict) else None
        pairs = self.query_pairs()
        return ("test", "true") in pairs, dict(pairs).get("activity.id")

    def __repr__(self):
        return (f"<{self.method} {self.target} at {self.time:.3f} "
                f"headers={self.headers!r} body={self.body[:200]!r}>")


class _Drop(Exception):
    """Raised by a handler that closed its connection on purpose."""


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    # an answer is written as headers then body; with Nagle on, the body
    # waits for the client's delayed ACK (~40 ms) on every kept-alive request
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def handle(self):
        try:
            super().handle()
        except (_Drop, ConnectionError, TimeoutError):
            pass

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = b""
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline(65537)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _handle(self):
        recv = self.server.receiver
        body = self._read_body()
        req = Received(self.command, self.path, list(self.headers.items()), body, time.time(),
                       self.client_address)
        action = recv._record(req)
        try:
            if recv.delay:
                recv._stopped.wait(recv.delay)
            self._act(action, req)
        finally:
            recv._release()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def _act(self, action, req):
        recv = self.server.receiver
        if callable(action):
            return self._act(action(req), req)
        if isinstance(action, int):
            return self._answer(req, action, b"status %d" % action, {})
        if action == "hang":
            recv._stopped.wait(HANG_SECONDS)
            return self._drop(rst=False)
        if action == "reset":
            return self._drop(rst=True)
        kind = action[0]
        if kind == "status":
            _, code, body, *rest = action
            return self._answer(req, code, body, rest[0] if rest else {})
        if kind == "delay":
            recv._stopped.wait(action[1])
            return self._act(action[2], req)
        if kind == "redirect":
            return self._answer(req, 302, b"", {"Location": action[1]})
        if kind == "cut":
            return self._cut(req, *action[1:])
        raise ValueError(f"unknown receiver action {action!r}")

    def _answer(self, req, code, body, headers):
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        if code >= 200 and code not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        else:
            body = b""
        # stamped before the answer is written, so it is set before the
        # client can have read any of it
        req.answered_at = time.time()
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _cut(self, req, code, body, rst):
        """An answer cut short: Content-Length says 100 bytes more than body."""
        self.send_response(code)
        self.send_header("Content-Length", str(len(body) + 100))
        req.answered_at = time.time()
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        # the client reads what came before the end does (a reset may
        # otherwise overtake it)
        self.server.receiver._stopped.wait(0.2)
        self._drop(rst)

    def _drop(self, rst):
        """Closes the connection without an answer; with rst, abortively
        (SO_LINGER 0: the peer sees a reset, not an orderly end)."""
        sock = self.connection
        if rst:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        for f in (self.wfile, self.rfile):
            try:
                f.close()
            except (OSError, ValueError):
                pass
        sock.close()
        raise _Drop()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # a client that went away (hookd killed, a timeout) is no error of ours
        pass


class Receiver:
    """backlog: the listen queue; raise it for tests where hookd opens
    hundreds of connections at once (a full queue drops SYNs, which the
    client resends only a second later)."""

    def __init__(self, host="127.0.0.1", family=socket.AF_INET, backlog=None):
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._stopped = threading.Event()
        self._scripts = {}  # path -> [actions], consumed
        self._requests = []
        self._activity_ids = set()
        self._held = 0  # requests read and not yet answered or dropped
        self.delay = 0.0
        cls = _Server
        if family != socket.AF_INET:
            cls = type("_Server6", (_Server,), {"address_family": family})
        if backlog is not None:
            cls = type("_ServerB", (cls,), {"request_queue_size": backlog})
        self.srv = cls((host, 0), _Handler)
        self.srv.receiver = self
        self.port = self.srv.server_address[1]
        h = f"[{host}]" if ":" in host else host
        self.url = f"http://{h}:{self.port}"
        self._thread = threading.Thread(target=self.srv.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    # -- scripting ----------------------------------------------------------

    def script(self, path, actions):
        """What path answers from now on: actions one per request, the last
        repeating.  A bare action stands for [action]."""
        if not isinstance(actions, list):
            actions = [actions]
        assert actions, "a script needs at least one action"
        with self._lock:
            self._scripts[path] = list(actions)

    def _record(self, req):
        with self._cond:
            self._requests.append(req)
            self._held += 1
            aid = req.activity_id
            if aid is not None and not req.is_test:
                self._activity_ids.add(aid)
            actions = self._scripts.get(req.path)
            if not actions:
                action = 200
            elif len(actions) > 1:
                action = actions.pop(0)
            else:
                action = actions[0]
            self._cond.notify_all()
        return action

    def _release(self):
        with self._cond:
            self._held -= 1
            self._cond.notify_all()

    # -- reading ------------------------------------------------------------

    def requests(self, path=None, tests=False):
        """Recorded requests in arrival order; path filters by path (no
        query); test payloads are left out unless tests=True (tests="only"
        keeps only them)."""
        with self._lock:
            reqs = list(self._requests)
        if path is not None:
            reqs = [r for r in reqs if r.path == path]
        if tests == "only":
            return [r for r in reqs if r.is_test]
        if not tests:
            reqs = [r for r in reqs if not r.is_test]
        return reqs

    def count(self, path=None, tests=False):
        return len(self.requests(path, tests))

    def held(self):
        """How many requests are being handled now: read, and neither
        answered nor dropped yet (a hanging path's open requests)."""
        with self._lock:
            return self._held

    def activity_ids(self):
        """The distinct activity.id values received (test payloads left out)."""
        with self._lock:
            return set(self._activity_ids)

    def wait(self, predicate, timeout=10):
        """Waits until predicate(self) is true (re-checked on every request
        and at least every 50 ms); returns its value or raises AssertionError."""
        deadline = time.monotonic() + timeout
        while True:
            v = predicate(self)
            if v:
                return v
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"receiver: condition not met within {timeout}s; received "
                    f"{len(self._requests)} requests, the last: {self._requests[-5:]!r}")
            with self._cond:
                self._cond.wait(min(left, 0.05))

    def wait_count(self, n, path=None, tests=False, timeout=10):
        """Waits until at least n requests match; returns them."""
        return self.wait(lambda r: (lambda got: got if len(got) >= n else None)(
            r.requests(path, tests)), timeout)

    def clear(self):
        with self._lock:
            self._requests.clear()
            self._activity_ids.clear()

    def stop(self):
        self._stopped.set()
        self.srv.shutdown()
        self.srv.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()
