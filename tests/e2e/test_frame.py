"""The API frame (docs/api.md#errors): auth, 404/405, body size, media type, JSON syntax errors,
calls without input."""

import re
import socket

import pytest

from conftest import TIMEOUT, assert_error

MiB = 1024 * 1024
SOME_ID = "01890a5d-ac96-774b-bcce-b302099a8057"

# Every route of the API, with a method it answers.
ROUTES = [
    ("GET", "/api/v1/webhooks"),
    ("POST", "/api/v1/webhooks"),
    ("GET", f"/api/v1/webhooks/{SOME_ID}"),
    ("PATCH", f"/api/v1/webhooks/{SOME_ID}"),
    ("DELETE", f"/api/v1/webhooks/{SOME_ID}"),
    ("POST", f"/api/v1/webhooks/{SOME_ID}/connect"),
    ("POST", f"/api/v1/webhooks/{SOME_ID}/disconnect"),
    ("POST", f"/api/v1/webhooks/{SOME_ID}/rotate-secret"),
    ("POST", f"/api/v1/webhooks/{SOME_ID}/test"),
    ("POST", "/api/v1/webhooks/test"),
    ("POST", f"/api/v1/webhooks/{SOME_ID}/send"),
    ("GET", f"/api/v1/webhooks/{SOME_ID}/logs"),
    ("GET", f"/api/v1/webhooks/{SOME_ID}/logs/{SOME_ID}"),
    ("POST", f"/api/v1/webhooks/{SOME_ID}/logs/{SOME_ID}/retry"),
    ("POST", "/api/v1/people/merge"),
    ("GET", f"/api/v1/people/{SOME_ID}"),
    ("POST", "/api/v1/accounts/merge"),
    ("GET", f"/api/v1/accounts/{SOME_ID}"),
    ("POST", "/api/v1/activities"),
    ("GET", "/api/v1/fields"),
    ("POST", "/api/v1/fields"),
    ("GET", "/api/v1/catalog/activities"),
    ("GET", "/api/v1/catalog/attributes"),
    # auth comes before 404/405 under /api/
    ("GET", "/api/v1/no-such-thing"),
    ("PUT", "/api/v1/webhooks"),
    ("GET", "/api/v2/webhooks"),
]


