"""The delivery engine when its store fails for a while (issue 11, defects 1
and 2; docs/architecture.md "The delivery engine"): what a user sees of the
deliveries whose outcomes could not be stored, of attempts in flight while the
store is busy, and of deliveries claimed by a process that stopped working.

The SQLite tests lock the database from another process (Python's sqlite3,
`BEGIN EXCLUSIVE` on the same file: in WAL mode that is the write lock, so
hookd's reads go on and its writes wait up to the 5 s busy timeout, then fail)
for longer than that timeout, then release it and write nothing more to hookd:
whatever happens afterwards is the engine's own doing.

The PostgreSQL test stops a process with SIGSTOP (it keeps its connections and
its liveness lock, so only its claims' leases can free what it holds) and
lets those leases run out by moving their end into the past in the database
(`queue.lease_until`, what 30 s of waiting would do), so the test takes
seconds, not the lease's 30 s; no hookd write follows, so the idle process
must find the work by itself."""

import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter

import pytest

import conftest
from conftest import BACKEND, PSQL
from receiver import Receiver
from test_delivery import act, make_hook, person, wait_for
from test_engine import activity_entries, slow

LOCK_SECONDS = 7  # longer than hookd's 5 s busy timeout: its writes fail
FINAL = ("succeeded", "failed")


@pytest.fixture
def rcv():
    r = Receiver(backlog=512)
    yield r
    r.stop()


class Locker:
    """Holds the SQLite database at path write-locked from this process (another
    process, to hookd) for `seconds`, in a thread of its own."""

    def __init__(self, path, seconds):
        self.path, self.seconds = str(path), seconds
        self.locked = threading.Event()
        self.released_at = None
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                db.execute("BEGIN EXCLUSIVE")
                self.locked.set()
                time.sleep(self.seconds)
                db.execute("ROLLBACK")
            finally:
                db.close()
        except BaseException as e:  # shown by join()
            self.error = e
        finally:
            self.released_at = time.monotonic()
            self.locked.set()

    def start(self):
        self.thread.start()
        assert self.locked.wait(30), "could not lock the database"
        assert self.error is None, self.error

    def join(self):
        self.thread.join(self.seconds + 30)
        assert not self.thread.is_alive() and self.error is None, self.error


def post_batches(api, cid, ids, batch=100):
    for i in range(0, len(ids), batch):
        r = api.post("/api/v1/activities",
                     {"activities": [act(cid, a) for a in ids[i:i + batch]]})
        assert r.status_code == 202, r.text


def figures(api, wid, rcv, path, ids):
    """What a user can count: the deliveries' states in the log, and how often
    the receiver saw each activity."""
    entries = activity_entries(api, wid)
    states = Counter(e["state"] for e in entries)
    sent = Counter(r.activity_id for r in rcv.requests(path))
    return {
        "deliveries": len(entries),
        "states": dict(states),
        # a last attempt logged as anything but the receiver's 200 (a timeout
        # would show here: no status, libcurl's "timed out" error)
        "not logged as answered 200": sum(1 for e in entries
                                          if e["status_code"] != 200 or e["error"] is not None),
        "received": sum(sent.values()),
        "activities reached": len(set(sent) & set(ids)),
        "sent more than once": sum(1 for n in sent.values() if n > 1),
        "most sends of one": max(sent.values(), default=0),
    }


def sql(db, statement):
    """Runs one SQL statement on db's PostgreSQL database."""
    p = subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conftest.PG.url(db),
                        "-c", statement], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


# ---------------------------------------------------------------------------
# defect 1: nothing stuck after a store failure


@pytest.mark.sqlite_only("locks the SQLite file from another process")
def test_outcomes_unstorable_for_seconds_then_nothing_stuck(servers, rcv):
    """200 deliveries are attempted while the database is locked, so none of
    their outcomes can be stored; once the lock goes, with nothing more written
    to hookd, every one reaches a final state within seconds, each sent once."""
    n = 200
    s = servers.start(args=["--retry-schedule", "200ms", "--max-retries", "5",
                            "--request-timeout", "5s"])
    api = s.client()
    rcv.script("/burst", ("delay", 0.05, 200))
    wid = make_hook(api, rcv, "/burst")["id"]
    cid = person(api)
    ids = [f"sf-{i:04d}" for i in range(n)]
    lock = Locker(s.db, LOCK_SECONDS)
    rcv.delay = 0.3  # the burst is still being sent when the lock is taken
    post_batches(api, cid, ids)
    lock.start()
    rcv.delay = 0
    lock.join()
    released = lock.released_at

    def settled():
        f = figures(api, wid, rcv, "/burst", ids)
        done = sum(f["states"].get(k, 0) for k in FINAL)
        return f if f["deliveries"] == n and done == n else None

    try:
        f = wait_for(settled, timeout=5 * slow(), interval=0.2)
    except AssertionError:
        f = figures(api, wid, rcv, "/burst", ids)
        pytest.fail(f"{time.monotonic() - released:.1f}s after the lock was released, with "
                    f"nothing written since, not every delivery is final: {f}")
    after = time.monotonic() - released
    assert f["states"] == {"succeeded": n}, f
    assert f["activities reached"] == n, f
    # every attempt was answered 200: its outcome must be stored, not the
    # message sent again
    assert f["sent more than once"] == 0, (f"{after:.1f}s after the release", f)


