"""faultlib — what every scenario of the fault suite (tests/faults/run.py)
shares: its context and the figures it reports.

A scenario is a module tests/faults/scn_<name>.py with

    NAME = "crash loop"                 # as printed
    BACKENDS = ("sqlite", "postgres")   # the backends it runs on
    def run(ctx: Ctx) -> Result: ...

It drives the real binary (ctx.hookd_bin) over loopback, counts what it
sees, and fills a Result.  The suite fails when any scenario reports a
loss, a stuck delivery, or a failed check of its own.

Scenarios start hookd with the end-to-end suite's `Hookd` (tests/e2e/
conftest.py) and receive with its `Receiver` (tests/e2e/receiver.py):
run.py puts tests/e2e on sys.path and sets HOOKD_BIN and
HOOKD_TEST_BACKEND before any scenario is imported.
"""

import dataclasses
from pathlib import Path
from typing import Optional


@dataclasses.dataclass
class Ctx:
    hookd_bin: str
    workdir: Path            # a fresh, empty directory of this scenario's own
    bounded: bool            # the short form (CI): fewer cycles, less data
    backend: str             # "sqlite" or "postgres"
    admin_url: Optional[str] = None  # PostgreSQL admin URL, with backend postgres

    def log(self, msg):
        print(f"    {msg}", flush=True)


@dataclasses.dataclass
class Result:
    name: str
    did: str = ""                 # one line: what the scenario did
    accepted: int = 0             # activities/sends hookd answered 2xx
    expected: int = 0             # deliveries that must arrive
    delivered: int = 0            # distinct deliveries the receivers got
    lost: int = 0                 # expected, never delivered: must be 0
    duplicated: int = 0           # deliveries received more than once
    stuck: int = 0                # not delivered by their due time plus grace: must be 0
    recovery_s: Optional[float] = None  # fault over → everything delivered
    figures: dict = dataclasses.field(default_factory=dict)  # more, scenario-specific
    failures: list = dataclasses.field(default_factory=list)  # checks that failed

    def check(self, cond, what):
        """Records what as a failure unless cond holds; returns cond."""
        if not cond:
            self.failures.append(what)
        return cond

    @property
    def ok(self):
        return self.lost == 0 and self.stuck == 0 and not self.failures


# ---------------------------------------------------------------------------
# helpers the scenarios share.  conftest and receiver (tests/e2e) are imported
# inside them, not at the top: run.py sets the environment they read first.

import collections  # noqa: E402
import os  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

HOOK_ACTIVITY = "act::s"     # the activity every scenario's webhooks listen to
OTHER_ACTIVITY = "act::o"    # one no scenario webhook listens to (a write that wakes nobody)
GRACE_S = 5.0                # how late past its due time a delivery may be before it is stuck


