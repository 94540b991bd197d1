"""A burst of malformed input: every answer is a 4xx (never a 5xx, never a
dropped connection for well-formed HTTP), hookd stays up, and nothing is
stored."""

import json
import random
import re
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import TIMEOUT, assert_error

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def full_body(sink_url):
    """A valid create body holding every key."""
    return {
        "name": "full", "url": sink_url + "/hook", "method": "POST", "send_activity": True,
        "basic_auth": {"username": "u", "password": "p"},
        "headers": [{"key": "X-A", "value": "b"}],
        "keys": {"email": "mail"},
        "fields": [{"field_id": "str::first", "key": "fn"}],
        "activities": ["act:cm:x"],
        "connected": True,
    }


def post_raw(api, data, headers=JSON, path="/api/v1/webhooks", method="POST"):
    """Sends one request; the answer must be a 4xx with the error shape."""
    r = api.request(method, path, data=data, headers=headers)
    assert 400 <= r.status_code < 500, f"{data[:200]!r} -> {r.status_code} {r.text[:300]}"
    e = r.json()["error"]
    assert isinstance(e["code"], str) and isinstance(e["message"], str), r.text
    return r


def assert_survived(server):
    api = server.client()
    assert server.alive(), f"hookd died: {server.stderr_lines[-20:]!r}"
    r = api.get("/healthz", auth=False)
    assert r.status_code == 200 and r.text == '{"status":"ok"}'
    assert api.webhooks() == []
    # and it still does real work
    r = api.post("/api/v1/webhooks", {"name": "after", "url": "http://127.0.0.1:1/"})
    assert r.status_code == 201, r.text
    assert api.delete(f"/api/v1/webhooks/{r.json()['id']}").status_code == 204


# ---------------------------------------------------------------------------

def test_random_garbage_bodies(server, api):
    rng = random.Random(20240607)
    alphabet = b'{}[]":,.-+eE0123456789 \n\t\\/truefalsnul\x00\xff\xc3\xa9'
    for i in range(300):
        n = rng.randrange(0, 3000)
        if i % 2:
            data = bytes(rng.getrandbits(8) for _ in range(n))
        else:  # JSON-looking garbage reaches deeper into the parser
            data = bytes(rng.choice(alphabet) for _ in range(n))
        post_raw(api, data)
    assert_survived(server)


def test_truncated_prefixes_of_a_valid_body(server, api, full_body):
    data = json.dumps(full_body).encode()
    for n in range(len(data)):
        r = post_raw(api, data[:n])
        assert r.json()["error"]["code"] == "malformed_json", (data[:n], r.text)
    assert_survived(server)


@pytest.mark.parametrize("data", [
    b"[" * 10000,
    b"[" * 10000 + b"]" * 10000,
    b'{"a":' * 10000,
    b'{"a":' * 10000 + b"1" + b"}" * 10000,
    b'{"name":"x","url":"http://127.0.0.1:1/","keys":' + b'{"email":' * 10000 + b'"x"'
    + b"}" * 10001,
    b'{"name":"x","url":"http://127.0.0.1:1/","fields":' + b"[" * 10000 + b"]" * 10000 + b"}",
], ids=["open arrays", "closed arrays", "open objects", "closed objects", "deep keys",
        "deep fields"])
def test_deep_nesting(server, api, data):
    post_raw(api, data)
    post_raw(api, data, path="/api/v1/fields")
    assert_survived(server)


BAD_UTF8 = [b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf8\x88\x80\x80\x80",
            b"a\x80b", b"\xf4\x90\x80\x80"]
BAD_ESCAPES = [b"\\ud800", b"\\udc00", b"\\ud800\\u0041", b"\\x41", b"\\u12", b"\\"]


def test_invalid_utf8_and_escapes_in_strings(server, api):
    for bad in BAD_UTF8 + BAD_ESCAPES:
        for tmpl in (b'{"name":"%s","url":"http://127.0.0.1:1/"}',
                     b'{"name":"x","url":"http://127.0.0.1:1/%s"}',
                     b'{"%s":"x"}',
                     b'{"name":"x","url":"http://127.0.0.1:1/","headers":[{"key":"X","value":"%s"}]}'):
            post_raw(api, tmpl % bad)
    assert_survived(server)


def test_nul_bytes(server, api):
    for data in (b'{"name":"a\x00b","url":"http://127.0.0.1:1/"}',
                 b'{"name":"x","url":"http://127.0.0.1:1/"}\x00',
                 b'\x00{"name":"x","url":"http://127.0.0.1:1/"}',
                 b'{"name":"a\\u0000b","url":"http://127.0.0.1:1/"}',
                 b'{"name":"x","url":"http://127.0.0.1:1/\\u0000"}',
                 b'{"name\\u0000":"x","url":"http://127.0.0.1:1/"}',
                 b"\x00" * 100):
        post_raw(api, data)
    assert_survived(server)


HUGE = [b"1e999", b"-1e999", b"123456789012345678901234567890", b"-99999999999999999999999",
        b"1" * 5000, b"0." + b"0" * 5000 + b"1", b"1e-999", b"9223372036854775808"]


def test_huge_numbers(server, api):
    for num in HUGE:
        for tmpl in (b'{"name":%s,"url":"http://127.0.0.1:1/"}',
                     b'{"name":"x","url":"http://127.0.0.1:1/","send_activity":%s}',
                     b'{"name":"x","url":"http://127.0.0.1:1/","activities":[%s]}',
                     b"%s"):
            post_raw(api, tmpl % num)
    assert_survived(server)