def raw_exchange(port, data, read_timeout=TIMEOUT, shut=False):
    """Sends bytes on a fresh connection and returns whatever comes back until
    the server closes or read_timeout passes without a byte."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        s.settimeout(read_timeout)
        got = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
                if b"\r\n\r\n" in got:
                    head, _, rest = got.partition(b"\r\n\r\n")
                    m = re.search(rb"(?i)content-length:\s*(\d+)", head)
                    if m and len(rest) >= int(m.group(1)):
                        break
        except socket.timeout:
            pass
        return got


class unchanged:
    """with unchanged(api): ... asserts the webhook count is the same after."""

    def __init__(self, api):
        self.api = api

    def __enter__(self):
        self.n = self.api.count()

    def __exit__(self, *exc):
        if exc[0] is None:
            assert self.api.count() == self.n, "the webhook list changed"


def status_of(raw):
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", raw)
    assert m, f"no HTTP answer: {raw[:200]!r}"
    return int(m.group(1))


@pytest.mark.parametrize("method,path", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_api_needs_a_key(mapi, method, path):
    for key in (None, "wrong-key-0123456789"):
        kw = {"auth": False} if key is None else {"key": key}
        r = mapi.request(method, path, data="{}", headers={"Content-Type": "application/json"},
                         **kw)
        assert_error(r, 401, "unauthorized", None)


def test_unauthorized_changes_nothing(mapi):
    with unchanged(mapi):
        r = mapi.post("/api/v1/webhooks", {"name": "x", "url": "http://127.0.0.1:1/"},
                      auth=False)
        assert_error(r, 401, "unauthorized")


def test_healthz_needs_no_key_and_body_is_exact(mapi):
    for kw in ({"auth": False}, {"key": "wrong-key-0123456789"}, {}):
        r = mapi.get("/healthz", **kw)
        assert r.status_code == 200
        assert r.text == '{"status":"ok"}'


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/webhooks/x/y/z", "/api/v1",
                                  "/api/v1/catalog", "/api/v1/catalog/nope", "/api/v2/webhooks",
                                  f"/api/v1/webhooks/{SOME_ID}/nope", "/nope", "/healthz/x"])
def test_unknown_path_is_404(mapi, path):
    assert_error(mapi.get(path), 404, "not_found", None)


@pytest.mark.parametrize("method,path", [
    ("PUT", "/api/v1/webhooks"),
    ("DELETE", "/api/v1/webhooks"),
    ("PATCH", "/api/v1/webhooks"),
    ("PUT", f"/api/v1/webhooks/{SOME_ID}"),
    ("POST", f"/api/v1/webhooks/{SOME_ID}"),
    ("GET", f"/api/v1/webhooks/{SOME_ID}/connect"),
    ("DELETE", f"/api/v1/webhooks/{SOME_ID}/rotate-secret"),
    ("DELETE", "/api/v1/fields"),
    ("POST", "/api/v1/catalog/activities"),
    ("POST", "/healthz"),
])
def test_known_path_other_method_is_405(mapi, method, path):
    with unchanged(mapi):
        r = mapi.request(method, path, data="{}", headers={"Content-Type": "application/json"})
        assert_error(r, 405, "method_not_allowed", None)


# ---------------------------------------------------------------------------
# body size

def test_declared_length_over_1_mib_answered_before_the_body(module_server):
    head = (f"POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {module_server.api_key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {MiB + 1}\r\n\r\n").encode()
    raw = raw_exchange(module_server.port, head)  # no body byte is ever sent
    assert status_of(raw) == 413, raw[:300]
    assert b'"too_large"' in raw, raw[:300]


def test_body_of_1_mib_plus_1_is_413(mapi):
    data = b'{"name":"' + b"a" * (MiB + 1 - 11) + b'"}'
    assert len(data) == MiB + 1
    with unchanged(mapi):
        r = mapi.post("/api/v1/webhooks", data=data,
                      headers={"Content-Type": "application/json"})
        assert_error(r, 413, "too_large", None)


def _chunks(data, size=64 * 1024):
    for i in range(0, len(data), size):
        yield data[i:i + size]


def test_chunked_body_over_1_mib_is_413(mapi):
    data = b'{"name":"' + b"a" * (2 * MiB) + b'"}'
    with unchanged(mapi):
        r = mapi.post("/api/v1/webhooks", data=_chunks(data),
                      headers={"Content-Type": "application/json"})
        assert r.request.headers.get("Transfer-Encoding") == "chunked"
        assert_error(r, 413, "too_large", None)


def _exactly_1_mib():
    head = b'{"name":"x"'
    tail = b"}"
    data = head + b" " * (MiB - len(head) - len(tail)) + tail
    assert len(data) == MiB
    return data


def test_body_of_exactly_1_mib_is_read(mapi):
    # valid JSON, only the url is missing: 400 invalid, not 413
    r = mapi.post("/api/v1/webhooks", data=_exactly_1_mib(),
                  headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid", "url")


def test_chunked_body_of_exactly_1_mib_is_read(mapi):
    r = mapi.post("/api/v1/webhooks", data=_chunks(_exactly_1_mib()),
                  headers={"Content-Type": "application/json"})
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert_error(r, 400, "invalid", "url")


# ---------------------------------------------------------------------------
# media type

VALID = '{"name":"media","url":"http://127.0.0.1:1/h"}'


@pytest.mark.parametrize("ct", ["text/plain", None, "application/x-www-form-urlencoded",
                                "application/jsonx", "application/json; charset=latin-1",
                                "multipart/form-data; boundary=x"])
def test_other_media_types_are_415(mapi, ct):
    with unchanged(mapi):
        r = mapi.post("/api/v1/webhooks", data=VALID, headers={"Content-Type": ct})
        assert r.request.headers.get("Content-Type") == ct
        assert_error(r, 415, "unsupported_media_type", None)


def test_patch_without_content_type_is_415(mapi):
    wh = mapi.create({"name": "p", "url": "http://127.0.0.1:1/h"})
    try:
        r = mapi.request("PATCH", f"/api/v1/webhooks/{wh['id']}", data='{"name":"z"}',
                         headers={"Content-Type": "text/plain"})
        assert_error(r, 415, "unsupported_media_type", None)
        assert mapi.fetch(wh["id"])["name"] == "p"
    finally:
        assert mapi.delete(f"/api/v1/webhooks/{wh['id']}").status_code == 204


@pytest.mark.parametrize("ct", ["application/json", "application/json; charset=utf-8",
                                "application/json;charset=UTF-8", "Application/JSON"])
def test_json_media_types_accepted(mapi, ct):
    r = mapi.post("/api/v1/webhooks", data=VALID, headers={"Content-Type": ct})
    assert r.status_code == 201, r.text
    assert mapi.delete(f"/api/v1/webhooks/{r.json()['id']}").status_code == 204


# ---------------------------------------------------------------------------
# JSON syntax

@pytest.mark.parametrize("raw,line,columns", [
    ('{\n  "name": ,}', 2, (11, 11)),
    ('{"name": "x",\n "url": "y"\n\n  oops}', 4, (3, 6)),  # anywhere on the bad token
    ('{"name": "x"', 1, (12, 13)),
    ("", 1, None),
], ids=["value missing", "line 4", "unterminated", "empty"])
def test_malformed_json_gives_line_and_column(mapi, raw, line, columns):
    r = mapi.post("/api/v1/webhooks", data=raw.encode(),
                  headers={"Content-Type": "application/json"})
    e = assert_error(r, 400, "malformed_json", None)
    m = re.search(r"line (\d+)\D+?column (\d+)", e["message"])
    assert m, e
    assert int(m.group(1)) == line, e
    if columns:
        assert columns[0] <= int(m.group(2)) <= columns[1], e


def test_duplicate_object_keys_are_malformed(mapi):
    with unchanged(mapi):
        r = mapi.post("/api/v1/webhooks",
                      data='{"name":"a","name":"b","url":"http://127.0.0.1:1/"}',
                      headers={"Content-Type": "application/json"})
        assert_error(r, 400, "malformed_json", None)


# ---------------------------------------------------------------------------
# calls that take no input

@pytest.mark.parametrize("action,check", [
    ("disconnect", lambda w, old: w["connected"] is False),
    ("connect", lambda w, old: w["connected"] is True),
    ("rotate-secret", lambda w, old: w["secret"] != old["secret"]),
])
def test_calls_without_input_need_no_body_nor_content_type(module_server, mapi, action, check):
    wh = mapi.create({"name": "bare", "url": "http://127.0.0.1:1/h", "connected": False})
    try:
        old = mapi.fetch(wh["id"])
        path = f"/api/v1/webhooks/{wh['id']}/{action}"
        # requests sends Content-Length: 0 and no Content-Type
        r = mapi.request("POST", path)
        assert "Content-Type" not in r.request.headers
        assert r.status_code == 200, r.text
        assert check(r.json(), old)
        # and on the wire: no Content-Length, no Content-Type, no body at all
        raw = raw_exchange(module_server.port, (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {module_server.api_key}"
            f"\r\nConnection: close\r\n\r\n").encode())
        assert status_of(raw) == 200, raw[:300]
    finally:
        assert mapi.delete(f"/api/v1/webhooks/{wh['id']}").status_code == 204
