"""Abuse limits of the API (docs/security.md): a flood of slow connections from
one client address does not stop another client from being served, slow
clients are closed at a deadline that trickled bytes do not restart, an
oversized head and a deeply nested body are refused with clear errors,
--api-rate-limit answers 429 with Retry-After per client address, and the
API can be served over TLS.

Client addresses: Linux routes all of 127.0.0.0/8 to the loopback
interface, so a socket bound to 127.0.0.2 before it connects is, to hookd,
another client than one on 127.0.0.1."""

import http.client
import json
import os
import resource
import select
import socket
import statistics
import subprocess
import time

import pytest
import requests

from conftest import BACKEND, Hookd, assert_error, run_hookd

ATTACKERS = 4200          # the figure: more than the old global cap of 4,096
PER_CLIENT_DEFAULT = 128  # --api-connections-per-client's default
HEAD_DEADLINE_S = 10      # the head is due within min(10 s, --api-request-deadline)
TRICKLE_S = 15            # the attacker sends a byte every 15 s
OTHER = "127.0.0.2"       # the other client's address


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            pytest.fail(f"this test needs {need} open files; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def timed_get(port, path, key=None, source=OTHER, timeout=10):
    """One GET on a new connection from source; (status, body, seconds)."""
    t0 = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                   source_address=(source, 0))
    try:
        c.request("GET", path, headers={"Authorization": f"Bearer {key}"} if key else {})
        r = c.getresponse()
        body = r.read()
        return r.status, body, time.monotonic() - t0
    finally:
        c.close()


def raw_request(port, data, source="127.0.0.1", timeout=10):
    """Sends raw bytes; returns the status line and headers and body text."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                 source_address=(source, 0))
    try:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            head, sep, body = out.partition(b"\r\n\r\n")
            if sep:
                n = [int(v) for k, v in (ln.split(b":", 1) for ln in head.split(b"\r\n")[1:])
                     if k.strip().lower() == b"content-length"]
                if n and len(body) >= n[0]:
                    break
        return out
    finally:
        s.close()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def closed_by_peer(sock):
    """True if the server has closed sock (EOF, reset), without blocking."""
    sock.setblocking(False)  # with a timeout set, Python would wait for data first
    try:
        return sock.recv(4096, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def open_attack(port, n):
    """n connections from 127.0.0.1, each having sent the first byte of a
    request. hookd may close any of them at once: those are counted too."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", port))
            s.send(b"G")
        except OSError:
            pass  # refused or reset on the way: the server turned it away
        socks.append(s)
    return socks


def trickle(socks, byte=b"E"):
    for s in socks:
        try:
            s.send(byte, socket.MSG_DONTWAIT)
        except OSError:
            pass


def still_open(socks):
    """The sockets hookd has not closed; those it closed are closed here too
    (and left out of socks) so the test's own descriptors are freed."""
    keep = []
    for sk in socks:
        if closed_by_peer(sk):
            sk.close()
        else:
            keep.append(sk)
    socks[:] = keep
    return keep


