"""Test sends (docs/api.md#test-sends) run off the API's threads: a hanging endpoint
holds no handler thread while its tests wait, at most --max-test-sends run
at once (past it: 429 on /test, a create that says its test was not sent),
a stop answers every test in flight, and a test whose outcome cannot be
logged is not answered as if it had been (503, nothing half-stored)."""

import errno
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import assert_error, hook_body
from receiver import receiver  # noqa: F401  (a fixture)

TIMEOUT = "3s"  # --request-timeout: how long a hanging test holds its slot
FAST = 1.0  # seconds: what "at once" means for /healthz and a list meanwhile
CONCURRENT = 12  # more than the API's handler threads on a small machine
TOO_MANY = "too many test sends in progress"


def logs(api, wid, kind="test"):
    r = api.get(f"/api/v1/webhooks/{wid}/logs?limit=200")
    assert r.status_code == 200, r.text
    return [e for e in r.json()["entries"] if kind is None or e["kind"] == kind]


def timed_get(api, path):
    t0 = time.monotonic()
    r = api.get(path)
    return r, time.monotonic() - t0


def start_hanging(server, wid, n, receiver):
    """Starts n POST /webhooks/{wid}/test in threads, each with a client of
    its own (a requests session is not thread-safe), and waits until the
    receiver holds them all; returns (pool, futures)."""
    pool = ThreadPoolExecutor(max_workers=n)
    futs = [pool.submit(server.client().request, "POST", f"/api/v1/webhooks/{wid}/test",
                        timeout=30)
            for _ in range(n)]
    receiver.wait(lambda r: r.held() >= n, timeout=10)
    return pool, futs


def test_hanging_test_sends_hold_no_api_thread(servers, receiver):
    s = servers.start(args=["--request-timeout", TIMEOUT])
    # the client side: one session per thread (requests' sessions are not
    # thread-safe)
    clients = [s.client() for _ in range(CONCURRENT)]
    api = s.client()
    wh = api.create({"name": "hangs", "url": receiver.url + "/hang"})
    assert wh["test"]["ok"] is True, wh["test"]
    receiver.script("/hang", "hang")

    pool = ThreadPoolExecutor(max_workers=CONCURRENT)
    t0 = time.monotonic()
    futs = [pool.submit(c.request, "POST", f"/api/v1/webhooks/{wh['id']}/test", timeout=30)
            for c in clients]
    try:
        receiver.wait(lambda r: r.held() >= 8, timeout=10)
        time.sleep(0.2)
        for path in ("/healthz", "/api/v1/webhooks"):
            r, took = timed_get(api, path)
            assert r.status_code == 200, r.text
            assert took < FAST, f"GET {path} took {took:.2f}s while test sends hang"
        # every test is at the endpoint at once: none waits for a thread
        receiver.wait(lambda r: r.held() >= CONCURRENT, timeout=2)
        answers = [f.result() for f in futs]
    finally:
        pool.shutdown(wait=True)
    took = time.monotonic() - t0
    assert took < 3 + 3, f"{CONCURRENT} hanging tests took {took:.1f}s: they ran in turns"
    for r in answers:
        assert r.status_code == 200, r.text
        t = r.json()
        assert set(t) == {"ok", "status_code", "response_body", "duration_ms", "error"}, t
        assert t["ok"] is False and t["status_code"] is None and t["error"], t
        assert 2500 <= t["duration_ms"] < 6000, t
    # each outcome is in the log, as before: one failed test per send, and
    # the creation's
    entries = logs(api, wh["id"])
    assert len(entries) == CONCURRENT + 1, entries
    assert sorted(e["state"] for e in entries) == ["failed"] * CONCURRENT + ["succeeded"]
    sent = {q.header("webhook-id") for q in receiver.requests("/hang", tests="only")}
    assert {e["id"] for e in entries} == sent


def test_past_the_cap_test_answers_429_and_create_still_creates(servers, receiver):
    s = servers.start(args=["--request-timeout", TIMEOUT, "--max-test-sends", "2"])
    api = s.client()
    hang = api.create({"name": "hangs", "url": receiver.url + "/hang"})
    ok = api.create({"name": "fine", "url": receiver.url + "/ok"})
    receiver.script("/hang", "hang")
    t0 = time.monotonic()
    pool, futs = start_hanging(s, hang["id"], 2, receiver)
    try:
        n_received = len(receiver.requests(tests=True))
        # the cap is full: another test is refused at once, for any webhook
        for r in (api.post(f"/api/v1/webhooks/{ok['id']}/test"),
                  api.post("/api/v1/webhooks/test", {"name": "u", "url": receiver.url + "/u"})):
            e = assert_error(r, 429, "rate_limited", None)
            assert "test sends" in e["message"], e
            wait = int(r.headers["Retry-After"])
            assert 1 <= wait <= 3, r.headers
        # a create still creates; its test was not sent
        r = api.post("/api/v1/webhooks", hook_body(receiver.url, name="created past the cap"))
        assert r.status_code == 201, r.text
        made = r.json()
        assert made["test"] == {"ok": False, "status_code": None, "error": TOO_MANY}, made
        assert api.fetch(made["id"])["name"] == "created past the cap"
        assert logs(api, made["id"], kind=None) == []
        assert len(receiver.requests(tests=True)) == n_received, "a refused test was sent"
        answers = [f.result() for f in futs]
    finally:
        pool.shutdown(wait=True)
    assert all(r.status_code == 200 and r.json()["ok"] is False for r in answers), answers
    assert time.monotonic() - t0 < 3 + 3
    # the slots are free again
    r = api.post(f"/api/v1/webhooks/{ok['id']}/test")
    assert r.status_code == 200 and r.json()["ok"] is True, r.text
    r = api.post("/api/v1/webhooks", hook_body(receiver.url, name="after"))
    assert r.status_code == 201 and r.json()["test"]["ok"] is True, r.text


