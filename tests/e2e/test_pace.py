"""A webhook's pace (docs/api.md#pace): `rate_limit` (deliveries per
second, a token bucket holding 100 ms worth, at least one token) and
`max_in_flight` (attempts at once, default 16).  Deliveries over either limit
wait in order without spending an attempt, while other webhooks keep their
own pace.  Arrivals are counted from the receiver's own timestamps."""

import threading
import time

import pytest

from conftest import assert_error
from receiver import receiver  # noqa: F401 (the fixture)
from test_delivery import act, ingest, make_hook, person, wait_delivery, wait_for
from test_engine import slow


def most_in_a_second(times):
    """The most arrivals within any window of one second (each window
    starting at an arrival)."""
    times = sorted(times)
    best = 0
    for i, t in enumerate(times):
        n = sum(1 for u in times[i:] if u < t + 1.0)
        best = max(best, n)
    return best


# ---------------------------------------------------------------------------
# the settings


def test_pace_settings_validated_shown_and_kept(servers, receiver):
    s = servers.start()
    api = s.client()
    wh = make_hook(api, receiver, "/v")
    wid = wh["id"]
    assert wh["rate_limit"] is None and wh["max_in_flight"] == 16, wh
    got = api.get(f"/api/v1/webhooks/{wid}").json()
    assert got["rate_limit"] is None and got["max_in_flight"] == 16, got

    base = {"name": "n", "url": receiver.url + "/v"}
    for bad in (0, 0.05, 10001, "x", True, [], -1):
        r = api.post("/api/v1/webhooks", dict(base, rate_limit=bad))
        assert_error(r, 400, "invalid", "rate_limit")
        r = api.patch(f"/api/v1/webhooks/{wid}", {"rate_limit": bad})
        assert_error(r, 400, "invalid", "rate_limit")
    for bad in (0, 257, 1.5, "4", None, -3):
        r = api.post("/api/v1/webhooks", dict(base, max_in_flight=bad))
        assert_error(r, 400, "invalid", "max_in_flight")
        r = api.patch(f"/api/v1/webhooks/{wid}", {"max_in_flight": bad})
        assert_error(r, 400, "invalid", "max_in_flight")
    assert api.count() == 1  # nothing refused was made

    # both ends of each range, and null
    for rate, cap in ((0.1, 1), (10000, 256), (2.5, 4)):
        r = api.patch(f"/api/v1/webhooks/{wid}", {"rate_limit": rate, "max_in_flight": cap})
        assert r.status_code == 200, r.text
        assert r.json()["rate_limit"] == rate and r.json()["max_in_flight"] == cap, r.text
    r = api.post("/api/v1/webhooks", dict(base, rate_limit=None, max_in_flight=3))
    assert r.status_code == 201, r.text
    assert r.json()["rate_limit"] is None and r.json()["max_in_flight"] == 3, r.text
    other = r.json()["id"]

    # a PATCH of other settings keeps them; they survive a restart (the store's doc)
    r = api.patch(f"/api/v1/webhooks/{wid}", {"name": "renamed"})
    assert r.json()["rate_limit"] == 2.5 and r.json()["max_in_flight"] == 4, r.text
    s = servers.restart(s)
    api = s.client()
    got = api.get(f"/api/v1/webhooks/{wid}").json()
    assert (got["rate_limit"], got["max_in_flight"]) == (2.5, 4), got
    got = api.get(f"/api/v1/webhooks/{other}").json()
    assert (got["rate_limit"], got["max_in_flight"]) == (None, 3), got
    r = api.patch(f"/api/v1/webhooks/{wid}", {"rate_limit": None})
    assert r.status_code == 200 and r.json()["rate_limit"] is None, r.text


# ---------------------------------------------------------------------------
# the engine


