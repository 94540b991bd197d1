"""Retry-After (docs/api.md#retry-after) and the manual retry rule
(docs/api.md#logs): a retried answer's
Retry-After (seconds or an HTTP date) pushes the next attempt back to
max(schedule delay, Retry-After), at most 24 hours, and the log entry's
next_attempt_at shows it; a value hookd cannot read leaves the schedule's
delay. A failed delivery retried by hand gets one attempt, whatever the
answer to it.

Every webhook of a test hangs off one server with a 1 s schedule, so the
cases run side by side and the test takes a few seconds."""

import email.utils
import time

from receiver import receiver  # noqa: F401  (a fixture)
from test_metrics import scrape, value
from test_delivery import (SLACK, act, entry_of, ingest, make_hook, person, ts, wait_delivery,
                           wait_for)

SCHEDULE = ["--retry-schedule", "1s", "--max-retries", "3", "--request-timeout", "2s"]
DAY = 24 * 3600


def throttled(value, code=429):
    """One answer asking the sender to wait value, then success."""
    return [("status", code, b"slow down", {"Retry-After": value}), 200]


def first_wait(api, receiver, wid, path, aid):
    """After the first attempt: the seconds from its arrival to the
    next_attempt_at the log shows, and the arrival time."""
    e = wait_delivery(api, wid, aid, "retrying", attempts=1)
    [req] = receiver.requests(path)
    return ts(e["next_attempt_at"]) - req.time, req.time


def test_retry_after_seconds_date_and_clamps(servers, receiver):
    s = servers.start(args=SCHEDULE)
    api = s.client()
    paths = ["/seconds", "/date", "/zero", "/past", "/malformed", "/cap"]
    hooks = {p: make_hook(api, receiver, p) for p in paths}
    # an IMF-fixdate 3 to 4 s ahead (the format has whole seconds)
    date_at = int(time.time()) + 4
    receiver.script("/seconds", throttled("3"))
    receiver.script("/date", throttled(email.utils.formatdate(date_at, usegmt=True), 503))
    receiver.script("/zero", throttled("0"))
    receiver.script("/past", throttled("Sun, 06 Nov 1994 08:49:37 GMT", 503))
    receiver.script("/malformed", throttled("in a bit"))
    receiver.script("/cap", throttled("999999"))
    [aid] = ingest(api, [act(person(api), "ra-1")])

    # shown in the log while it waits: seconds, the date, the 24 h cap (the
    # cases that wait the schedule's 1 s are judged by their arrivals only:
    # their entry may already have moved on when it is read)
    waits = {p: first_wait(api, receiver, hooks[p]["id"], p, aid)
             for p in ("/seconds", "/date", "/cap")}
    assert 3 - 0.05 <= waits["/seconds"][0] <= 3 + SLACK, waits
    assert abs(waits["/date"][1] + waits["/date"][0] - date_at) <= 0.5, (waits, date_at)
    assert DAY - 1 <= waits["/cap"][0] <= DAY + SLACK, waits

    # and kept: each second attempt comes when the log said
    for p in ("/seconds", "/date", "/zero", "/past", "/malformed"):
        wait_delivery(api, hooks[p]["id"], aid, "succeeded", attempts=2)
        first, second = receiver.requests(p)
        gap = second.time - first.time
        want = {"/seconds": 3, "/date": date_at - first.time}.get(p, 1)
        assert want - 0.05 <= gap <= want + SLACK, (p, gap, want)
    assert receiver.count("/cap") == 1
    e = entry_of(api, hooks["/cap"]["id"], aid)
    assert e["state"] == "retrying" and e["attempts"] == 1, e
    # counted in the metrics: the three it lengthened (seconds, date, cap)
    assert value(scrape(api), "hookd_retry_after_total") == 3


def test_retry_after_adds_no_attempt(servers, receiver):
    """With no retry left, a Retry-After does not buy one: the delivery fails."""
    s = servers.start(args=["--retry-schedule", "1s", "--max-retries", "1",
                            "--request-timeout", "2s"])
    api = s.client()
    wh = make_hook(api, receiver, "/spent")
    receiver.script("/spent", ("status", 503, b"busy", {"Retry-After": "1"}))
    [aid] = ingest(api, [act(person(api), "ra-spent")])
    e = wait_delivery(api, wh["id"], aid, "failed", attempts=2)
    assert e["next_attempt_at"] is None, e
    first, second = receiver.requests("/spent")
    assert second.time - first.time >= 1 - 0.05


def test_manual_retry_fails_again_on_a_retryable_answer(servers, receiver):
    """docs/api.md#logs: a failed delivery retried by hand gets exactly one attempt;
    a retryable answer to it (503 with Retry-After, with schedule retries
    left) fails it again instead of scheduling another."""
    s = servers.start(args=SCHEDULE)
    api = s.client()
    wh = make_hook(api, receiver, "/once")
    receiver.script("/once", 404)
    [aid] = ingest(api, [act(person(api), "ra-once")])
    e = wait_delivery(api, wh["id"], aid, "failed", attempts=1)
    receiver.script("/once", ("status", 503, b"busy", {"Retry-After": "1"}))
    r = api.post(f"/api/v1/webhooks/{wh['id']}/logs/{e['id']}/retry")
    assert r.status_code == 202, r.text
    e = wait_delivery(api, wh["id"], aid, "failed", attempts=2)
    assert e["next_attempt_at"] is None and e["status_code"] == 503, e
    time.sleep(1.5)  # past when a scheduled retry would have come
    assert receiver.count("/once") == 2
    wait_for(lambda: entry_of(api, wh["id"], aid)["state"] == "failed")
    # each time it failed for good, the log says so (the second with a 503)
    lines = wait_for(lambda: (lambda got: got if len(got) == 2 else None)(
        [ln for ln in s.stderr_lines if e["id"] in ln and "failed for good" in ln]),
        timeout=3, what=lambda: s.stderr_lines[-5:])
    assert "HTTP 503" in lines[1], lines