@pytest.mark.store_independent("the listener's connection limits and deadlines")
def test_slow_flood_from_one_address_leaves_the_api_to_others(servers):
    """4,200 connections from 127.0.0.1, each trickling a byte every 15 s: a
    client on 127.0.0.2 is still served /healthz and an authenticated call
    within 100 ms; the flood holds no more than the per-client cap open at
    any time, none past the head deadline, and hookd's memory stays
    bounded."""
    raise_nofile(ATTACKERS + 512)
    s = servers.start()
    # A warm baseline: the first calls fault in code and the store's pages.
    for _ in range(20):
        timed_get(s.port, "/api/v1/webhooks", key=s.api_key)
    base_rss = rss_kib(s.proc.pid)
    samples, statuses, peak_rss, held = [], [], base_rss, []
    t0 = time.monotonic()
    socks = open_attack(s.port, ATTACKERS)
    opened_s = time.monotonic() - t0
    try:
        trickled = False
        while time.monotonic() - t0 < HEAD_DEADLINE_S + 8:
            for path, key in (("/healthz", None), ("/api/v1/webhooks", s.api_key)):
                try:
                    status, _, secs = timed_get(s.port, path, key=key, timeout=2)
                except OSError as e:  # not served within 2 s: the API is down for us
                    status, secs = f"{path}: {e!r}", 2.0
                statuses.append(status)
                samples.append(secs)
            peak_rss = max(peak_rss, rss_kib(s.proc.pid))
            held.append((time.monotonic() - t0, len(still_open(socks))))
            if not trickled and time.monotonic() - t0 >= TRICKLE_S:
                trickle(socks)
                trickled = True
            time.sleep(0.2)
        left = len(still_open(socks))
    finally:
        for sk in socks:
            sk.close()
    assert s.alive()
    print(f"opened in {opened_s:.2f} s; {len(samples)} samples, median "
          f"{statistics.median(samples) * 1000:.1f} ms, max {max(samples) * 1000:.1f} ms; "
          f"held {held[:3]}...{held[-2:]}; VmRSS {base_rss} -> {peak_rss} KiB")
    assert set(statuses) == {200}, statuses
    samples.sort()
    # All but the slowest 2 % of samples (at least one) within 100 ms: the
    # machine is shared with other test runs, so a sample may meet a
    # descheduled process; every one within 1 s, so nobody was stalled.
    p98 = samples[int(len(samples) * 0.98) - 1]
    assert p98 < 0.100, (f"98th percentile {p98 * 1000:.1f} ms, median "
                         f"{statistics.median(samples) * 1000:.1f} ms over {len(samples)}")
    assert samples[-1] < 1.0, f"slowest {samples[-1]:.3f} s"
    # The attacker never holds more than the per-client cap.
    assert max(n for _, n in held) <= PER_CLIENT_DEFAULT, held
    # Whatever it held was closed at the head deadline (plus a reaper tick
    # and the time it took to open them), though it kept sending.
    assert left == 0, (left, held)
    # Memory: what one client can hold is the per-client cap of connections,
    # each with libmicrohttpd's pool (32 KiB) and a little of hookd's: 4 MiB.
    # Measured growth over the warm baseline: 0.4 MiB, 9 MiB under ASan
    # (whose quarantine keeps what the test's ~170 requests freed). 24 MiB
    # leaves room for that and is far below what 4,200 held connections
    # would cost (4,200 x 32 KiB = 131 MiB of pools alone).
    grown_mib = (peak_rss - base_rss) / 1024
    assert grown_mib < 24, f"VmRSS grew by {grown_mib:.1f} MiB (opened in {opened_s:.1f} s)"


def slow_socket(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s


def seconds_until_closed(s, first, step, limit):
    """Sends first, then one byte of step every 0.25 s until hookd closes
    the connection; the seconds it took, or None past limit."""
    t0 = time.monotonic()
    s.sendall(first)
    while time.monotonic() - t0 < limit:
        if closed_by_peer(s):
            return time.monotonic() - t0
        try:
            s.send(step)
        except OSError:
            return time.monotonic() - t0
        time.sleep(0.25)
    return None


@pytest.mark.store_independent("the listener's connection limits and deadlines")
@pytest.mark.parametrize("first,step", [
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"X"),   # a head that never ends
    (b"POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
     b"Authorization: Bearer KEY\r\nContent-Length: 100000\r\n\r\n", b" "),  # a body

], ids=["head", "body"])
def test_trickling_client_is_closed_at_the_deadline(servers, first, step):
    """With --api-request-deadline 2s, a client that sends a byte every
    0.25 s (which restarts libmicrohttpd's idle timer every time) is closed
    about 2 s after it started, and hookd goes on serving."""
    s = servers.start(args=["--api-request-deadline", "2s"])
    sock = slow_socket(s.port)
    try:
        secs = seconds_until_closed(sock, first.replace(b"KEY", s.api_key.encode()), step,
                                    limit=10)
    finally:
        sock.close()
    assert secs is not None, "hookd kept a trickling connection open for 10 s"
    # 2 s, plus at most one reaper tick (0.5 s at this deadline) and slack.
    assert 1.8 <= secs <= 4.5, secs
    assert timed_get(s.port, "/healthz")[0] == 200


