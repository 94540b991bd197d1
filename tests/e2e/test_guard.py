"""The outbound guard (docs/api.md#delivery, docs/configuration.md): every spelling of a refused
address, --allow-networks, a host with a refused and an allowed address,
--proxy (hookd resolves, judges and pins; never a proxy from the
environment), --https-only and --ca-file.

Listeners here count the connections they accept, so "refused" means no
connection was ever made, not only that hookd logged a refusal."""

import os
import select
import socket
import socketserver
import ssl
import subprocess
import threading
import http.server
from pathlib import Path

import pytest

from conftest import _Sink, assert_error, run_hookd
from receiver import receiver  # noqa: F401  (a fixture)
from test_delivery import (FAST, act, entry_of, ingest, ipv6_loopback_problem, person,
                           wait_delivery, wait_for)

HERE = Path(__file__).resolve().parent


# ---------------------------------------------------------------------------
# listeners that count


class CountingServer:
    """An HTTP server on host that counts every connection it accepts and
    answers every request 200."""

    def __init__(self, host="127.0.0.1", port=0, family=socket.AF_INET, context=None):
        self.accepted = 0
        self.requests = []  # (method, path, Host header)
        self._lock = threading.Lock()
        outer = self

        class Handler(_Sink):
            def _answer(self):
                with outer._lock:
                    outer.requests.append((self.command, self.path, self.headers.get("Host")))
                _Sink._answer(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            address_family = family

            def get_request(self):
                conn, addr = self.socket.accept()
                with outer._lock:
                    outer.accepted += 1
                if context is not None:
                    conn = context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
                return conn, addr

            def handle_error(self, request, client_address):
                pass  # a TLS handshake refused by hookd is what some tests expect

        if family == socket.AF_INET6:
            Server.allow_reuse_address = True
        self.srv = Server((host, port), Handler)
        self.port = self.srv.server_address[1]
        self._thread = threading.Thread(target=self.srv.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


@pytest.fixture
def listener():
    s = CountingServer()
    yield s
    s.stop()


class ConnectProxy:
    """A small HTTP proxy that counts requests. CONNECT host:port opens a
    tunnel (to 127.0.0.1 and ::1 only: it is a test proxy); any other request
    is answered 502, so a proxy used without a tunnel shows."""

    def __init__(self):
        self.requests = []  # request lines, as received
        self._lock = threading.Lock()
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                line = self.rfile.readline(65536).decode("latin-1").rstrip("\r\n")
                with outer._lock:
                    outer.requests.append(line)
                while self.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
                    pass
                parts = line.split(" ")
                if len(parts) != 3 or parts[0] != "CONNECT":
                    self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                    return
                host, _, port = parts[1].rpartition(":")
                host = host.strip("[]")
                if host not in ("127.0.0.1", "::1"):
                    self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                    return
                try:
                    up = socket.create_connection((host, int(port)), timeout=5)
                except OSError:
                    self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                    return
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self.wfile.flush()
                self._pipe(self.connection, up)

            def _pipe(self, a, b):
                socks = [a, b]
                try:
                    while True:
                        r, _, _ = select.select(socks, [], [], 10)
                        if not r:
                            return
                        for s in r:
                            data = s.recv(65536)
                            if not data:
                                return
                            (b if s is a else a).sendall(data)
                except OSError:
                    pass
                finally:
                    b.close()

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.srv = Server(("127.0.0.1", 0), Handler)
        self.port = self.srv.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def count(self):
        with self._lock:
            return len(self.requests)

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


@pytest.fixture
def proxy():
    p = ConnectProxy()
    yield p
    p.stop()


def hook(api, url, name="g"):
    r = api.post("/api/v1/webhooks", {"name": name, "url": url, "activities": ["act::s"]})
    assert r.status_code == 201, r.text
    return r.json()


def deliver_one(api, wh, aid, state):
    [got] = ingest(api, [act(person(api), aid)])
    return wait_delivery(api, wh["id"], got, state)


# ---------------------------------------------------------------------------
# every spelling of loopback


# (spelling, reaches 127.0.0.1 when allowed: the control below)
SPELLINGS = [
    ("2130706433", True),
    ("0x7f000001", True),
    ("0x7f.0.0.1", True),
    ("0177.0.0.1", True),
    ("127.1", True),
    ("127.0.1", True),
    ("[::ffff:127.0.0.1]", True),
    ("[::ffff:7f00:1]", True),
    ("[64:ff9b::7f00:1]", False),  # NAT64: needs a gateway to reach 127.0.0.1
    ("[2002:7f00:1::]", False),  # 6to4: needs a relay
    ("localhost", True),
]


def test_spellings_reach_the_listener_when_allowed(servers, listener):
    """The control: each spelling that names 127.0.0.1 really reaches the
    listener when the guard is open, so the refusals below are the guard's."""
    if ipv6_loopback_problem():
        pytest.skip(f"IPv6 forms need IPv6: {ipv6_loopback_problem()}")
    api = servers.start(args=FAST).client()
    for host, reaches in SPELLINGS:
        if not reaches:
            continue
        before = listener.accepted
        wh = hook(api, f"http://{host}:{listener.port}/ctl")
        assert wh["test"]["ok"] is True, (host, wh["test"])
        assert listener.accepted > before, host


@pytest.mark.store_independent("the address guard judges each connection in libcurl, whatever the store")
@pytest.mark.parametrize("host", [h for h, _ in SPELLINGS])
def test_every_spelling_of_loopback_is_refused(servers, listener, host):
    if host.startswith("[") and ipv6_loopback_problem():
        pytest.skip(f"IPv6 forms need IPv6: {ipv6_loopback_problem()}")
    api = servers.start(private=False, args=FAST).client()
    wh = hook(api, f"http://{host}:{listener.port}/g")
    assert wh["test"]["ok"] is False and wh["test"]["status_code"] is None, wh["test"]
    assert "not allowed" in wh["test"]["error"], wh["test"]
    e = deliver_one(api, wh, "spell-1", "failed")
    assert e["attempts"] == 1 and e["status_code"] is None, e
    assert "not allowed" in e["error"] and e["next_attempt_at"] is None, e
    assert listener.accepted == 0, f"{listener.accepted} connections reached the listener"


# ---------------------------------------------------------------------------
# --allow-networks


def test_allow_networks_opens_a_range(servers, listener):
    api = servers.start(private=False, args=FAST + ["--allow-networks", "127.0.0.0/8"]).client()
    wh = hook(api, f"http://127.0.0.1:{listener.port}/open")
    assert wh["test"]["ok"] is True, wh["test"]
    e = deliver_one(api, wh, "allow-1", "succeeded")
    assert e["status_code"] == 200, e
    assert listener.accepted >= 1
    # the IPv4-mapped form of an opened address is opened too
    if not ipv6_loopback_problem():
        wh6 = hook(api, f"http://[::ffff:127.0.0.1]:{listener.port}/open6")
        assert wh6["test"]["ok"] is True, wh6["test"]


def test_allow_networks_opens_only_what_it_names(servers, listener):
    api = servers.start(private=False,
                        args=FAST + ["--allow-networks", "127.0.0.2/32, 10.0.0.0/8"]).client()
    wh = hook(api, f"http://127.0.0.1:{listener.port}/closed")
    assert "not allowed" in wh["test"]["error"], wh["test"]
    assert listener.accepted == 0


def test_bad_allow_networks_stops_hookd(servers):
    db = servers.tmp / "bad.db"
    for value, item in [("10.0.0.0/8,10.1.2.3/16", "10.1.2.3/16"), ("bogus", "bogus"),
                        ("10.0.0.0/33", "10.0.0.0/33"), ("10.0.0.0/8,", "empty")]:
        r = run_hookd(["serve", "--listen", "127.0.0.1:0", *servers.store_flags(db),
                       "--allow-networks", value], cwd=servers.tmp)
        assert r.returncode == 2, (value, r)
        assert "--allow-networks" in r.stderr and item in r.stderr, (value, r.stderr)
    r = run_hookd(["serve", "--listen", "127.0.0.1:0", *servers.store_flags(db)], cwd=servers.tmp,
                  env={"HOOKD_ALLOW_NETWORKS": "fd00::/8,nope"})
    assert r.returncode == 2 and "HOOKD_ALLOW_NETWORKS" in r.stderr and "nope" in r.stderr, r


# ---------------------------------------------------------------------------
# a host with a refused and an allowed address


@pytest.fixture(scope="module")
def resolve_shim(tmp_path_factory):
    """resolve_shim.c built as a preloadable library."""
    out = tmp_path_factory.mktemp("shim") / "resolve_shim.so"
    r = subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(out),
                        str(HERE / "fixtures" / "resolve_shim.c"), "-ldl"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot build the resolver shim: {r.stderr}")
    return out


def shim_env(shim, name, addrs):
    asan = os.environ.get("ASAN_OPTIONS", "")
    # The sanitizer build insists on coming first among preloaded libraries.
    asan = (asan + ":" if asan else "") + "verify_asan_link_order=0"
    return {"LD_PRELOAD": str(shim), "HOOKD_TEST_NAME": name, "HOOKD_TEST_ADDRS": addrs,
            "ASAN_OPTIONS": asan}


def test_refused_and_allowed_address_judged_by_the_allowed_one(servers, listener, resolve_shim):
    if ipv6_loopback_problem():
        pytest.skip(f"needs IPv6 loopback: {ipv6_loopback_problem()}")
    # ::1 on the same port counts what would reach the refused address
    refused_side = CountingServer("::1", listener.port, socket.AF_INET6)
    try:
        s = servers.start(private=False, args=FAST + ["--allow-networks", "127.0.0.1/32"],
                          env=shim_env(resolve_shim, "dual.hookd.test", "::1,127.0.0.1"))
        api = s.client()
        wh = hook(api, f"http://dual.hookd.test:{listener.port}/dual")
        assert wh["test"]["ok"] is True and wh["test"]["error"] is None, wh["test"]
        e = deliver_one(api, wh, "dual-1", "succeeded")
        assert e["status_code"] == 200 and e["error"] is None, e
        assert [r for r in listener.requests if r[1] == "/dual"], listener.requests
        assert refused_side.accepted == 0, "a connection reached the refused address ::1"
        # with both addresses refused, it fails for good as refused
        s2 = servers.start(db=servers.tmp / "both.db", private=False, args=FAST,
                           env=shim_env(resolve_shim, "dual.hookd.test", "::1,127.0.0.1"))
        api2 = s2.client()
        wh2 = hook(api2, f"http://dual.hookd.test:{listener.port}/dual")
        e2 = deliver_one(api2, wh2, "dual-2", "failed")
        assert e2["attempts"] == 1 and "not allowed" in e2["error"], e2
    finally:
        refused_side.stop()


# ---------------------------------------------------------------------------
# proxies


def test_proxy_refused_address_never_reaches_the_proxy(servers, listener, proxy):
    api = servers.start(private=False, args=FAST + ["--proxy", proxy.url]).client()
    for host in ["localhost", "127.0.0.1", "0x7f.1", "[::ffff:127.0.0.1]"]:
        wh = hook(api, f"http://{host}:{listener.port}/p")
        assert wh["test"]["ok"] is False and "not allowed" in wh["test"]["error"], wh["test"]
    e = deliver_one(api, wh, "proxy-refused-1", "failed")
    assert e["attempts"] == 1 and "not allowed" in e["error"], e
    assert proxy.count() == 0, proxy.requests
    assert listener.accepted == 0


def test_proxy_carries_allowed_deliveries_pinned(servers, listener, proxy):
    # the guard opened for loopback: the name is resolved by hookd, the
    # proxy is asked for a tunnel to the checked address, not the name
    api = servers.start(private=False,
                        args=FAST + ["--proxy", proxy.url, "--allow-networks", "127.0.0.0/8"]
                        ).client()
    wh = hook(api, f"http://localhost:{listener.port}/via")
    assert wh["test"]["ok"] is True, wh["test"]
    e = deliver_one(api, wh, "proxy-ok-1", "succeeded")
    assert e["status_code"] == 200, e
    assert proxy.count() >= 2, proxy.requests  # the test send and the delivery
    assert all(r == f"CONNECT 127.0.0.1:{listener.port} HTTP/1.1" for r in proxy.requests), \
        proxy.requests
    # Host stays the webhook's
    assert {h for _, p, h in listener.requests if p == "/via"} == {f"localhost:{listener.port}"}
    # many at once: each is resolved off the engine's thread, then sent
    cid = person(api)
    ids = ingest(api, [act(cid, f"proxy-many-{i}") for i in range(40)])
    wait_for(lambda: all((entry_of(api, wh["id"], a) or {}).get("state") == "succeeded"
                         for a in ids), timeout=20,
             what=lambda: [entry_of(api, wh["id"], a) for a in ids])
    assert len([r for r in listener.requests if r[1] == "/via"]) >= 42


def test_proxy_unresolvable_host_is_retried_without_the_proxy(servers, proxy):
    api = servers.start(private=False, args=FAST + ["--proxy", proxy.url]).client()
    wh = hook(api, "http://no-such-host.invalid/x")
    assert wh["test"]["ok"] is False and "resolve" in wh["test"]["error"], wh["test"]
    [aid] = ingest(api, [act(person(api), "nx-1")])
    e = wait_delivery(api, wh["id"], aid, "retrying", timeout=10)
    assert e["next_attempt_at"] is not None and "not allowed" not in e["error"], e
    assert proxy.count() == 0, proxy.requests


def test_environment_proxies_are_ignored(servers, listener, proxy):
    env = {v: proxy.url for v in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                                  "ALL_PROXY", "all_proxy")}
    env["no_proxy"] = env["NO_PROXY"] = ""
    api = servers.start(args=FAST, env=env).client()
    wh = hook(api, f"http://127.0.0.1:{listener.port}/direct")
    assert wh["test"]["ok"] is True, wh["test"]
    deliver_one(api, wh, "env-1", "succeeded")
    assert proxy.count() == 0, proxy.requests
    assert listener.accepted >= 1


def test_proxy_option_refuses_socks(servers):
    r = run_hookd(["serve", "--listen", "127.0.0.1:0", *servers.store_flags(servers.tmp / "s.db"),
                   "--proxy", "socks5://127.0.0.1:1080"], cwd=servers.tmp)
    assert r.returncode == 2 and "--proxy" in r.stderr, r


# ---------------------------------------------------------------------------
# --https-only


def test_https_only_refuses_http_urls(servers, receiver):
    api = servers.start(args=FAST + ["--https-only"]).client()
    url = receiver.url + "/plain"
    assert_error(api.post("/api/v1/webhooks", {"name": "h", "url": url}), 400, "invalid", "url")
    r = api.post("/api/v1/webhooks", {"name": "h", "url": url})
    assert "https" in r.json()["error"]["message"], r.text
    assert_error(api.post("/api/v1/webhooks/test", {"name": "h", "url": url}), 400, "invalid",
                 "url")
    assert_error(api.post("/api/v1/webhooks", {"name": "h", "url": "HTTP://127.0.0.1:9/x"}), 400,
                 "invalid", "url")
    # an https URL is accepted (nothing listens: the test fails, creation does not)
    wh = hook(api, "https://127.0.0.1:9/secure")
    assert_error(api.patch(f"/api/v1/webhooks/{wh['id']}", {"url": url}), 400, "invalid", "url")
    assert api.fetch(wh["id"])["url"] == "https://127.0.0.1:9/secure"
    assert receiver.requests(tests=True) == []


def test_https_only_fails_a_stored_http_webhook(servers, receiver):
    s = servers.start(args=FAST)
    wh = hook(s.client(), receiver.url + "/stored")
    assert wh["test"]["ok"] is True
    receiver.clear()
    s2 = servers.restart(s, args=FAST + ["--https-only"])
    api = s2.client()
    e = deliver_one(api, wh, "https-only-1", "failed")
    assert e["attempts"] == 1 and e["status_code"] is None, e
    assert "not allowed: https only" in e["error"] and e["next_attempt_at"] is None, e
    r = api.post(f"/api/v1/webhooks/{wh['id']}/test")
    assert r.status_code == 200 and "not allowed: https only" in r.json()["error"], r.text
    # a change that leaves the URL alone is still accepted
    assert api.patch(f"/api/v1/webhooks/{wh['id']}", {"name": "renamed"}).status_code == 200
    assert receiver.requests(tests=True) == []


# ---------------------------------------------------------------------------
# TLS to endpoints and --ca-file


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A CA and a server certificate for IP:127.0.0.1 signed by it, made by
    the openssl command."""
    d = tmp_path_factory.mktemp("tls")

    def run(*args):
        r = subprocess.run(["openssl", *args], cwd=d, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=hookd test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr",
        "-subj", "/CN=127.0.0.1")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf")
    return d


@pytest.fixture
def https_listener(tls_files):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls_files / "srv.pem", tls_files / "srv.key")
    s = CountingServer(context=ctx)
    yield s
    s.stop()


@pytest.mark.store_independent("TLS verification of receivers is libcurl's, whatever the store")
def test_tls_verified_against_system_cas_by_default(servers, https_listener):
    api = servers.start(args=FAST).client()
    wh = hook(api, f"https://127.0.0.1:{https_listener.port}/tls")
    assert wh["test"]["ok"] is False and wh["test"]["status_code"] is None, wh["test"]
    assert "certificate" in wh["test"]["error"].lower(), wh["test"]
    assert not https_listener.requests


@pytest.mark.store_independent("TLS verification of receivers is libcurl's, whatever the store")
def test_ca_file_trusts_a_private_ca(servers, https_listener, tls_files):
    api = servers.start(args=FAST + ["--ca-file", str(tls_files / "ca.pem")]).client()
    wh = hook(api, f"https://127.0.0.1:{https_listener.port}/tls")
    assert wh["test"]["ok"] is True, wh["test"]
    e = deliver_one(api, wh, "tls-1", "succeeded")
    assert e["status_code"] == 200, e
    # a name the certificate does not hold still fails: the host is checked
    wh2 = hook(api, f"https://localhost:{https_listener.port}/tls")
    assert wh2["test"]["ok"] is False, wh2["test"]


@pytest.mark.store_independent("TLS verification of receivers is libcurl's, whatever the store")
def test_https_through_the_proxy_with_ca_file(servers, https_listener, tls_files, proxy):
    api = servers.start(args=FAST + ["--proxy", proxy.url, "--ca-file",
                                     str(tls_files / "ca.pem")]).client()
    wh = hook(api, f"https://127.0.0.1:{https_listener.port}/tls-proxied")
    assert wh["test"]["ok"] is True, wh["test"]
    assert proxy.requests == [f"CONNECT 127.0.0.1:{https_listener.port} HTTP/1.1"], \
        proxy.requests
