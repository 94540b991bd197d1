"""Recover and resend (docs/api.md#recover-and-resend): POST /webhooks/{id}/recover puts the
failed deliveries of a time window back on the way at once, each with one
more attempt; POST …/logs/{id}/resend sends a finished delivery again as a
new one."""
import datetime
import time

from conftest import assert_error
from receiver import receiver  # noqa: F401  (a fixture)
from test_delivery import (act, detail, entry_of, expected_signature, ingest, logs, make_hook,
                           person, stats, wait_delivery, wait_for)

# No retry: the first 500 fails a delivery for good.
NO_RETRY = ["--retry-schedule", "200ms", "--max-retries", "0", "--request-timeout", "500ms"]


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def recover(api, wid, **body):
    return api.post(f"/api/v1/webhooks/{wid}/recover", body)


def test_recover_a_window_of_failed_deliveries(servers, receiver):
    s = servers.start(args=NO_RETRY)
    api = s.client()
    wid = make_hook(api, receiver, "/rec")["id"]
    receiver.script("/rec", ("status", 500, b"down"))
    cid = person(api)
    t0 = time.time()
    [before] = ingest(api, [act(cid, "rec-before")])
    wait_delivery(api, wid, before, "failed", attempts=1)
    t_mid = time.time()
    inside = ingest(api, [act(cid, "rec-in-1"), act(cid, "rec-in-2")])
    for aid in inside:
        wait_delivery(api, wid, aid, "failed", attempts=1)
    assert receiver.count("/rec") == 3
    assert stats(api, wid)["pending"] == 0

    receiver.script("/rec", ("status", 200, b"ok"))
    r = recover(api, wid, since=rfc3339(t_mid))
    assert r.status_code == 202, r.text
    assert r.json() == {"recovered": 2}, r.text
    # They go out at once (the schedule is not waited for), one more attempt
    # each, and succeed.
    for aid in inside:
        e = wait_delivery(api, wid, aid, "succeeded", attempts=2, timeout=5)
        assert [a["status_code"] for a in e["attempts_detail"]] == [500, 200], e
    assert sorted(r.activity_id for r in receiver.requests("/rec")[3:]) == sorted(inside)
    # The one that failed before the window was left alone.
    time.sleep(0.3)
    e = entry_of(api, wid, before)
    assert e["state"] == "failed" and e["attempts"] == 1, e
    assert receiver.count("/rec") == 5
    assert stats(api, wid)["pending"] == 0

    # A window with an end: [t0, t_mid) holds the first one alone; a second
    # recover of the same window finds nothing left failed.
    r = recover(api, wid, since=rfc3339(t0), until=rfc3339(t_mid))
    assert r.status_code == 202 and r.json() == {"recovered": 1}, r.text
    wait_delivery(api, wid, before, "succeeded", attempts=2, timeout=5)
    r = recover(api, wid, since=rfc3339(t0))
    assert r.status_code == 202 and r.json() == {"recovered": 0}, r.text
    assert receiver.count("/rec") == 6


def test_recover_gives_one_more_attempt(servers, receiver):
    """A recovered delivery is retried as by hand: if its one more attempt
    fails with a retryable answer it is failed again, not rescheduled."""
    s = servers.start(args=["--retry-schedule", "200ms", "--max-retries", "1",
                            "--request-timeout", "500ms"])
    api = s.client()
    wid = make_hook(api, receiver, "/again")["id"]
    receiver.script("/again", 500)
    t0 = time.time()
    [aid] = ingest(api, [act(person(api), "again-1")])
    wait_delivery(api, wid, aid, "failed", attempts=2)
    r = recover(api, wid, since=rfc3339(t0 - 1))
    assert r.status_code == 202 and r.json() == {"recovered": 1}, r.text
    e = wait_delivery(api, wid, aid, "failed", attempts=3, timeout=5)
    time.sleep(0.5)  # past the schedule's 200 ms: no fourth attempt
    assert receiver.count("/again") == 3
    assert entry_of(api, wid, aid)["attempts"] == 3, e


def test_recover_refuses_bad_windows(servers, receiver):
    s = servers.start(args=NO_RETRY)
    api = s.client()
    wid = make_hook(api, receiver, "/bad")["id"]
    now = time.time()
    assert_error(recover(api, wid), 400, "invalid", "since")
    assert_error(recover(api, wid, until=rfc3339(now)), 400, "invalid", "since")
    assert_error(recover(api, wid, since="yesterday"), 400, "invalid", "since")
    assert_error(recover(api, wid, since=12), 400, "invalid", "since")
    assert_error(recover(api, wid, since=rfc3339(now), until="soon"), 400, "invalid", "until")
    assert_error(recover(api, wid, since=rfc3339(now), until=rfc3339(now)), 400, "invalid",
                 "until")
    assert_error(recover(api, wid, since=rfc3339(now), until=rfc3339(now - 60)), 400,
                 "invalid", "until")
    assert_error(recover(api, "wh_nosuchhook", since=rfc3339(now)), 404, "not_found")