@pytest.mark.store_independent("the listener's connection limits and deadlines")
def test_idle_keep_alive_connection_trickling_its_next_request_is_closed(servers):
    """After a complete request, a connection that trickles its next request
    line is closed within the idle wait (the deadline) plus the head's."""
    s = servers.start(args=["--api-request-deadline", "2s"])
    sock = slow_socket(s.port)
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        secs = seconds_until_closed(sock, b"G", b"E", limit=10)
    finally:
        sock.close()
    assert secs is not None, "hookd kept a trickling keep-alive connection open for 10 s"
    assert secs <= 2 + 0.5 + 1.5, secs


@pytest.mark.store_independent("the listener's connection limits and deadlines")
def test_a_slow_but_steady_client_within_the_deadline_is_served(servers):
    """The deadline is for the whole request: a head sent in pieces that
    completes in time is answered."""
    s = servers.start(args=["--api-request-deadline", "3s"])
    sock = slow_socket(s.port)
    try:
        for part in (b"GET /heal", b"thz HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n"):
            sock.sendall(part)
            time.sleep(0.3)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        sock.close()


def test_oversized_head_is_431_json(server):
    key = server.api_key
    url = server.url + "/api/v1/webhooks"
    ok = requests.get(url, headers={"Authorization": f"Bearer {key}", "X-Pad": "a" * 15000},
                      timeout=10)
    assert ok.status_code == 200, ok.text
    r = requests.get(url, headers={"Authorization": f"Bearer {key}", "X-Pad": "a" * 17000},
                     timeout=10)
    assert_error(r, 431, "too_large", None)
    assert "16384" in r.json()["error"]["message"]
    # Many small headers count as much as one big one.
    many = {f"X-Pad-{i}": "a" * 100 for i in range(160)}
    r = requests.get(url, headers={"Authorization": f"Bearer {key}", **many}, timeout=10)
    assert_error(r, 431, "too_large", None)
    # Past libmicrohttpd's per-connection memory, it refuses by itself: still
    # a 431 and a closed connection, never a hang or a crash.
    out = raw_request(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " +
                      b"a" * 100000 + b"\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 431"), out[:200]
    assert requests.get(server.url + "/healthz", timeout=10).status_code == 200


def nested(depth):
    return "[" * depth + "]" * depth


def test_deeply_nested_body_is_refused_before_parsing(api):
    r = api.request("POST", "/api/v1/webhooks", data='{"name":' + nested(1000) + "}",
                    headers={"Content-Type": "application/json"})
    assert_error(r, 400, "malformed_json", None)
    msg = r.json()["error"]["message"]
    assert "nest deeper than 64 levels" in msg and "line 1, column 72" in msg, msg
    # The object and 63 arrays are 64 levels: they pass, and meet the
    # ordinary checks instead. (Column 72 above: the 64th bracket, level 65.)
    r = api.request("POST", "/api/v1/webhooks", data='{"name":' + nested(63) + "}",
                    headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid")
    # Brackets inside strings are text, not nesting.
    r = api.post("/api/v1/webhooks", {"name": "[" * 1000})
    assert r.status_code != 400 or r.json()["error"]["code"] != "malformed_json", r.text
    assert api.count() == 0


def test_rate_limit_answers_429_per_client_address(servers):
    """--api-rate-limit 2: a burst of two, then 429 rate_limited with a
    Retry-After; another address is not affected, nor is /healthz; after
    Retry-After seconds the client is served again."""
    s = servers.start(args=["--api-rate-limit", "2"])
    key = s.api_key
    got = [timed_get(s.port, "/api/v1/webhooks", key=key, source="127.0.0.1")
           for _ in range(3)]
    assert [g[0] for g in got[:2]] == [200, 200], got
    assert got[2][0] == 429, got
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10,
                                   source_address=("127.0.0.1", 0))
    c.request("GET", "/api/v1/webhooks", headers={"Authorization": f"Bearer {key}"})
    r = c.getresponse()
    body = json.loads(r.read())
    assert r.status == 429
    assert r.getheader("Content-Type").startswith("application/json")
    assert body["error"]["code"] == "rate_limited", body
    retry = r.getheader("Retry-After")
    assert retry is not None and retry.isdigit() and int(retry) >= 1, retry
    c.close()
    # A request without a key is counted too (keys cannot be guessed faster).
    assert timed_get(s.port, "/api/v1/webhooks", source="127.0.0.1")[0] == 429
    assert timed_get(s.port, "/api/v1/webhooks", key=key, source=OTHER)[0] == 200
    assert timed_get(s.port, "/healthz", source="127.0.0.1")[0] == 200
    time.sleep(int(retry))
    assert timed_get(s.port, "/api/v1/webhooks", key=key, source="127.0.0.1")[0] == 200