def wait_until(pred, timeout, interval=0.1):
    """Polls pred() until it returns something true, and returns that, or
    returns None after timeout seconds (the caller counts what is missing)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def person(api, email="fault@x.io"):
    """The contact every activity of a scenario is about; its contact_id."""
    r = api.post("/api/v1/people/merge",
                 {"people": [{"fields": {"str::email": email, "str::first": "Fay"}}]})
    if r.status_code != 200:
        raise AssertionError(f"people/merge answered {r.status_code}: {r.text[:300]}")
    return r.json()["people"][0]["contact_id"]


def webhook(api, url, name):
    """Creates a webhook to url for HOOK_ACTIVITY; its id."""
    r = api.post("/api/v1/webhooks", {"name": name, "url": url, "activities": [HOOK_ACTIVITY]})
    if r.status_code != 201:
        raise AssertionError(f"create webhook answered {r.status_code}: {r.text[:300]}")
    return r.json()["id"]


class Sink:
    """A receiver (tests/e2e/receiver.py) answering 200 on every path, and
    what it counts: each request's webhook-id header (the delivery id) and
    (path, activity id).  Test payloads are left out of every count."""

    def __init__(self, delay=0.0):
        from receiver import Receiver
        self.rcv = Receiver(backlog=2048)
        self.rcv.delay = delay
        self.url = self.rcv.url

    def requests(self):
        return self.rcv.requests()

    def got(self):
        """{(path, activity_id)} received at least once."""
        return {(r.path, r.activity_id) for r in self.requests()}

    def by_delivery(self):
        """webhook-id → the requests that carried it."""
        out = collections.defaultdict(list)
        for r in self.requests():
            out[r.header("webhook-id")].append(r)
        return out

    def stop(self):
        self.rcv.stop()


def count_delivery(res, sink, expected, extra_ok=False):
    """Fills res.expected/delivered/lost/duplicated from what sink received
    against expected, a set of (path, activity_id): delivered counts the
    expected ones received, duplicated the receptions beyond the first of
    each delivery id.  Returns the set still missing.  What arrived without
    having been accepted is a failure unless extra_ok."""
    got = sink.got()
    missing = expected - got
    res.expected = len(expected)
    res.delivered = len(expected & got)
    res.lost = len(missing)
    res.duplicated = sum(len(v) - 1 for v in sink.by_delivery().values())
    extra = got - expected
    res.figures["received requests"] = len(sink.requests())
    if extra:
        res.figures["received, never accepted"] = len(extra)
        if not extra_ok:
            res.check(False, f"{len(extra)} deliveries arrived for activities never accepted, "
                             f"e.g. {sorted(extra)[:3]}")
    return missing


class Feeder(threading.Thread):
    """Steady ingest from a client thread: POST /api/v1/activities with
    `batch` activities every `pause` seconds to whichever hookd target()
    names ((url, key), or None while there is none).  A batch that is not
    answered 2xx (a connection error, a 503) is sent again, the same ids,
    until it is — as a careful client does; hookd answers a stored id
    `duplicate`, so nothing is sent twice.  Any answer other than 2xx or
    503 `unavailable` is recorded in `bad`.

    accepted: activity id → the activity sent (answered 2xx);
    answers: status (or "conn") → count; events: (time sent, time answered,
    status) of every request."""

    def __init__(self, target, cid, batch=10, pause=0.02, prefix="a", attr_bytes=0,
                 field_id=HOOK_ACTIVITY, timeout=30):
        super().__init__(daemon=True)
        import requests
        self._requests = requests
        self.target, self.cid, self.batch, self.pause = target, cid, batch, pause
        self.prefix, self.attr_bytes, self.field_id, self.timeout = prefix, attr_bytes, field_id, timeout
        self.lock = threading.Lock()
        self.accepted = {}
        self.accepted_at = {}  # activity id → time.time() of its 2xx
        self.answers = collections.Counter()
        self.bad = []
        self.events = []
        self.first_2xx_after = None
        self._halt = threading.Event()
        self._paused = threading.Event()
        self._idle = threading.Event()
        self.n = 0
        self.session = requests.Session()

    def _activity(self, aid):
        a = {"id": aid, "field_id": self.field_id, "contact": {"contact_id": self.cid},
             "attr": {"str::s": f"{aid}:" + (os.urandom(self.attr_bytes // 2).hex()
                                            if self.attr_bytes else "x")}}
        return a

    def _send(self, acts):
        """One attempt at a batch; True once it is answered 2xx."""
        t = self.target()
        if t is None:
            time.sleep(0.05)
            return False
        url, key = t
        sent = time.time()
        try:
            r = self.session.post(url + "/api/v1/activities", timeout=self.timeout,
                                  headers={"Authorization": f"Bearer {key}"},
                                  json={"activities": acts})
        except self._requests.RequestException:
            with self.lock:
                self.answers["conn"] += 1
                self.events.append((sent, time.time(), "conn"))
            self.session = self._requests.Session()  # a fresh connection next time
            time.sleep(0.05)
            return False
        with self.lock:
            self.answers[r.status_code] += 1
            self.events.append((sent, time.time(), r.status_code))
            if 200 <= r.status_code < 300:
                now = time.time()
                for a in acts:
                    self.accepted[a["id"]] = a
                    self.accepted_at[a["id"]] = now
                return True
            if r.status_code == 503 and _error_code(r) == "unavailable":
                pass
            else:
                self.bad.append((r.status_code, r.text[:200]))
                return True  # not retried: already counted as a failure
        time.sleep(0.05)
        return False

    def run(self):
        while not self._halt.is_set():
            if self._paused.is_set():
                self._idle.set()
                time.sleep(0.02)
                continue
            self._idle.clear()
            acts = [self._activity(f"{self.prefix}-{self.n + i:06d}") for i in range(self.batch)]
            self.n += self.batch
            # the batch is finished even when halted meanwhile, so that no
            # activity is stored without its answer being counted; give up
            # only after a minute
            give_up = time.monotonic() + 60
            while not self._send(acts):
                if time.monotonic() > give_up:
                    with self.lock:
                        self.bad.append(("unanswered", f"batch {acts[0]['id']} never answered 2xx"))
                    break
            time.sleep(self.pause)
        self._idle.set()

    def pause_feed(self, paused=True):
        """Pauses (or resumes) after the batch in hand; waits for the pause."""
        if paused:
            self._paused.set()
            self._idle.wait(90)
        else:
            self._paused.clear()

    def stop(self):
        self._halt.set()
        self.join(120)

    def count(self):
        with self.lock:
            return len(self.accepted)

    def statuses(self):
        with self.lock:
            return dict(self.answers)


def _error_code(r):
    try:
        return r.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def expected_of(feeder, paths, before=None):
    """(path, activity id) for every accepted activity and webhook path;
    with before (time.time()), only those accepted by then."""
    with feeder.lock:
        ids = [a for a, t in feeder.accepted_at.items() if before is None or t <= before]
    return {(p, a) for p in paths for a in ids}


def arrived_all(sink, expected):
    """When the last of expected first arrived (the receiver's time.time()),
    or None while some have not."""
    first = {}
    for r in sink.requests():
        k = (r.path, r.activity_id)
        if k in expected and k not in first:
            first[k] = r.time
    return max(first.values(), default=None) if len(first) == len(expected) else None


def recovery(sink, expected, since):
    """Seconds from since (time.time(), the fault's end) until the last of
    expected arrived: 0 if all had arrived by then, None if some never did."""
    t = arrived_all(sink, expected)
    if t is None:
        return None if expected else 0.0
    return max(0.0, t - since)


def log_entries(api, wid, state=None):
    """Every log entry of webhook wid, page by page (the end-to-end suite's
    reader; tests/e2e is on sys.path, see run.py)."""
    from test_engine import all_entries
    return all_entries(api, wid, state)


def _unix(rfc3339):
    import datetime
    return datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def stuck_entries(api, wids, grace=GRACE_S):
    """Log entries still pending or retrying whose next attempt was due more
    than grace seconds ago: deliveries hookd should have attempted and has
    not (logs API)."""
    now = time.time()
    out = []
    for wid in wids:
        for state in ("pending", "retrying"):
            for e in log_entries(api, wid, state):
                due = e.get("next_attempt_at") or e.get("created_at")
                if due and _unix(due) < now - grace:
                    out.append(e)
    return out


def payload_damage(sink, feeder):
    """Received payloads that differ from what was accepted (activity id,
    field_id, attr), as a list of descriptions."""
    damaged = []
    with feeder.lock:
        accepted = dict(feeder.accepted)
    for r in sink.requests():
        a = accepted.get(r.activity_id)
        if a is None:
            continue
        try:
            got = r.json()["activity"]
        except (ValueError, KeyError, TypeError):
            damaged.append(f"{r.header('webhook-id')}: body is not a payload")
            continue
        if got.get("field_id") != a["field_id"] or got.get("attr", {}).get("str::s") != a["attr"]["str::s"]:
            damaged.append(f"{r.activity_id}: sent {a['attr']['str::s'][:40]!r}, "
                           f"received {str(got.get('attr'))[:80]!r}")
    return damaged


def fmt_statuses(st):
    return ", ".join(f"{k}×{v}" for k, v in sorted(st.items(), key=lambda kv: str(kv[0])))