# ---------------------------------------------------------------------------
# a value of the wrong type at every key

SUBSTITUTES = [None, 1, 1.5, "s", True, [], {}]
TYPES = {type(None): "null", int: "number", float: "number", str: "string", bool: "bool",
         list: "array", dict: "object"}

# path -> the JSON types that are right there
RIGHT = {
    ("name",): {"string"}, ("url",): {"string"}, ("method",): {"string"},
    ("send_activity",): {"bool"}, ("connected",): {"bool"},
    ("basic_auth",): {"object", "null"}, ("headers",): {"array"}, ("keys",): {"object"},
    ("fields",): {"array"}, ("activities",): {"array"},
    ("basic_auth", "username"): {"string"}, ("basic_auth", "password"): {"string"},
    ("headers", 0): {"object"}, ("headers", 0, "key"): {"string"},
    ("headers", 0, "value"): {"string"}, ("keys", "email"): {"string"},
    ("fields", 0): {"object"}, ("fields", 0, "field_id"): {"string"},
    # null for a field's key could fairly mean "the default key"
    ("fields", 0, "key"): {"string", "null"},
    ("activities", 0): {"string"},
}


def field_path(path):
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (("." if out else "") + p)
    return out


def substituted(body, path, value):
    b = json.loads(json.dumps(body))
    node = b
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return b


def test_wrong_type_at_every_key(server, api, full_body):
    assert api.post("/api/v1/webhooks", full_body).status_code == 201  # the base is valid
    api.delete(f"/api/v1/webhooks/{api.webhooks()[0]['id']}")
    cases = 0
    for path, right in RIGHT.items():
        for value in SUBSTITUTES:
            if TYPES[type(value)] in right:
                continue
            b = substituted(full_body, path, value)
            r = api.post("/api/v1/webhooks", b)
            cases += 1
            want = field_path(path)
            if path == ("headers", 0) and value == {}:
                want = "headers[0].key"  # an empty entry: its key is missing
            if path == ("fields", 0) and value == {}:
                want = "fields[0].field_id"
            assert_error(r, 400, "invalid", want)
    assert cases > 100
    assert_survived(server)


def test_wrong_type_at_every_key_of_a_patch(server, api, full_body):
    wid = api.create(full_body)["id"]
    before = api.fetch(wid)
    for path, right in RIGHT.items():
        for value in SUBSTITUTES:
            if TYPES[type(value)] in right:
                continue
            b = substituted(full_body, path, value)
            r = api.patch(f"/api/v1/webhooks/{wid}", b)
            assert 400 <= r.status_code < 500 and r.json()["error"]["code"] == "invalid", \
                (path, value, r.status_code, r.text)
    assert api.fetch(wid) == before
    api.delete(f"/api/v1/webhooks/{wid}")
    assert_survived(server)


# ---------------------------------------------------------------------------
# not even HTTP

def exchange(port, data, wait=3.0):
    """Sends data and half-closes; returns what the server sends until it
    closes, resets, or `wait` seconds pass in silence (garbage that is not
    HTTP need not be answered at all)."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:  # the server closed first: fine for garbage
            return b""
        s.settimeout(wait)
        got = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except (ConnectionResetError, socket.timeout):
            pass
        return got


def assert_4xx_or_nothing(got, data):
    for m in re.finditer(rb"HTTP/1\.[01] (\d{3})", got):
        assert 400 <= int(m.group(1)) < 500, (data[:80], got[:300])


@pytest.mark.store_independent("the request frame, before any handler or store")
def test_raw_socket_garbage(server):
    rng = random.Random(7)
    payloads = [bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 4000)))
                for _ in range(40)]
    payloads += [
        b"\r\n\r\n\r\n",
        b"hello\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 100,  # a TLS hello
        b"GET\r\n\r\n",
        b"GET /healthz\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\n" + b"X-Long: " + b"a" * 200000 + b"\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(5000))
        + b"\r\n",
        b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
        b"POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}",
        b"POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
        b"Content-Length: 5\r\n\r\n{}",
        b"POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"zz\r\nxx\r\n0\r\n\r\n",
        b"POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"na",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n",  # never finished
        b"\x00" * 1000,
    ]
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda d: exchange(server.port, d), payloads))
    for data, got in zip(payloads, answers):
        assert_4xx_or_nothing(got, data)
    # and a connection dropped in the middle of a request, without reading
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as s:
            s.sendall(b"POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
    assert_survived(server)


def test_odd_paths(server, api):
    bad = []
    for path in ["/api/v1/webhooks/%00", "/api/v1/webhooks/..%2f..%2fetc%2fpasswd",
                 "/api/v1/webhooks/../../etc/passwd", "/api/v1/webhooks/" + "a" * 5000,
                 "/api/v1/webhooks/%ff%fe", "/api/v1/webhooks//connect",
                 "/api/v1/webhooks/' OR 1=1 --", "/api/v1/webhooks/%00?x=%00",
                 "/api/v1/%ff", "/api/v1/webhooks/%c3%28/connect", "/%ff%fe"]:
        for method in ("GET", "PATCH", "DELETE", "POST"):
            try:
                r = api.request(method, path, data="{}", headers=JSON)
            except requests.ConnectionError as e:
                bad.append(f"{method} {path[:60]}: connection dropped ({e.__class__.__name__})")
                continue
            if not 400 <= r.status_code < 500:
                bad.append(f"{method} {path[:60]}: {r.status_code} {r.text[:200]}")
    assert not bad, "\n".join(bad)
    assert_survived(server)
