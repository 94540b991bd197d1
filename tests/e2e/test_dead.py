"""Endpoints that die (docs/api.md#dead-endpoints): a 410 Gone disconnects its webhook at once, a
webhook failing for --disable-after (with at least 10 failed attempts) is
disconnected by hookd, and the read-only disconnected_by / disconnected_reason
say who did it and why.  Either way the waiting deliveries are held, as for a
manual disconnect, and go out once a person connects the webhook again."""

import re
import time
from datetime import datetime

import pytest

from conftest import BACKEND, assert_error
from receiver import receiver  # noqa: F401  (a fixture)
from test_delivery import act, detail, entry_of, ingest, logs, make_hook, person, wait_delivery, wait_for


def webhook(api, wid):
    r = api.get(f"/api/v1/webhooks/{wid}")
    assert r.status_code == 200, r.text
    return r.json()


def listed(api, wid):
    [wh] = [w for w in api.webhooks() if w["id"] == wid]
    return wh


def disconnected(api, wid):
    wh = webhook(api, wid)
    return wh if not wh["connected"] else None


def warnings_about(server, wid):
    return [line for line in server.stderr_lines if wid in line and "disconnected by hookd" in line]


def by_activity(answers, default=500):
    """A receiver action answering answers[activity id], else default."""
    return [lambda req: answers.get(req.activity_id, default)]


def test_manual_disconnect_records_user_and_fields_are_read_only(servers, receiver):
    api = servers.start().client()
    wid = make_hook(api, receiver, "/m")["id"]
    wh = webhook(api, wid)
    assert (wh["disconnected_by"], wh["disconnected_reason"]) == (None, None), wh

    r = api.post(f"/api/v1/webhooks/{wid}/disconnect")
    assert r.status_code == 200, r.text
    assert (r.json()["connected"], r.json()["disconnected_by"],
            r.json()["disconnected_reason"]) == (False, "user", None), r.json()
    assert listed(api, wid)["disconnected_by"] == "user"
    r = api.post(f"/api/v1/webhooks/{wid}/connect")
    assert (r.json()["connected"], r.json()["disconnected_by"],
            r.json()["disconnected_reason"]) == (True, None, None), r.json()

    # a PATCH of connected is a person's disconnect / connect too
    r = api.patch(f"/api/v1/webhooks/{wid}", {"connected": False})
    assert r.status_code == 200 and r.json()["disconnected_by"] == "user", r.text
    r = api.patch(f"/api/v1/webhooks/{wid}", {"connected": True})
    assert r.status_code == 200 and r.json()["disconnected_by"] is None, r.text

    for field, value in (("disconnected_by", "hookd"), ("disconnected_reason", "x")):
        assert_error(api.patch(f"/api/v1/webhooks/{wid}", {field: value}), 400, "invalid", field)
        assert_error(api.post("/api/v1/webhooks", {"name": "n", "url": receiver.url + "/m",
                                                   field: None}), 400, "invalid", field)
    assert webhook(api, wid)["disconnected_by"] is None


def test_410_fails_the_delivery_and_disconnects_at_once(servers, receiver):
    s = servers.start(args=["--retry-schedule", "1s", "--max-retries", "5",
                            "--request-timeout", "500ms"])
    api = s.client()
    wid = make_hook(api, receiver, "/g")["id"]
    receiver.script("/g", by_activity({"g-gone": 410}))
    cid = person(api)
    [waiting] = ingest(api, [act(cid, "g-wait")])
    wait_delivery(api, wid, waiting, "retrying", attempts=1)
    [gone] = ingest(api, [act(cid, "g-gone")])

    e = wait_delivery(api, wid, gone, "failed", attempts=1)
    assert e["next_attempt_at"] is None, e
    wh = wait_for(lambda: disconnected(api, wid), timeout=5, what=lambda: webhook(api, wid))
    assert wh["disconnected_by"] == "hookd", wh
    assert "410" in wh["disconnected_reason"] and e["id"] in wh["disconnected_reason"], wh
    assert listed(api, wid)["disconnected_reason"] == wh["disconnected_reason"]
    assert wait_delivery(api, wid, waiting, "held", timeout=3)["attempts"] == 1
    wait_for(lambda: warnings_about(s, wid), timeout=3, what=lambda: s.stderr_lines[-5:])
    [line] = warnings_about(s, wid)
    assert "warn" in line.lower() and "410" in line, line
    time.sleep(1.2)  # past the retry's 1 s: the held one does not go out
    assert [r.activity_id for r in receiver.requests("/g")] == [waiting, gone]

    receiver.script("/g", 200)
    r = api.post(f"/api/v1/webhooks/{wid}/connect")
    assert r.status_code == 200, r.text
    assert (r.json()["disconnected_by"], r.json()["disconnected_reason"]) == (None, None)
    e = wait_delivery(api, wid, waiting, "succeeded", attempts=2)
    assert entry_of(api, wid, gone)["state"] == "failed"  # a 410 is final: not sent again
    assert len(warnings_about(s, wid)) == 1


