"""Recover and resend (SPEC §8): POST /webhooks/{id}/recover puts the
failed deliveries of a time window back on the way at once, each with one
more attempt; POST …/logs/{id}/resend sends a finished delivery again as a
new one."""
import datetime
import time

from conftest import assert_error
from receiver import receiver  # noqa: F401  (a fixture)
from test_delivery import act, entry_of, ingest, make_hook, person, stats, wait_delivery

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