def test_no_rate_limit_by_default(server):
    got = {timed_get(server.port, "/api/v1/webhooks", key=server.api_key,
                     source="127.0.0.1")[0] for _ in range(30)}
    assert got == {200}


# ---- TLS -------------------------------------------------------------------


def make_cert(d, name="tls"):
    cert, key = d / f"{name}.crt", d / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    return cert, key


class TlsHookd(Hookd):
    """A hookd serving https, trusted through its own self-signed cert."""

    scheme = "https"

    def __init__(self, db, ca, **kw):
        self.verify = str(ca)
        super().__init__(db, **kw)


def test_tls_listener(servers, tmp_path):
    cert, key = make_cert(tmp_path)
    db = tmp_path / "hookd.db"
    servers.stores.add(db)
    s = TlsHookd(db, cert, args=["--tls-cert", str(cert), "--tls-key", str(key)])
    servers.started.append(s)
    assert any("listening on 127.0.0.1:" in ln and "(https," in ln for ln in s.stderr_lines), \
        s.stderr_lines
    r = requests.get(s.url + "/healthz", verify=str(cert), timeout=10)
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = requests.get(s.url + "/api/v1/webhooks", verify=str(cert), timeout=10,
                     headers={"Authorization": f"Bearer {s.api_key}"})
    assert r.status_code == 200 and r.json()["webhooks"] == [], r.text
    r = requests.get(s.url + "/api/v1/webhooks", verify=str(cert), timeout=10)
    assert_error(r, 401, "unauthorized")
    # Nothing is served in clear on the TLS port.
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{s.port}/healthz", timeout=10)
    # A client that does not trust the certificate is refused by its own check.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(s.url + "/healthz", timeout=10)


def test_tls_files_that_are_not_pem_stop_hookd_with_a_clear_message(servers, tmp_path):
    """Refused at start like any bad option: status 2, a line naming the
    option, and no store made."""
    cert, key = make_cert(tmp_path)
    _, other_key = make_cert(tmp_path, "other")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    db = tmp_path / "hookd.db"
    flags = servers.store_flags(db)
    cases = [
        ([junk, key], "--tls-cert", "holds no PEM certificate"),
        ([cert, junk], "--tls-key", "holds no PEM private key"),
        ([cert, other_key], "--tls-key", "is not the key of the certificate"),
    ]
    for (c, k), opt, words in cases:
        r = run_hookd(["serve", "--listen", "127.0.0.1:0", *flags, "--tls-cert", str(c),
                       "--tls-key", str(k)], cwd=tmp_path)
        assert r.returncode == 2, r
        assert opt in r.stderr and words in r.stderr, r.stderr
        assert "listening on" not in r.stderr
        if BACKEND == "sqlite":
            assert not db.exists()


def test_open_file_limit_raised_to_the_hard_limit(servers):
    """hookd raises its soft open-file limit to the hard one at start, so its
    connection cap (half the limit, at most 4,096) is not held at 512 by a
    soft limit of 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 1024:
        pytest.skip(f"the hard open-file limit is {hard}: nothing to raise")
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    try:
        s = servers.start()  # inherits the soft limit of 1024
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    with open(f"/proc/{s.proc.pid}/limits") as f:
        line = next(ln for ln in f if ln.startswith("Max open files"))
    got_soft, got_hard = line.split()[3:5]
    assert got_soft == got_hard, line