def test_failing_for_disable_after_disconnects(servers, receiver):
    s = servers.start(args=["--retry-schedule", "100ms", "--max-retries", "100",
                            "--request-timeout", "500ms", "--disable-after", "2s"])
    api = s.client()
    wid = make_hook(api, receiver, "/d")["id"]
    receiver.script("/d", 500)
    [aid] = ingest(api, [act(person(api), "d-1")])
    wh = wait_for(lambda: disconnected(api, wid), timeout=10, what=lambda: webhook(api, wid))
    assert wh["disconnected_by"] == "hookd", wh
    assert "2s" in wh["disconnected_reason"] and "failed attempts" in wh["disconnected_reason"], wh
    reqs = receiver.requests("/d")
    assert len(reqs) >= 10, reqs
    # ten attempts take about 1 s here: the 2 s of failures is what decided
    assert reqs[-1].time - reqs[0].time >= 1.5, [r.time for r in reqs]
    assert wait_delivery(api, wid, aid, "held", timeout=3)["attempts"] >= 10
    wait_for(lambda: warnings_about(s, wid), timeout=3, what=lambda: s.stderr_lines[-5:])


def test_ten_failed_attempts_are_needed(servers, receiver):
    s = servers.start(args=["--retry-schedule", "300ms", "--max-retries", "100",
                            "--request-timeout", "500ms", "--disable-after", "1s"])
    api = s.client()
    wid = make_hook(api, receiver, "/t")["id"]
    receiver.script("/t", 500)
    ingest(api, [act(person(api), "t-1")])
    wh = wait_for(lambda: disconnected(api, wid), timeout=10, what=lambda: webhook(api, wid))
    reqs = receiver.requests("/t")
    assert len(reqs) >= 10, reqs  # 1 s had passed after 4 of them
    assert "10 failed attempts" in wh["disconnected_reason"], wh


def test_a_success_resets_the_streak(servers, receiver):
    s = servers.start(args=["--retry-schedule", "100ms", "--max-retries", "100",
                            "--request-timeout", "500ms", "--disable-after", "3s"])
    api = s.client()
    wid = make_hook(api, receiver, "/r")["id"]
    receiver.script("/r", by_activity({"r-ok": 200}))
    cid = person(api)
    [bad] = ingest(api, [act(cid, "r-bad")])
    receiver.wait_count(1, "/r")
    t0 = receiver.requests("/r")[0].time
    time.sleep(max(0.0, t0 + 1.0 - time.time()))
    [good] = ingest(api, [act(cid, "r-ok")])
    wait_delivery(api, wid, good, "succeeded", attempts=1)
    ok_at = [r.time for r in receiver.requests("/r") if r.activity_id == good][0]
    assert ok_at - t0 < 2.5, "the success came too late to show anything"
    # without the reset the 3 s since the first failure would disconnect now
    time.sleep(max(0.0, t0 + 3.6 - time.time()))
    wh = webhook(api, wid)
    assert wh["connected"] and wh["disconnected_by"] is None, wh
    wh = wait_for(lambda: disconnected(api, wid), timeout=10, what=lambda: webhook(api, wid))
    assert wh["disconnected_by"] == "hookd", wh
    fails_after = [r.time for r in receiver.requests("/r") if r.time > ok_at]
    assert fails_after[-1] - ok_at >= 2.5, fails_after
    assert entry_of(api, wid, good)["state"] == "succeeded"
    wait_delivery(api, wid, bad, "held", timeout=3)
    assert logs(api, wid)  # the log still reads
    assert detail(api, wid, entry_of(api, wid, bad)["id"])["state"] == "held"


def streak_of(reason):
    """(failed attempts, since as a POSIX time) from a time-based reason."""
    m = re.search(r"(\d+) failed attempts and no success since (\S+)$", reason)
    assert m, reason
    return int(m.group(1)), datetime.fromisoformat(m.group(2).replace("Z", "+00:00")).timestamp()


SHORT_STREAK = ["--retry-schedule", "200ms", "--max-retries", "100", "--request-timeout", "500ms",
                "--disable-after", "2s"]


def check_streak_handed_over(servers, receiver, path, handover):
    """Five failed attempts on one process, then handover(server) gives the
    webhook to another; the disconnect must count the first process's
    attempts in the streak, from the very first one."""
    s = servers.start(args=SHORT_STREAK)
    api = s.client()
    wid = make_hook(api, receiver, path)["id"]
    receiver.script(path, 500)
    [aid] = ingest(api, [act(person(api), "s-1")])
    receiver.wait_count(5, path, timeout=5)
    s = handover(s)
    before = len(receiver.requests(path))  # a stop waits for attempts in flight
    first = receiver.requests(path)[0].time
    api = s.client()
    wh = wait_for(lambda: disconnected(api, wid), timeout=10, what=lambda: webhook(api, wid))
    failed, since = streak_of(wh["disconnected_reason"])
    # the streak began with the first attempt, before the handover, and
    # counts the attempts made before it (a new one would need ten more)
    assert since <= first and first - since < 1, (since, first)
    assert before < failed < before + 10, (before, failed)
    assert wait_delivery(api, wid, aid, "held", timeout=3)["attempts"] >= failed


def test_a_restart_does_not_forget_the_streak(servers, receiver):
    check_streak_handed_over(servers, receiver, "/s",
                             lambda s: servers.restart(s, args=SHORT_STREAK))


@pytest.mark.skipif(BACKEND != "postgres", reason="several processes share only PostgreSQL")
def test_every_process_adds_to_one_streak(servers, receiver):
    def to_another(s):
        other = servers.start(s.db, args=SHORT_STREAK)
        s.stop()  # its claims pass to the other at once
        return other
    check_streak_handed_over(servers, receiver, "/p", to_another)
