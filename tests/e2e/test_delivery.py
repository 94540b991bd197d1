"""Delivery, docs/api.md#delivery (with the options, docs/api.md#webhooks and
#logs): the real binary
delivering to a real, scripted HTTP receiver on loopback (receiver.py).

Every test runs its own server, mostly with a short retry schedule, and reads
what happened twice: from the receiver (what arrived, in which order, with
which headers) and from the logs API (what hookd says it did).  Waits poll;
the only fixed sleeps wait for something that must NOT happen and are short.

Creating a webhook sends the test payload once and waits for its answer, so
scripts are set after creation unless the test payload itself is what is
scripted; test payloads are left out of the receiver's counts by default."""

import base64
import datetime
import hashlib
import hmac
import re
import signal
import socket
import subprocess
import time
import urllib.parse

import pytest

from conftest import assert_error, hookd_bin
from receiver import receiver  # noqa: F401  (a fixture)

# a short schedule: retries after 200 ms, then 400 ms each; 4 attempts at most
FAST = ["--retry-schedule", "200ms,400ms", "--max-retries", "3", "--request-timeout", "500ms"]
SLACK = 2.0  # seconds a scheduled attempt may come late (slow, sanitizer builds)
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


# ---------------------------------------------------------------------------
# helpers


def wait_for(predicate, timeout=10, interval=0.05, what=None):
    """Polls predicate() every interval seconds until it returns something
    true, and returns that; fails the test after timeout seconds, showing
    what (a callable giving the state to show, or a string)."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            shown = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout}s waiting for "
                                 f"{getattr(predicate, '__name__', predicate)}; state: {shown!r}")
        time.sleep(interval)


def ts(rfc3339):
    """An RFC 3339 UTC time of an answer as Unix seconds."""
    assert isinstance(rfc3339, str) and TIME_RE.match(rfc3339), rfc3339
    return datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


_VERSION = []


def hookd_version():
    if not _VERSION:
        out = subprocess.run([hookd_bin(), "--version"], capture_output=True, text=True,
                             timeout=10)
        m = re.match(r"^hookd (\S+)$", out.stdout.strip())
        assert out.returncode == 0 and m, out
        _VERSION.append(m.group(1))
    return _VERSION[0]


def person(api, email="ann@x.io"):
    r = api.post("/api/v1/people/merge",
                 {"people": [{"fields": {"str::email": email, "str::first": "Ann"}}]})
    assert r.status_code == 200, r.text
    return r.json()["people"][0]["contact_id"]


def act(cid, aid, field_id="act::s"):
    return {"id": aid, "field_id": field_id, "contact": {"contact_id": cid}}


def ingest(api, activities):
    r = api.post("/api/v1/activities", {"activities": activities})
    assert r.status_code == 202, r.text
    out = r.json()["activities"]
    assert not any(a["duplicate"] for a in out), out
    return [a["id"] for a in out]


def make_hook(api, rcv, path, **kw):
    """Creates a webhook to rcv's path, triggered by act::s; returns the
    create answer (which holds `test`)."""
    body = {"name": f"hook {path}", "url": rcv.url + path, "activities": ["act::s"]}
    body.update(kw)
    r = api.post("/api/v1/webhooks", body)
    assert r.status_code == 201, r.text
    return r.json()


def logs(api, wid, kind="activity", **params):
    q = urllib.parse.urlencode(params)
    r = api.get(f"/api/v1/webhooks/{wid}/logs" + (f"?{q}" if q else ""))
    assert r.status_code == 200, r.text
    return [e for e in r.json()["entries"] if kind is None or e["kind"] == kind]


def detail(api, wid, did):
    r = api.get(f"/api/v1/webhooks/{wid}/logs/{did}")
    assert r.status_code == 200, r.text
    return r.json()


def entry_of(api, wid, aid):
    """The delivery of activity aid to webhook wid, or None."""
    found = [e for e in logs(api, wid) if e["activity_id"] == aid]
    assert len(found) <= 1, found
    return found[0] if found else None


def wait_delivery(api, wid, aid, state, attempts=None, timeout=10):
    """Waits until the delivery of aid to wid is in state (with attempts, if
    given); returns its detail entry."""
    def reached():
        e = entry_of(api, wid, aid)
        if e and e["state"] == state and (attempts is None or e["attempts"] == attempts):
            return e
        return None
    e = wait_for(reached, timeout, what=lambda: entry_of(api, wid, aid))
    return detail(api, wid, e["id"])


def stats(api, wid):
    [wh] = [w for w in api.webhooks() if w["id"] == wid]
    return wh["stats"]


def expected_signature(secret, msg_id, timestamp, body):
    """Standard Webhooks, done independently: v1, base64 HMAC-SHA256 over
    "{id}.{timestamp}.{body}" keyed with the base64-decoded secret."""
    assert secret.startswith("whsec_"), secret
    key = base64.b64decode(secret[len("whsec_"):], validate=True)
    assert len(key) == 32, secret
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def check_signed(req, secret):
    """req carries one webhook-id, a webhook-timestamp of when it was sent
    and a valid signature over exactly the bytes received."""
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        assert len(req.header_all(name)) == 1, (name, req.headers)
    stamp = req.header("webhook-timestamp")
    assert re.fullmatch(r"[0-9]+", stamp), stamp
    assert abs(int(stamp) - req.time) <= 3, (stamp, req.time)
    assert req.header("webhook-signature") == expected_signature(
        secret, req.header("webhook-id"), stamp, req.body), req


def ipv6_loopback_problem():
    """None if an IPv6 socket can bind ::1 here, else why not."""
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError as e:
        return f"no IPv6 sockets on this machine: {e}"
    try:
        s.bind(("::1", 0))
    except OSError as e:
        return f"cannot bind ::1 (no IPv6 loopback): {e}"
    finally:
        s.close()
    return None


# ---------------------------------------------------------------------------
# the receiver itself (needs no hookd)


def test_receiver_scripts_work(receiver):
    import requests

    s = requests.Session()
    u = receiver.url
    receiver.script("/seq", [500, ("status", 201, b"made", {"X-R": "1"}), 204])
    got = [s.post(u + "/seq?x=1", data=b"abc", timeout=5) for _ in range(4)]
    assert [r.status_code for r in got] == [500, 201, 204, 204]  # the last repeats
    assert got[1].content == b"made" and got[1].headers["X-R"] == "1"
    assert got[0].content == b"status 500"
    reqs = receiver.requests("/seq")
    assert len(reqs) == 4 and all(r.body == b"abc" and r.query == "x=1" for r in reqs)
    assert len({r.peer for r in reqs}) == 1, "keep-alive: one connection for all four"
    # unscripted: 200
    assert s.get(u + "/other", timeout=5).status_code == 200
    # headers recorded as sent, in order, with their case
    s.post(u + "/h", data=b"{}", headers={"Zed": "1", "alpha": "2", "Content-Type": "x/y"},
           timeout=5)
    names = receiver.requests("/h")[0].header_names()
    assert names.index("Zed") < names.index("alpha") < names.index("Content-Type"), names
    # a chunked body is read whole
    s.post(u + "/chunked", data=iter([b"ab", b"cd"]), timeout=5)
    assert receiver.requests("/chunked")[0].body == b"abcd"
    # delay
    receiver.script("/slow", ("delay", 0.3, 202))
    t0 = time.monotonic()
    assert s.get(u + "/slow", timeout=5).status_code == 202
    assert time.monotonic() - t0 >= 0.3
    # redirect: 302 with Location, never followed by the receiver itself
    r = s.get(u + "/r", allow_redirects=False, timeout=5)
    assert r.status_code == 200  # not scripted yet
    receiver.script("/r", ("redirect", "/elsewhere"))
    r = s.get(u + "/r", allow_redirects=False, timeout=5)
    assert r.status_code == 302 and r.headers["Location"] == "/elsewhere"
    # reset: no answer, the connection is dropped
    receiver.script("/reset", "reset")
    with pytest.raises(requests.ConnectionError):
        requests.post(u + "/reset", data=b"x", timeout=5)
    assert receiver.count("/reset") == 1
    # hang: nothing within the client's timeout
    receiver.script("/hang", "hang")
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(u + "/hang", timeout=0.3)
    # large bodies both ways
    big = bytes(range(256)) * 400
    receiver.script("/big", ("status", 200, big))
    r = requests.put(u + "/big", data=big, timeout=5)
    assert r.content == big and receiver.requests("/big")[0].body == big
    # the global per-request delay
    receiver.delay = 0.2
    t0 = time.monotonic()
    requests.get(u + "/d", timeout=5)
    assert time.monotonic() - t0 >= 0.2
    receiver.delay = 0
    # test payloads are told apart (JSON body, or the query without a body);
    # activity ids are collected from both forms, tests left out
    requests.post(u + "/t", json={"test": True, "activity": {"id": "t1"}}, timeout=5)
    requests.post(u + "/t", json={"activity": {"id": "a1"}}, timeout=5)
    requests.get(u + "/t?test=true&activity.id=t2", timeout=5)
    requests.get(u + "/t?activity.id=a2", timeout=5)
    assert receiver.count("/t") == 2
    assert receiver.count("/t", tests=True) == 4
    assert len(receiver.requests("/t", tests="only")) == 2
    assert receiver.activity_ids() == {"a1", "a2"}
    assert len(receiver.wait_count(2, "/t", timeout=1)) == 2
    with pytest.raises(AssertionError):
        receiver.wait_count(3, "/t", timeout=0.2)


# ---------------------------------------------------------------------------
# outcome of an attempt: success, final failure, retry


SUCCESS = {"/s200": 200, "/s204": 204, "/s302": ("redirect", "/elsewhere"), "/s399": 399}


def test_success_statuses_take_one_attempt(servers, receiver):
    s = servers.start(args=FAST)
    api = s.client()
    hooks = {path: make_hook(api, receiver, path) for path in SUCCESS}
    for path, action in SUCCESS.items():
        receiver.script(path, action)
    cid = person(api)
    t0 = time.time()
    [aid] = ingest(api, [act(cid, "ok-1")])
    for path, wh in hooks.items():
        code = 302 if path == "/s302" else int(path[2:])
        e = wait_delivery(api, wh["id"], aid, "succeeded")
        assert e["attempts"] == 1, e
        assert e["status_code"] == code and e["error"] is None, e
        assert e["next_attempt_at"] is None, e
        assert e["response"]["status_code"] == code, e
        assert isinstance(e["response"]["duration_ms"], int) and e["response"]["duration_ms"] >= 0
        assert e["request"]["url"] == receiver.url + path, e
        [a] = e["attempts_detail"]
        assert a["status_code"] == code and a["error"] is None, a
        assert abs(ts(a["time"]) - receiver.requests(path)[0].time) <= 2, a
        # stats: one success; the creation's test send counts nowhere
        assert stats(api, wh["id"]) == {"succeeded_24h": 1, "failed_24h": 0, "pending": 0,
                                        "skipped": 0}
    # delivery is immediate: the first attempt followed the 202 at once
    for path in SUCCESS:
        assert receiver.requests(path)[0].time - t0 < 1.0, receiver.requests(path)
    time.sleep(0.7)  # longer than the whole retry schedule: nothing more comes
    for path in SUCCESS:
        assert receiver.count(path) == 1, receiver.requests(path)
    # the redirect was not followed
    assert receiver.requests("/elsewhere", tests=True) == []


FINAL = [400, 401, 403, 404, 405]


def test_final_statuses_fail_after_one_attempt(servers, receiver):
    s = servers.start(args=FAST)
    api = s.client()
    hooks = {code: make_hook(api, receiver, f"/f{code}") for code in FINAL}
    for code in FINAL:
        receiver.script(f"/f{code}", ("status", code, b"no thanks %d" % code))
    [aid] = ingest(api, [act(person(api), "final-1")])
    for code, wh in hooks.items():
        e = wait_delivery(api, wh["id"], aid, "failed")
        assert e["attempts"] == 1 and e["status_code"] == code, e
        assert e["next_attempt_at"] is None, e
        assert e["response"]["status_code"] == code, e
        assert e["response"]["body"] == f"no thanks {code}", e
        assert [a["status_code"] for a in e["attempts_detail"]] == [code], e
    time.sleep(0.7)  # a retry would have come after 200 ms
    for code, wh in hooks.items():
        assert receiver.count(f"/f{code}") == 1, receiver.requests(f"/f{code}")
        assert entry_of(api, wh["id"], aid)["attempts"] == 1
        assert stats(api, wh["id"]) == {"succeeded_24h": 0, "failed_24h": 1, "pending": 0,
                                        "skipped": 0}


RETRIED = [402, 408, 409, 422, 429, 500, 502, 503, 504]


def test_other_statuses_are_retried_up_to_max_retries(servers, receiver):
    """--max-retries 3: four attempts, 200 ms then 400 ms (repeating) apart."""
    s = servers.start(args=FAST)
    api = s.client()
    hooks = {code: make_hook(api, receiver, f"/r{code}") for code in RETRIED}
    for code in RETRIED:
        receiver.script(f"/r{code}", code)
    [aid] = ingest(api, [act(person(api), "retry-1")])
    for code, wh in hooks.items():
        e = wait_delivery(api, wh["id"], aid, "failed", timeout=15)
        assert e["attempts"] == 4 and e["status_code"] == code, e
        assert e["next_attempt_at"] is None, e
        assert [a["status_code"] for a in e["attempts_detail"]] == [code] * 4, e
        times = [ts(a["time"]) for a in e["attempts_detail"]]
        assert times == sorted(times), e
    time.sleep(0.7)  # no fifth attempt
    for code, wh in hooks.items():
        reqs = receiver.requests(f"/r{code}")
        assert len(reqs) == 4, (code, reqs)
        gaps = [b.time - a.time for a, b in zip(reqs, reqs[1:])]
        for gap, delay in zip(gaps, [0.2, 0.4, 0.4]):
            assert delay - 0.05 <= gap <= delay + SLACK, (code, gaps)
        assert stats(api, wh["id"]) == {"succeeded_24h": 0, "failed_24h": 1, "pending": 0,
                                        "skipped": 0}


def test_max_retries_zero_is_one_attempt(servers, receiver):
    s = servers.start(args=["--retry-schedule", "100ms", "--max-retries", "0"])
    api = s.client()
    wh = make_hook(api, receiver, "/once")
    receiver.script("/once", 503)
    [aid] = ingest(api, [act(person(api), "once")])
    e = wait_delivery(api, wh["id"], aid, "failed")
    assert e["attempts"] == 1 and e["status_code"] == 503, e
    time.sleep(0.5)
    assert receiver.count("/once") == 1


def test_retry_until_success_same_body_id_and_valid_signatures(servers, receiver):
    s = servers.start(args=FAST)
    api = s.client()
    wh = make_hook(api, receiver, "/flaky")
    receiver.script("/flaky", [500, ("status", 503, b"busy"), ("status", 200, b"thanks")])
    [aid] = ingest(api, [act(person(api), "flaky-1")])
    e = wait_delivery(api, wh["id"], aid, "succeeded")
    assert e["attempts"] == 3 and e["status_code"] == 200 and e["error"] is None, e
    assert [a["status_code"] for a in e["attempts_detail"]] == [500, 503, 200], e
    assert e["attempts_detail"][1]["response_body"] == "busy", e
    assert e["response"] == {"status_code": 200, "body": "thanks",
                             "duration_ms": e["response"]["duration_ms"]}, e
    reqs = receiver.requests("/flaky")
    assert len(reqs) == 3, reqs
    body = e["request"]["body"].encode()
    payload = reqs[0].json()
    assert payload["id"] == e["id"] and payload["webhook_id"] == wh["id"], payload
    assert payload["activity"]["id"] == aid and "test" not in payload, payload
    stamps = []
    for r in reqs:
        assert r.method == "POST" and r.target == "/flaky", r
        assert r.body == body, "the body differs between attempts"
        assert r.header("webhook-id") == e["id"], r
        check_signed(r, wh["secret"])
        stamps.append(int(r.header("webhook-timestamp")))
    # timestamps move only with the time elapsed between attempts
    for r, stamp in zip(reqs, stamps):
        assert abs((stamp - stamps[0]) - (r.time - reqs[0].time)) <= 1.5, (stamps, reqs)
    # the logged request shows the last attempt's timestamp and signature
    assert e["request"]["headers"]["webhook-timestamp"] == reqs[-1].header("webhook-timestamp")
    assert e["request"]["headers"]["webhook-signature"] == reqs[-1].header("webhook-signature")
    assert e["request"]["headers"]["webhook-id"] == e["id"]


def test_hang_times_out_and_is_retried(servers, receiver):
    s = servers.start(args=["--retry-schedule", "200ms", "--max-retries", "3",
                            "--request-timeout", "500ms"])
    api = s.client()
    wh = make_hook(api, receiver, "/hang")
    receiver.script("/hang", ["hang", 200])
    [aid] = ingest(api, [act(person(api), "hang-1")])
    e = wait_delivery(api, wh["id"], aid, "succeeded")
    assert e["attempts"] == 2, e
    first, second = e["attempts_detail"]
    assert first["status_code"] is None, first
    assert isinstance(first["error"], str) and first["error"], first
    assert 450 <= first["duration_ms"] <= 500 + SLACK * 1000, first
    assert second["status_code"] == 200 and second["error"] is None, second
    reqs = receiver.requests("/hang")
    assert len(reqs) == 2, reqs
    # the timeout (500 ms) then the retry delay (200 ms)
    assert reqs[1].time - reqs[0].time >= 0.65, reqs
    assert reqs[0].body == reqs[1].body


def test_reset_connection_is_retried_with_an_error(servers, receiver):
    s = servers.start(args=FAST)
    api = s.client()
    wh = make_hook(api, receiver, "/reset")
    receiver.script("/reset", ["reset", "reset", 200])
    [aid] = ingest(api, [act(person(api), "reset-1")])
    e = wait_delivery(api, wh["id"], aid, "succeeded")
    assert e["attempts"] == 3, e
    for a in e["attempts_detail"][:2]:
        assert a["status_code"] is None, a
        assert isinstance(a["error"], str) and a["error"], a
    assert e["attempts_detail"][2]["status_code"] == 200
    assert receiver.count("/reset") == 3


def test_only_the_first_4_KiB_of_a_response_are_kept(servers, receiver):
    s = servers.start(args=FAST)
    api = s.client()
    wh = make_hook(api, receiver, "/big")
    big = b"".join(b"%07d\n" % i for i in range(100 * 1024 // 8))  # 100 KiB of ASCII
    receiver.script("/big", [("status", 500, big), ("status", 200, big)])
    [aid] = ingest(api, [act(person(api), "big-1")])
    e = wait_delivery(api, wh["id"], aid, "succeeded")
    assert e["attempts"] == 2, e
    assert len(e["response"]["body"]) == 4096, len(e["response"]["body"])
    assert e["response"]["body"] == big[:4096].decode()
    assert [a["response_body"] for a in e["attempts_detail"]] == [big[:4096].decode()] * 2


def test_next_attempt_at_follows_the_default_schedule(servers, receiver):
    """Default schedule 5m, 15m, …: after a 500 the next attempt is five
    minutes after the attempt; a retry now goes out at once and the one after
    is fifteen minutes out."""
    s = servers.start()
    api = s.client()
    wh = make_hook(api, receiver, "/later")
    receiver.script("/later", ("status", 500, b"down"))
    [aid] = ingest(api, [act(person(api), "later-1")])
    e = wait_delivery(api, wh["id"], aid, "retrying", attempts=1)
    [req] = receiver.requests("/later")
    assert e["status_code"] == 500 and e["response"]["body"] == "down", e
    due = ts(e["next_attempt_at"])
    assert 300 - 3 <= due - req.time <= 300 + 3, (e["next_attempt_at"], req.time)
    assert 300 - 3 <= due - ts(e["attempts_detail"][0]["time"]) <= 300 + 3, e
    assert stats(api, wh["id"])["pending"] == 1

    r = api.post(f"/api/v1/webhooks/{wh['id']}/logs/{e['id']}/retry")
    assert r.status_code == 202, r.text
    assert r.json()["id"] == e["id"], r.json()
    e2 = wait_delivery(api, wh["id"], aid, "retrying", attempts=2)
    reqs = receiver.requests("/later")
    assert len(reqs) == 2 and reqs[1].body == reqs[0].body, reqs
    assert reqs[1].time - reqs[0].time < 5, "the retry did not go out at once"
    due2 = ts(e2["next_attempt_at"])
    assert 900 - 3 <= due2 - reqs[1].time <= 900 + 3, (e2["next_attempt_at"], reqs[1].time)


# ---------------------------------------------------------------------------
# what a request carries


def test_headers_auth_order_and_signature(servers, receiver):
    s = servers.start(args=FAST)
    api = s.client()
    password = "p@ss:w0rd-never-logged"
    wh = make_hook(api, receiver, "/h", basic_auth={"username": "user", "password": password},
                   headers=[{"key": "X-Zeta", "value": "last letter"},
                            {"key": "X-Alpha", "value": "first letter"}])
    expected_auth = "Basic " + base64.b64encode(f"user:{password}".encode()).decode()
    [aid] = ingest(api, [act(person(api), "hdr-1")])
    e = wait_delivery(api, wh["id"], aid, "succeeded")
    [test_req] = receiver.requests("/h", tests="only")
    [req] = receiver.requests("/h")
    for r in (test_req, req):
        assert r.method == "POST", r
        assert r.header("Content-Type") == "application/json", r
        assert r.header("User-Agent") == f"hookd/{hookd_version()}", r
        assert r.header_all("Authorization") == [expected_auth], r
        assert r.header("X-Zeta") == "last letter" and r.header("X-Alpha") == "first letter", r
        check_signed(r, wh["secret"])
        assert r.header("webhook-id") == r.json()["id"], r
        order = ["content-type", "user-agent", "webhook-id", "webhook-timestamp",
                 "webhook-signature", "authorization", "x-zeta", "x-alpha"]
        names = [n.lower() for n in r.header_names()]
        for n in order:
            assert names.count(n) == 1, (n, r.headers)
        pos = [names.index(n) for n in order]
        assert pos == sorted(pos), f"header order {r.header_names()}"
    # the delivery: id everywhere the same, body as logged
    assert req.header("webhook-id") == e["id"] == req.json()["id"]
    assert req.body == e["request"]["body"].encode()
    h = e["request"]["headers"]
    assert h["Authorization"] == "[redacted]", h
    assert h["webhook-timestamp"] == req.header("webhook-timestamp"), h
    assert h["webhook-signature"] == req.header("webhook-signature"), h
    assert h["User-Agent"] == req.header("User-Agent") and h["X-Zeta"] == "last letter", h
    raw = api.get(f"/api/v1/webhooks/{wh['id']}/logs").text
    raw += api.get(f"/api/v1/webhooks/{wh['id']}/logs/{e['id']}").text
    assert password not in raw and expected_auth.split()[1] not in raw

    # after rotate-secret, requests are signed with the new secret, then for
    # the overlap (24 h by default) the previous one too (test_rotation.py)
    r = api.post(f"/api/v1/webhooks/{wh['id']}/rotate-secret")
    assert r.status_code == 200, r.text
    new_secret = r.json()["secret"]
    assert new_secret != wh["secret"]
    r = api.post(f"/api/v1/webhooks/{wh['id']}/test")
    assert r.status_code == 200 and r.json()["ok"] is True, r.text
    last = receiver.requests("/h", tests="only")[-1]
    sig = [expected_signature(s, last.header("webhook-id"), last.header("webhook-timestamp"),
                              last.body) for s in (new_secret, wh["secret"])]
    assert last.header("webhook-signature") == " ".join(sig), last


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_get_and_delete_send_no_body_payload_in_query(servers, receiver, method):
    s = servers.start(args=FAST)
    api = s.client()
    path = f"/{method.lower()}"
    wh = make_hook(api, receiver, path + "?a=1", method=method)
    [test_req] = receiver.requests(path, tests="only")
    assert test_req.method == method and test_req.body == b"", test_req
    assert ("activity.field_id", "act::test_webhook") in test_req.query_pairs(), test_req
    receiver.script(path, [503, 200])
    [aid] = ingest(api, [act(person(api, "q@x.io"), "q-1")])
    e = wait_delivery(api, wh["id"], aid, "succeeded")
    assert e["attempts"] == 2 and e["request"]["body"] == "", e
    assert "Content-Type" not in e["request"]["headers"], e
    reqs = receiver.requests(path)
    assert len(reqs) == 2, reqs
    sent = urllib.parse.urlsplit(e["request"]["url"])
    for r in reqs + [test_req]:
        assert r.method == method and r.body == b"", r
        assert r.header("Content-Type") is None, r
        assert int(r.header("Content-Length") or 0) == 0, r
        check_signed(r, wh["secret"])
    for r in reqs:
        assert r.target == f"{sent.path}?{sent.query}", (r.target, e["request"]["url"])
        assert r.target == reqs[0].target  # the same payload on every attempt
        pairs = r.query_pairs()
        assert pairs[0] == ("a", "1"), pairs
        for kv in [("id", e["id"]), ("webhook_id", wh["id"]), ("activity.id", aid),
                   ("activity.field_id", "act::s"), ("contact.email", "q@x.io")]:
            assert kv in pairs, (kv, pairs)
        assert r.header("webhook-id") == e["id"]


# ---------------------------------------------------------------------------
# test sends


def test_test_sends_are_never_retried_and_count_nowhere(servers, receiver):
    s = servers.start(args=FAST)
    api = s.client()
    receiver.script("/t", ("status", 500, b"nope"))
    r = api.post("/api/v1/webhooks", {"name": "t", "url": receiver.url + "/t",
                                      "keys": {"contact_id": "cid", "email": "mail"}})
    assert r.status_code == 201, r.text
    wh = r.json()
    assert set(wh["test"]) == {"ok", "status_code", "error"}, wh["test"]
    assert wh["test"]["ok"] is False and wh["test"]["status_code"] == 500, wh["test"]
    [req] = receiver.requests("/t", tests="only")
    p = req.json()
    assert list(p) == ["activity", "contact", "id", "time", "webhook_id", "test"], p
    assert p["test"] is True and p["webhook_id"] == wh["id"], p
    assert p["activity"]["field_id"] == "act::test_webhook" and p["activity"]["attr"] == {}, p
    assert {"id", "field_id", "created", "attr"} <= set(p["activity"]), p
    assert "cid" in p["contact"] and "mail" in p["contact"], p
    assert req.header("webhook-id") == p["id"]
    check_signed(req, wh["secret"])

    r = api.post(f"/api/v1/webhooks/{wh['id']}/test")
    assert r.status_code == 200, r.text
    t = r.json()
    assert set(t) == {"ok", "status_code", "response_body", "duration_ms", "error"}, t
    assert t["ok"] is False and t["status_code"] == 500 and t["response_body"] == "nope", t
    assert isinstance(t["duration_ms"], int) and t["duration_ms"] >= 0, t
    time.sleep(0.7)  # a retry would have come after 200 ms
    reqs = receiver.requests("/t", tests="only")
    assert len(reqs) == 2, reqs
    tests = logs(api, wh["id"], kind="test")
    assert len(tests) == 2, tests
    assert tests[0]["id"] == reqs[1].header("webhook-id"), (tests, reqs)
    assert tests[0]["attempts"] == 1 and tests[0]["status_code"] == 500, tests
    assert tests[0]["next_attempt_at"] is None

    receiver.script("/t", 200)
    r = api.post(f"/api/v1/webhooks/{wh['id']}/test")
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["ok"] is True and t["status_code"] == 200 and t["error"] is None, t

    # an unsaved webhook: same rules as create, sent once, logged nowhere
    n_logs = len(logs(api, wh["id"], kind=None))
    n_hooks = api.count()
    r = api.post("/api/v1/webhooks/test",
                 {"name": "unsaved", "url": receiver.url + "/unsaved", "method": "PUT",
                  "headers": [{"key": "X-U", "value": "1"}]})
    assert r.status_code == 200, r.text
    assert r.json()["ok"] is True and r.json()["status_code"] == 200, r.text
    [u] = receiver.requests("/unsaved", tests=True)
    assert u.method == "PUT" and u.is_test and u.header("X-U") == "1", u
    assert u.header("webhook-id") and u.header("webhook-signature"), u
    assert_error(api.post("/api/v1/webhooks/test", {"name": "x", "url": "ftp://x"}),
                 400, "invalid", "url")
    assert api.count() == n_hooks
    assert len(logs(api, wh["id"], kind=None)) == n_logs
    assert stats(api, wh["id"]) == {"succeeded_24h": 0, "failed_24h": 0, "pending": 0,
                                    "skipped": 0}


# ---------------------------------------------------------------------------
# disconnect, retry, delete, retention


def test_disconnect_holds_and_connect_resumes(servers, receiver):
    s = servers.start(args=["--retry-schedule", "800ms", "--max-retries", "5",
                            "--request-timeout", "500ms"])
    api = s.client()
    wh = make_hook(api, receiver, "/dc")
    wid = wh["id"]
    receiver.script("/dc", [500, 200])
    cid = person(api)
    [a1] = ingest(api, [act(cid, "dc-1")])
    e = wait_delivery(api, wid, a1, "retrying", attempts=1)
    assert e["next_attempt_at"] is not None, e
    r = api.post(f"/api/v1/webhooks/{wid}/disconnect")
    assert r.status_code == 200 and r.json()["connected"] is False, r.text
    e = wait_delivery(api, wid, a1, "held", timeout=2)
    assert e["attempts"] == 1 and e["next_attempt_at"] is None, e
    [a2] = ingest(api, [act(cid, "dc-2")])
    assert entry_of(api, wid, a2) is None  # not queued
    assert stats(api, wid) == {"succeeded_24h": 0, "failed_24h": 0, "pending": 1, "skipped": 1}
    time.sleep(1.0)  # past the 800 ms the retry was due: nothing goes out
    assert receiver.count("/dc") == 1, receiver.requests("/dc")
    assert entry_of(api, wid, a1)["state"] == "held"

    r = api.post(f"/api/v1/webhooks/{wid}/connect")
    assert r.status_code == 200 and r.json()["connected"] is True, r.text
    e = wait_delivery(api, wid, a1, "succeeded", timeout=10)
    assert e["attempts"] == 2, e  # the attempt count was kept
    assert [a["status_code"] for a in e["attempts_detail"]] == [500, 200], e
    reqs = receiver.requests("/dc")
    assert [r.activity_id for r in reqs] == [a1, a1], reqs
    assert entry_of(api, wid, a2) is None
    assert stats(api, wid) == {"succeeded_24h": 1, "failed_24h": 0, "pending": 0, "skipped": 1}


def test_retry_endpoint(servers, receiver):
    s = servers.start(args=["--retry-schedule", "200ms", "--max-retries", "1",
                            "--request-timeout", "500ms"])
    api = s.client()
    final = make_hook(api, receiver, "/final")
    flaky = make_hook(api, receiver, "/down")
    receiver.script("/final", 404)
    receiver.script("/down", 500)
    [aid] = ingest(api, [act(person(api), "rt-1")])
    e = wait_delivery(api, final["id"], aid, "failed", attempts=1)
    d = wait_delivery(api, flaky["id"], aid, "failed", attempts=2)  # max-retries 1

    def retry(wid, did):
        return api.post(f"/api/v1/webhooks/{wid}/logs/{did}/retry")

    # a final failure gets one more attempt, and fails again
    r = retry(final["id"], e["id"])
    assert r.status_code == 202, r.text
    assert r.json()["id"] == e["id"] and r.json()["activity_id"] == aid, r.json()
    e = wait_delivery(api, final["id"], aid, "failed", attempts=2)
    assert receiver.count("/final") == 2
    # ... and then succeeds; a succeeded one cannot be retried
    receiver.script("/final", 200)
    assert retry(final["id"], e["id"]).status_code == 202
    e = wait_delivery(api, final["id"], aid, "succeeded", attempts=3)
    assert_error(retry(final["id"], e["id"]), 409, "conflict")
    # a delivery out of retries gets exactly one more attempt
    assert retry(flaky["id"], d["id"]).status_code == 202
    d = wait_delivery(api, flaky["id"], aid, "failed", attempts=3)
    assert d["next_attempt_at"] is None, d
    time.sleep(0.5)  # no retry is scheduled after it
    assert receiver.count("/down") == 3 and receiver.count("/final") == 3
    assert entry_of(api, flaky["id"], aid)["attempts"] == 3
    assert_error(retry(final["id"], "00000000-0000-7000-8000-000000000000"), 404, "not_found")


def test_delete_cancels_waiting_deliveries(servers, receiver):
    s = servers.start(args=["--retry-schedule", "800ms", "--max-retries", "5"])
    api = s.client()
    wh = make_hook(api, receiver, "/gone")
    receiver.script("/gone", 500)
    [aid] = ingest(api, [act(person(api), "del-1")])
    wait_delivery(api, wh["id"], aid, "retrying", attempts=1)
    assert api.delete(f"/api/v1/webhooks/{wh['id']}").status_code == 204
    time.sleep(1.0)  # past the 800 ms the retry was due
    assert receiver.count("/gone") == 1, receiver.requests("/gone")


def test_log_retention_prunes_finished_deliveries_only(servers, receiver):
    s = servers.start(args=["--log-retention", "1s", "--retry-schedule", "1m"])
    api = s.client()
    ok = make_hook(api, receiver, "/kept-briefly")
    bad = make_hook(api, receiver, "/waiting")
    receiver.script("/waiting", 500)
    t0 = time.time()
    [aid] = ingest(api, [act(person(api), "ret-1")])
    done = wait_delivery(api, ok["id"], aid, "succeeded")
    wait_delivery(api, bad["id"], aid, "retrying")
    wait_for(lambda: entry_of(api, ok["id"], aid) is None, timeout=10,
             what=lambda: entry_of(api, ok["id"], aid))
    assert time.time() - t0 >= 1.0
    assert_error(api.get(f"/api/v1/webhooks/{ok['id']}/logs/{done['id']}"), 404, "not_found")
    kept = entry_of(api, bad["id"], aid)
    assert kept is not None and kept["state"] == "retrying", kept


# ---------------------------------------------------------------------------
# the outbound address guard


GUARD_HOSTS = ["127.0.0.1", "0x7f.1", "[::ffff:127.0.0.1]", "0.0.0.0", "localhost"]


@pytest.mark.parametrize("host", GUARD_HOSTS)
def test_address_guard_refuses_private_addresses(servers, receiver, host):
    if host.startswith("[") and ipv6_loopback_problem():
        pytest.skip(f"IPv4-mapped IPv6 needs IPv6 here: {ipv6_loopback_problem()}")
    url = f"http://{host}:{receiver.port}/guard"
    # control: with --allow-private-networks this URL reaches the receiver
    ctl = servers.start(db=servers.tmp / "control.db").client()
    r = ctl.post("/api/v1/webhooks", {"name": "ctl", "url": url})
    assert r.status_code == 201 and r.json()["test"]["ok"] is True, r.text
    assert receiver.count("/guard", tests=True) == 1
    receiver.clear()

    s = servers.start(private=False, args=FAST)
    api = s.client()
    r = api.post("/api/v1/webhooks", {"name": "g", "url": url, "activities": ["act::s"]})
    assert r.status_code == 201, r.text  # creation succeeds whatever the test's outcome
    wh = r.json()
    assert wh["test"]["ok"] is False and wh["test"]["status_code"] is None, wh["test"]
    assert "not allowed" in wh["test"]["error"], wh["test"]
    [aid] = ingest(api, [act(person(api), "guard-1")])
    e = wait_delivery(api, wh["id"], aid, "failed")
    assert e["attempts"] == 1 and e["status_code"] is None, e
    assert "not allowed" in e["error"] and e["next_attempt_at"] is None, e
    time.sleep(0.5)  # a retry would have come after 200 ms
    assert entry_of(api, wh["id"], aid)["attempts"] == 1
    assert receiver.requests(tests=True) == []


# ---------------------------------------------------------------------------
# crashes and stops


@pytest.mark.parametrize("run", range(3))
def test_kill9_mid_delivery_loses_nothing(servers, receiver, run):
    args = ["--retry-schedule", "200ms", "--request-timeout", "5s"]
    s = servers.start(args=args)
    api = s.client()
    wh = make_hook(api, receiver, "/bulk")
    cid = person(api)
    receiver.delay = 0.005
    ids = [f"kill{run}-{i:04d}" for i in range(3000)]
    for b in range(3):
        ingest(api, [act(cid, aid) for aid in ids[b * 1000:(b + 1) * 1000]])
    at_ingest = len(receiver.activity_ids())
    assert at_ingest < 2800, (
        f"{at_ingest} of 3000 delivered before ingest ended: the kill cannot land mid-way "
        "(slow the receiver down)")
    receiver.wait(lambda r: len(r.activity_ids()) >= at_ingest + 100, timeout=20)
    s.kill9()
    at_kill = receiver.activity_ids()
    assert 0 < len(at_kill) < 3000, f"{len(at_kill)} received when killed: not mid-delivery"
    assert at_kill <= set(ids)

    s2 = servers.start(s.db, args=args)
    api2 = s2.client()
    receiver.wait(lambda r: len(r.activity_ids()) == 3000, timeout=60)
    assert receiver.activity_ids() == set(ids)
    # and hookd knows it: every delivery succeeded, none waiting
    wait_for(lambda: stats(api2, wh["id"]) == {"succeeded_24h": 3000, "failed_24h": 0,
                                               "pending": 0, "skipped": 0},
             timeout=10, what=lambda: stats(api2, wh["id"]))


def test_sigterm_lets_the_inflight_attempt_finish(servers, receiver):
    args = ["--retry-schedule", "200ms", "--request-timeout", "5s"]
    s = servers.start(args=args)
    api = s.client()
    wh = make_hook(api, receiver, "/slow")
    receiver.script("/slow", ("delay", 1.0, 200))
    [aid] = ingest(api, [act(person(api), "term-1")])
    [req] = receiver.wait_count(1, "/slow")
    assert req.answered_at is None  # in flight
    s.stop(signal.SIGTERM, expect=0)
    exited = time.time()
    assert req.answered_at is not None and exited >= req.answered_at, (
        "hookd exited before the in-flight attempt was answered")

    s2 = servers.start(s.db, args=args)
    api2 = s2.client()
    e = entry_of(api2, wh["id"], aid)
    assert e["state"] == "succeeded" and e["attempts"] == 1 and e["status_code"] == 200, e
    d = detail(api2, wh["id"], e["id"])
    [a] = d["attempts_detail"]
    assert a["status_code"] == 200 and a["duration_ms"] >= 900, a
    time.sleep(0.5)  # the restarted server sends nothing again
    assert receiver.count("/slow") == 1, receiver.requests("/slow")