# ---------------------------------------------------------------------------
# defect 2: a busy store never freezes transfers in flight


@pytest.mark.sqlite_only("locks the SQLite file from another process")
def test_busy_store_does_not_turn_answered_attempts_into_timeouts(servers, rcv):
    """With a 2 s request timeout and no retries, attempts answered after 1 s
    while the store is locked for longer than the timeout all end succeeded:
    none logged as a timeout, none failed, none sent twice."""
    n = 48
    s = servers.start(args=["--request-timeout", "2s", "--max-retries", "0"])
    api = s.client()
    rcv.script("/slow", ("delay", 1.0, 200))
    wid = make_hook(api, rcv, "/slow")["id"]
    cid = person(api)
    ids = [f"bz-{i:03d}" for i in range(n)]
    lock = Locker(s.db, LOCK_SECONDS)
    post_batches(api, cid, ids)
    lock.start()
    # attempts run (16 at a time, a second each) while the store is locked
    rcv.wait(lambda r: r.count("/slow") >= 32, timeout=10 * slow())
    lock.join()

    def settled():
        f = figures(api, wid, rcv, "/slow", ids)
        done = sum(f["states"].get(k, 0) for k in FINAL)
        return f if f["deliveries"] == n and done == n else None

    try:
        f = wait_for(settled, timeout=8 * slow(), interval=0.2)
    except AssertionError:
        f = figures(api, wid, rcv, "/slow", ids)
        pytest.fail(f"not every delivery is final after the lock: {f}")
    assert f["states"] == {"succeeded": n} and f["not logged as answered 200"] == 0, f
    assert f["activities reached"] == n and f["sent more than once"] == 0, f


# ---------------------------------------------------------------------------
# defect 1: an expired lease wakes an idle process


@pytest.mark.skipif(BACKEND != "postgres", reason="claims and leases exist only on PostgreSQL")
def test_expired_leases_of_a_stopped_process_are_taken_by_an_idle_one(servers, rcv):
    """Process A claims 30 deliveries (its receiver hangs, so they stay in
    flight) and is then stopped, alive but doing nothing; its leases run out.
    Process B, idle, with no further write to wake it, delivers all 30."""
    n = 30
    a = servers.start(args=["--request-timeout", "60s"])
    api_a = a.client()
    wid = make_hook(api_a, rcv, "/hang")["id"]  # its test send answered 200
    rcv.script("/hang", "hang")
    cid = person(api_a)
    b = servers.start(a.db, args=["--request-timeout", "5s"])
    ids = [f"ls-{i:03d}" for i in range(n)]
    post_batches(api_a, cid, ids)  # through A: A claims them
    rcv.wait(lambda r: r.count("/hang") >= 16, timeout=10 * slow())
    a.send_signal(signal.SIGSTOP)
    try:
        rcv.script("/hang", 200)
        seen = rcv.count("/hang")
        time.sleep(1.5)  # B's 1 s look for unclaimed work: nothing free yet
        assert rcv.count("/hang") == seen, "B took deliveries that A's lease still held"
        # the leases run out (what 30 s would do)
        sql(a.db, "UPDATE queue SET lease_until = hookd_ms() - 1 WHERE owner IS NOT NULL")
        t0 = time.monotonic()

        def all_reached():
            got = {r.activity_id for r in rcv.requests("/hang") if r.answered_at}
            return got >= set(ids)

        wait_for(all_reached, timeout=5 * slow(), interval=0.1,
                 what=lambda: f"{len({r.activity_id for r in rcv.requests('/hang')})} of {n} "
                              f"activities reached the receiver, "
                              f"{time.monotonic() - t0:.1f}s after the leases ran out")
        api_b = b.client()
        wait_for(lambda: Counter(e["state"] for e in activity_entries(api_b, wid))
                 == {"succeeded": n}, timeout=5 * slow(),
                 what=lambda: Counter(e["state"] for e in activity_entries(api_b, wid)))
    finally:
        a.send_signal(signal.SIGCONT)