# A retryable answer waits a minute: a delivery answered 500 stays retrying.
SLOW_RETRY = ["--retry-schedule", "60s", "--max-retries", "1", "--request-timeout", "500ms"]


def resend(api, wid, did):
    return api.post(f"/api/v1/webhooks/{wid}/logs/{did}/resend")


def entries_of(api, wid, aid):
    return [e for e in logs(api, wid) if e["activity_id"] == aid]


def wait_entry(api, wid, did, state, timeout=5):
    def reached():
        e = detail(api, wid, did)
        return e if e["state"] == state else None
    return wait_for(reached, timeout, what=lambda: detail(api, wid, did))


def test_resend_keeps_body_kind_and_webhook_id(servers, receiver):
    s = servers.start(args=SLOW_RETRY)
    api = s.client()
    wh = make_hook(api, receiver, "/rs")
    wid = wh["id"]
    receiver.script("/rs", 200)
    [aid] = ingest(api, [act(person(api), "rs-1")])
    first = wait_delivery(api, wid, aid, "succeeded", attempts=1)
    [r0] = receiver.requests("/rs")
    assert r0.header("webhook-id") == first["id"]

    r = resend(api, wid, first["id"])
    assert r.status_code == 202, r.text
    new = r.json()
    assert new["id"] != first["id"], new
    assert new["kind"] == first["kind"] == "activity", new
    assert new["activity_id"] == aid, new
    assert new["state"] in ("pending", "succeeded"), new
    receiver.wait_count(2, "/rs", timeout=5)
    r1 = receiver.requests("/rs")[1]
    # The receiver sees the same message: same webhook-id, same body, and a
    # signature made over that id.
    assert r1.header("webhook-id") == first["id"], r1.headers
    assert r1.body == r0.body
    secret = wh.get("secret")
    if secret:
        assert expected_signature(secret, first["id"], r1.header("webhook-timestamp"),
                                  r1.body) in r1.header("webhook-signature").split(" ")
    e = wait_entry(api, wid, new["id"], "succeeded")
    assert e["attempts"] == 1, e
    assert e["request"]["headers"]["webhook-id"] == first["id"], e
    assert e["request"]["body"] == first["request"]["body"], e
    # Logged as its own entry; the original is left as it was.
    assert sorted(x["id"] for x in entries_of(api, wid, aid)) == sorted([first["id"], new["id"]])
    assert detail(api, wid, first["id"])["attempts"] == 1

    # A resend of the resend is still the same message.
    r = resend(api, wid, new["id"])
    assert r.status_code == 202, r.text
    receiver.wait_count(3, "/rs", timeout=5)
    assert receiver.requests("/rs")[2].header("webhook-id") == first["id"]
    wait_entry(api, wid, r.json()["id"], "succeeded")
    assert stats(api, wid)["pending"] == 0


def test_resend_a_failed_one_and_refusals(servers, receiver):
    s = servers.start(args=SLOW_RETRY)
    api = s.client()
    wid = make_hook(api, receiver, "/rf")["id"]
    receiver.script("/rf", [("status", 404, b"no"), ("status", 200, b"ok")])
    cid = person(api)
    [aid] = ingest(api, [act(cid, "rf-1")])
    failed = wait_delivery(api, wid, aid, "failed", attempts=1)
    r = resend(api, wid, failed["id"])
    assert r.status_code == 202, r.text
    e = wait_entry(api, wid, r.json()["id"], "succeeded")
    assert [a["status_code"] for a in e["attempts_detail"]] == [200], e
    assert [q.header("webhook-id") for q in receiver.requests("/rf")] == [failed["id"]] * 2
    assert detail(api, wid, failed["id"])["state"] == "failed"

    # One still on its way (retrying) cannot be resent.
    other = make_hook(api, receiver, "/busy")["id"]
    receiver.script("/busy", 500)
    [bid] = ingest(api, [act(cid, "rf-2")])
    busy = wait_delivery(api, other, bid, "retrying", attempts=1)
    assert_error(resend(api, other, busy["id"]), 409, "conflict")
    assert len(entries_of(api, other, bid)) == 1
    assert_error(resend(api, other, "0190f3a2-0000-7000-8000-000000000000"), 404, "not_found")
    assert_error(resend(api, wid, busy["id"]), 404, "not_found")  # another webhook's
    # A disconnected webhook sends nothing: connect it first.
    assert api.post(f"/api/v1/webhooks/{wid}/disconnect").status_code == 200
    before = len(logs(api, wid))
    assert_error(resend(api, wid, failed["id"]), 409, "conflict")
    assert len(logs(api, wid)) == before
