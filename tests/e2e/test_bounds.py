"""Bounded work per request (docs/api.md#limits): the webhook list is paged by cursor,
and an ingest that would make more deliveries than
--max-deliveries-per-request is refused whole, before anything is stored."""

import random
import string
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import assert_error, run_hookd
from receiver import receiver  # noqa: F401  (a fixture)
from test_delivery import FAST, logs, make_hook

# ---------------------------------------------------------------------------
# --max-deliveries-per-request


def post_acts(api, acts):
    return api.post("/api/v1/activities", {"activities": acts})


def a(aid, field_id, email):
    return {"id": aid, "field_id": field_id, "contact": {"fields": {"str::email": email}}}


def test_an_ingest_past_the_delivery_cap_is_refused_whole(servers, receiver):
    s = servers.start(args=FAST + ["--max-deliveries-per-request", "5"])
    api = s.client()
    subscribed = [make_hook(api, receiver, f"/s{i}") for i in range(3)]
    off = make_hook(api, receiver, "/off")  # subscribed, but disconnected
    assert api.post(f"/api/v1/webhooks/{off['id']}/disconnect").status_code == 200
    other = make_hook(api, receiver, "/c", activities=["act::c"])
    hooks = subscribed + [off, other]

    # 1 activity × 3 subscribed, connected webhooks
    r = post_acts(api, [a("ok-1", "act::s", "one@x.io")])
    assert r.status_code == 202, r.text
    # 2 × 3 = 6 > 5: refused, nothing stored
    r = post_acts(api, [a("no-1", "act::s", "refused@x.io"), a("no-2", "act::s", "refused@x.io")])
    assert_error(r, 400, "invalid", "activities")
    assert "5" in r.json()["error"]["message"], r.json()
    # 3 + 1 + 1 = 5: neither the disconnected webhook nor the ones that do
    # not want an activity count
    r = post_acts(api, [a("ok-2", "act::s", "two@x.io"), a("ok-3", "act::c", "two@x.io"),
                        a("ok-4", "act::c", "two@x.io")])
    assert r.status_code == 202, r.text

    # connected now, the same request counts 4 + 1 + 1 = 6
    assert api.post(f"/api/v1/webhooks/{off['id']}/connect").status_code == 200
    r = post_acts(api, [a("no-3", "act::s", "refused@x.io"), a("no-4", "act::c", "refused@x.io"),
                        a("no-5", "act::c", "refused@x.io")])
    assert_error(r, 400, "invalid", "activities")

    want = {"ok-1", "ok-2", "ok-3", "ok-4"}
    receiver.wait(lambda rc: rc.activity_ids() == want, timeout=10)
    time.sleep(0.3)  # a refused activity sent late would show by now
    assert receiver.activity_ids() == want
    for wh in hooks:
        got = {e["activity_id"] for e in logs(api, wh["id"])}
        assert not got & {"no-1", "no-2", "no-3", "no-4", "no-5"}, (wh["name"], got)
    # the refused requests' person and activity ids were not kept: new now
    r = api.post("/api/v1/people/merge", {"people": [{"fields": {"str::email": "refused@x.io"}}]})
    assert r.status_code == 200 and r.json()["people"][0]["status"] == "created", r.text
    r = post_acts(api, [a("no-1", "act::b", "refused@x.io")])
    assert r.status_code == 202 and r.json()["activities"][0]["duplicate"] is False, r.text

    # /send makes one delivery, whatever the cap
    r = api.post(f"/api/v1/webhooks/{subscribed[0]['id']}/send",
                 {"contact": {"fields": {"str::email": "one@x.io"}}})
    assert r.status_code == 202, r.text


def test_the_delivery_cap_option(tmp_path):
    for v in ("0", "-1", "x", "1.5", ""):
        out = run_hookd(["serve", "--db", str(tmp_path / "h.db"), "--max-deliveries-per-request",
                         v], tmp_path)
        assert out.returncode == 2 and "--max-deliveries-per-request" in out.stderr, (v, out)
    out = run_hookd(["serve", "--db", str(tmp_path / "h.db")], tmp_path,
                    env={"HOOKD_MAX_DELIVERIES_PER_REQUEST": "abc"})
    assert out.returncode == 2 and "HOOKD_MAX_DELIVERIES_PER_REQUEST" in out.stderr, out