@pytest.mark.store_independent("the engine's pacing in memory")
def test_rate_limit_holds_while_another_webhook_runs_free(servers, receiver):
    """5/s with a one-token burst: never more than 6 in any second over 3 s,
    and no fewer than the rate allows; the unlimited webhook gets its 60 at
    once."""
    s = servers.start(args=["--retry-schedule", "1s"])
    api = s.client()
    paced = make_hook(api, receiver, "/paced", rate_limit=5)["id"]
    free = make_hook(api, receiver, "/free")["id"]
    cid = person(api)
    ingest(api, [act(cid, f"p-{i}") for i in range(60)])

    got = receiver.wait_count(60, "/free", timeout=5 * slow())
    spread = got[-1].time - got[0].time
    assert spread < 1.0 * slow(), f"the unlimited webhook took {spread:.2f}s for 60"
    first = receiver.wait_count(1, "/paced")[0].time
    time.sleep(max(0.0, first + 3.0 - time.time()))
    times = [r.time for r in receiver.requests("/paced") if r.time < first + 3.0]
    assert most_in_a_second(times) <= 6, (
        f"rate_limit 5: {most_in_a_second(times)} arrivals within one second")
    assert len(times) >= 12, f"rate_limit 5: only {len(times)} arrivals in 3 s"
    # those waiting spent no attempt, and they go in order
    reqs = receiver.requests("/paced")
    assert [r.activity_id for r in reqs] == [f"p-{i}" for i in range(len(reqs))], reqs
    e = wait_delivery(api, paced, f"p-{len(reqs) + 5}", "pending")
    assert e["attempts"] == 0, e
    wait_delivery(api, free, "p-59", "succeeded")


@pytest.mark.store_independent("the engine's slots in memory")
def test_max_in_flight_one_with_a_slow_receiver(servers, receiver):
    s = servers.start(args=["--retry-schedule", "1s", "--request-timeout", "5s"])
    api = s.client()
    wid = make_hook(api, receiver, "/one", max_in_flight=1)["id"]
    receiver.script("/one", ("delay", 0.3, 200))
    most = [0]
    done = threading.Event()

    def watch():
        while not done.is_set():
            most[0] = max(most[0], receiver.held())
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        cid = person(api)
        ids = ingest(api, [act(cid, f"one-{i}") for i in range(5)])
        receiver.wait_count(5, "/one", timeout=10 * slow())
        for aid in ids:
            e = wait_delivery(api, wid, aid, "succeeded", attempts=1, timeout=5 * slow())
    finally:
        done.set()
        watcher.join()
    assert most[0] == 1, f"max_in_flight 1: the receiver held {most[0]} requests at once"
    reqs = receiver.requests("/one")
    gaps = [b.time - a.time for a, b in zip(reqs, reqs[1:])]
    assert min(gaps) >= 0.28, f"a request came before the previous one was answered: {gaps}"


@pytest.mark.store_independent("the engine's pacing in memory")
def test_patch_of_rate_limit_takes_effect_on_the_queue(servers, receiver):
    s = servers.start(args=["--retry-schedule", "1s"])
    api = s.client()
    wid = make_hook(api, receiver, "/patch", rate_limit=1)["id"]
    cid = person(api)
    ingest(api, [act(cid, f"q-{i}") for i in range(20)])
    receiver.wait_count(2, "/patch", timeout=3 * slow())
    assert receiver.count("/patch") <= 3, receiver.requests("/patch")

    r = api.patch(f"/api/v1/webhooks/{wid}", {"rate_limit": 50})
    assert r.status_code == 200, r.text
    patched = time.time()
    got = receiver.wait_count(20, "/patch", timeout=5 * slow())
    took = got[-1].time - patched
    # at 1/s the rest would take 17 s more; at 50/s about 0.35 s
    assert took < 1.5 * slow(), f"the new rate_limit was not followed: {took:.2f}s"
    # (at 50/s five may start at once, so their arrival order is not asked)
    assert sorted(r.activity_id for r in got) == sorted(f"q-{i}" for i in range(20)), got
    assert most_in_a_second([r.time for r in got if r.time > patched]) <= 55

    # and a lower rate slows the queue at once
    ingest(api, [act(cid, f"r-{i}") for i in range(10)])
    receiver.wait_count(30, "/patch", timeout=5 * slow())
    r = api.patch(f"/api/v1/webhooks/{wid}", {"rate_limit": 2})
    assert r.status_code == 200, r.text
    ingest(api, [act(cid, f"s-{i}") for i in range(10)])
    lowered = time.time()
    wait_for(lambda: receiver.count("/patch") >= 31, timeout=3 * slow())
    time.sleep(max(0.0, lowered + 1.5 - time.time()))
    late = [r for r in receiver.requests("/patch") if r.time >= lowered and r.time < lowered + 1.5]
    assert 1 <= len(late) <= 4, f"rate_limit 2: {len(late)} arrivals in 1.5 s: {late}"