def test_a_stop_answers_the_test_sends_in_flight(servers, receiver):
    s = servers.start(args=["--request-timeout", TIMEOUT])
    api = s.client()
    wh = api.create({"name": "hangs", "url": receiver.url + "/hang"})
    receiver.script("/hang", "hang")
    clients = [s.client() for _ in range(3)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        futs = [pool.submit(c.request, "POST", f"/api/v1/webhooks/{wh['id']}/test", timeout=30)
                for c in clients]
        receiver.wait(lambda r: r.held() >= 3, timeout=10)
        t0 = time.monotonic()
        s.stop()
        assert time.monotonic() - t0 < 3 + 5
        answers = [f.result() for f in futs]
    for r in answers:
        assert r.status_code == 200, r.text
        assert r.json()["ok"] is False and r.json()["error"], r.text


# ---------------------------------------------------------------------------
# a full disk while a test is sent

class Tmpfs:
    """A size-limited tmpfs at path, and a file that fills it."""

    def __init__(self, path, size="8m"):
        self.path = path
        self.filler = path / "filler"
        path.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       check=True)

    def fill(self):
        with open(self.filler, "ab") as f:
            chunk = b"\0" * 65536
            try:
                while True:
                    f.write(chunk)
                    f.flush()
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
        # and the last few bytes a 64 KiB write could not take
        with open(self.filler, "ab", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 512)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e

    def free(self):
        if self.filler.exists():
            self.filler.unlink()

    def unmount(self):
        subprocess.run(["umount", "-l", str(self.path)], check=False)


@pytest.fixture
def small_disk(tmp_path, servers):
    """The tmpfs; the servers on it are stopped before it is unmounted."""
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root")
    fs = Tmpfs(tmp_path / "disk")
    try:
        yield fs
    finally:
        try:
            servers.stop_all()
        finally:
            fs.unmount()


def fill_then(disk, action):
    """A receiver action: fills the disk, then answers action."""
    def act(req):
        disk.fill()
        return action
    return act


@pytest.mark.sqlite_only("fills the filesystem under the SQLite file")
def test_a_test_whose_outcome_cannot_be_logged_answers_503(servers, receiver, small_disk):
    s = servers.start(db=small_disk.path / "hookd.db")
    api = s.client()
    kept = api.create({"name": "kept", "url": receiver.url + "/kept"})
    assert kept["test"]["ok"] is True, kept
    # the send happens, its log row cannot be written: no result is answered
    receiver.script("/kept", [fill_then(small_disk, 200), 200])
    try:
        assert_error(api.post(f"/api/v1/webhooks/{kept['id']}/test"), 503, "unavailable")
    finally:
        small_disk.free()
    assert len(receiver.requests("/kept", tests="only")) == 2
    assert len(logs(api, kept["id"])) == 1
    r = api.post(f"/api/v1/webhooks/{kept['id']}/test")
    assert r.status_code == 200 and r.json()["ok"] is True, r.text
    assert len(logs(api, kept["id"])) == 2


@pytest.mark.sqlite_only("fills the filesystem under the SQLite file")
def test_a_create_whose_test_cannot_be_logged_answers_503_and_stores_nothing(
        servers, receiver, small_disk):
    s = servers.start(db=small_disk.path / "hookd.db")
    api = s.client()
    receiver.script("/half", [fill_then(small_disk, 200), 200])
    try:
        r = api.post("/api/v1/webhooks", {"name": "half", "url": receiver.url + "/half"})
        assert_error(r, 503, "unavailable")
    finally:
        small_disk.free()
    assert len(receiver.requests("/half", tests="only")) == 1
    assert api.webhooks() == [], "a half-made webhook was kept"
    # space again: a create succeeds, its test in the log
    r = api.post("/api/v1/webhooks", {"name": "after", "url": receiver.url + "/half"})
    assert r.status_code == 201 and r.json()["test"]["ok"] is True, r.text
    [entry] = logs(api, r.json()["id"])
    assert entry["state"] == "succeeded" and entry["status_code"] == 200, entry
    assert [w["name"] for w in api.webhooks()] == ["after"]