# ---------------------------------------------------------------------------
# GET /api/v1/webhooks by pages


def test_the_webhook_list_is_paged_by_cursor(servers, sink_url):
    s = servers.start()
    api = s.client()

    def create(i):
        return api.create({"name": f"w{i:03d}", "url": f"{sink_url}/w{i}"})["id"]

    with ThreadPoolExecutor(8) as pool:
        made = set(pool.map(create, range(250)))
    assert len(made) == 250

    def page(query=""):
        r = api.get("/api/v1/webhooks" + query)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"webhooks", "next_cursor"}, body
        return body, len(r.content)

    first, size = page()
    assert len(first["webhooks"]) == 100 and isinstance(first["next_cursor"], str), first
    # a page holds its 100 webhooks, not the whole list
    one = api.get(f"/api/v1/webhooks/{first['webhooks'][0]['id']}")
    assert size < 100 * (len(one.content) + 200), size

    seen, cursor, sizes = [], None, []
    while True:
        body, _ = page(f"?limit=100&cursor={cursor}" if cursor else "?limit=100")
        sizes.append(len(body["webhooks"]))
        seen += [w["id"] for w in body["webhooks"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sizes == [100, 100, 50]
    assert len(seen) == len(set(seen)) and set(seen) == made
    # oldest first, as created
    names = [w["name"] for w in first["webhooks"]]
    everything, _ = page("?limit=1000")
    assert everything["next_cursor"] is None
    assert [w["id"] for w in everything["webhooks"]] == seen
    assert names == [w["name"] for w in everything["webhooks"][:100]]

    # a page that ends with the last webhook has no next one
    body, _ = page("?limit=250")
    assert len(body["webhooks"]) == 250 and body["next_cursor"] is None
    body, _ = page("?limit=1")
    assert len(body["webhooks"]) == 1 and body["webhooks"][0]["id"] == seen[0]

    # the cursor outlives the webhook it was taken after
    assert api.delete(f"/api/v1/webhooks/{seen[99]}").status_code == 204
    body, _ = page(f"?cursor={first['next_cursor']}")
    assert [w["id"] for w in body["webhooks"]] == seen[100:200]

    for q, field in (("limit=0", "limit"), ("limit=1001", "limit"), ("limit=x", "limit"),
                     ("cursor=x", "cursor"), ("cursor=0", "cursor")):
        assert_error(api.get(f"/api/v1/webhooks?{q}"), 400, "invalid", field)


# ---------------------------------------------------------------------------
# a log page is bounded by its bytes, not only by its limit


def test_a_log_page_of_large_payloads_ends_early_and_the_cursor_goes_on(servers, receiver):
    """Twelve deliveries of 0.9 MB payloads: `limit=200` would read, hold
    and answer 11 MB at once (200 of them: 180 MB). A page ends after the
    delivery that takes it past 8 MiB and its next_cursor goes on from
    there, so every delivery is listed once, newest first."""
    s = servers.start(args=FAST)
    api = s.client()
    wh = make_hook(api, receiver, "/big")
    rnd = random.Random(7)
    for i in range(12):
        note = "".join(rnd.choice(string.ascii_letters) for _ in range(900_000))
        act = a(f"big-{i}", "act::s", "big@x.io")
        act["attr"] = {"str::s": note}
        r = post_acts(api, [act])
        assert r.status_code == 202, r.text[:200]
    receiver.wait(lambda rc: len(rc.activity_ids()) == 12, timeout=20)
    seen, pages, cursor = [], [], None
    while True:
        q = "limit=200" + (f"&cursor={cursor}" if cursor else "")
        r = api.get(f"/api/v1/webhooks/{wh['id']}/logs?{q}")
        assert r.status_code == 200, r.text[:200]
        page = r.json()
        entries = [e for e in page["entries"] if e["kind"] == "activity"]
        pages.append((len(page["entries"]), len(r.content)))
        seen += [e["activity_id"] for e in entries]
        assert len(r.content) < 10 * 2**20, pages  # 8 MiB of bodies, and the rest of the entries
        cursor = page["next_cursor"]
        if not cursor:
            break
        assert len(pages) < 20, pages
    assert seen == [f"big-{i}" for i in reversed(range(12))], seen
    assert len(pages) == 2, pages
