"""docs/api.md#answers-that-update-the-person: a webhook with
update_contact_from_response merges a 2xx answer's {"fields":{…}} into the
person the delivery was made for, validated as POST /api/v1/people/merge;
a 2xx whose body is not a JSON object is retried; a 3xx succeeds and
updates no one; test sends update no one; an answer is applied once per
delivery.

Each test makes a person, a webhook to a scripted receiver and a delivery
for the person through POST /webhooks/{id}/send, then reads the person
(GET /api/v1/people/{contact_id}) and the delivery's log entry."""

import json
import time

from receiver import receiver  # noqa: F401  (a fixture)

# retries after 200 ms, 4 attempts at most
FAST = ["--retry-schedule", "200ms", "--max-retries", "3", "--request-timeout", "2s"]


def wait_for(predicate, timeout=10, what=None):
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; state: {what() if callable(what) else what!r}")
        time.sleep(0.05)


def answer(fields=None, raw=None, status=200):
    """A receiver action answering status with {"fields": fields} (or raw)."""
    body = raw if raw is not None else json.dumps({"fields": fields}).encode()
    return ("status", status, body, {"Content-Type": "application/json"})


def scripted(rcv, path, actions):
    """Scripts path: test payloads get a JSON answer setting str::first (which
    must update no one); deliveries get actions in turn, the last repeating."""
    left = list(actions)

    def act(req):
        if req.is_test:
            return answer({"str::first": "FromTest"})
        return left.pop(0) if len(left) > 1 else left[0]
    rcv.script(path, act)


def make_person(api, email):
    r = api.post("/api/v1/people/merge",
                 {"people": [{"fields": {"str::email": email, "str::first": "Zoe"}}]})
    assert r.status_code == 200, r.text
    return r.json()["people"][0]["contact_id"]


def person_fields(api, cid):
    r = api.get(f"/api/v1/people/{cid}")
    assert r.status_code == 200, r.text
    return r.json()["fields"]


def make_hook(api, rcv, path, on=True):
    body = {"name": f"hook {path}", "url": rcv.url + path}
    if on is not None:
        body["update_contact_from_response"] = on
    r = api.post("/api/v1/webhooks", body)
    assert r.status_code == 201, r.text
    wh = r.json()
    assert wh["update_contact_from_response"] is bool(on), wh
    return wh["id"]


def send(api, wid, cid):
    r = api.post(f"/api/v1/webhooks/{wid}/send", {"contact": {"contact_id": cid}})
    assert r.status_code == 202, r.text
    return r.json()["delivery_id"]


def entry(api, wid, did):
    r = api.get(f"/api/v1/webhooks/{wid}/logs/{did}")
    assert r.status_code == 200, r.text
    return r.json()


def wait_finished(api, wid, did, state="succeeded"):
    return wait_for(lambda: (lambda e: e if e["state"] == state else None)(entry(api, wid, did)),
                    what=lambda: entry(api, wid, did))


def test_option_is_a_validated_setting_default_off(servers, receiver):
    api = servers.start().client()
    wid = make_hook(api, receiver, "/plain", on=None)
    r = api.get(f"/api/v1/webhooks/{wid}")
    assert r.json()["update_contact_from_response"] is False
    r = api.patch(f"/api/v1/webhooks/{wid}", {"update_contact_from_response": "yes"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "update_contact_from_response"
    r = api.patch(f"/api/v1/webhooks/{wid}", {"update_contact_from_response": True})
    assert r.status_code == 200 and r.json()["update_contact_from_response"] is True


def test_a_2xx_json_answer_updates_the_person(servers, receiver):
    api = servers.start(args=FAST).client()
    cid = make_person(api, "ann@x.io")
    scripted(receiver, "/ok", [answer({"str::first": "Ann", "str::last": "Lee",
                                        "bol::gdpr": True})])
    wid = make_hook(api, receiver, "/ok")
    # the test payload sent at creation was answered with fields: no update
    assert person_fields(api, cid)["str::first"] == "Zoe"
    did = send(api, wid, cid)
    e = wait_finished(api, wid, did)
    assert e["attempts"] == 1 and e["error"] is None, e
    f = person_fields(api, cid)
    assert f["str::first"] == "Ann" and f["str::last"] == "Lee" and f["bol::gdpr"] is True, f
    assert f["str::email"] == "ann@x.io"  # others stay, as people/merge does
    # a test send by /test updates no one either
    r = api.post(f"/api/v1/webhooks/{wid}/test")
    assert r.status_code == 200 and r.json()["ok"] is True, r.text
    assert person_fields(api, cid)["str::first"] == "Ann"


def test_bad_fields_are_refused_and_recorded_delivery_succeeds(servers, receiver):
    api = servers.start(args=FAST).client()
    cid = make_person(api, "bad@x.io")
    scripted(receiver, "/bad", [answer({"str::first": "Ann", "xyz::nope": 1}),
                                answer({"str::last": "Lee", "str::first": 5}),
                                answer({"str::first": "Ann"}, raw=b'{"fields": 3}')])
    wid = make_hook(api, receiver, "/bad")
    for field in ("fields.xyz::nope", "fields.str::first", "fields"):
        did = send(api, wid, cid)
        e = wait_finished(api, wid, did)
        assert e["attempts"] == 1, e
        assert e["error"] and field in e["error"], (field, e)
        assert e["attempts_detail"][-1]["error"] == e["error"]
        # all or nothing: the valid fields beside the bad one are not applied
        f = person_fields(api, cid)
        assert f["str::first"] == "Zoe" and "str::last" not in f, f


def test_a_non_json_2xx_is_retried_until_a_json_answer(servers, receiver):
    api = servers.start(args=FAST).client()
    cid = make_person(api, "retry@x.io")
    scripted(receiver, "/nj", [("status", 200, b"OK", {}),
                               answer(None, raw=b'[{"fields": {"str::first": "Arr"}}]'),
                               answer({"str::first": "Ann"})])
    wid = make_hook(api, receiver, "/nj")
    did = send(api, wid, cid)
    e = wait_finished(api, wid, did)
    assert e["attempts"] == 3, e
    assert len(receiver.requests("/nj")) == 3
    d = e["attempts_detail"]
    assert [a["status_code"] for a in d] == [200, 200, 200], d
    assert "not a JSON object" in d[0]["error"] and "not a JSON object" in d[1]["error"], d
    assert d[2]["error"] is None and e["error"] is None, d
    assert person_fields(api, cid)["str::first"] == "Ann"


def test_option_off_updates_no_one_and_takes_any_2xx(servers, receiver):
    api = servers.start(args=FAST).client()
    cid = make_person(api, "off@x.io")
    scripted(receiver, "/off", [answer({"str::first": "Ann"}), ("status", 200, b"OK", {})])
    wid = make_hook(api, receiver, "/off", on=False)
    for _ in range(2):
        did = send(api, wid, cid)
        e = wait_finished(api, wid, did)
        assert e["attempts"] == 1 and e["error"] is None, e
    assert person_fields(api, cid)["str::first"] == "Zoe"


def test_a_3xx_succeeds_and_updates_no_one(servers, receiver):
    api = servers.start(args=FAST).client()
    cid = make_person(api, "redir@x.io")
    body = json.dumps({"fields": {"str::first": "Ann"}}).encode()
    scripted(receiver, "/r", [("status", 302, body, {"Location": "/elsewhere"})])
    wid = make_hook(api, receiver, "/r")
    did = send(api, wid, cid)
    e = wait_finished(api, wid, did)
    assert e["attempts"] == 1 and e["status_code"] == 302 and e["error"] is None, e
    assert person_fields(api, cid)["str::first"] == "Zoe"


def test_an_answer_is_applied_once_per_delivery(servers, receiver):
    """The answer set str::first; people/merge then changed it. Nothing
    that brings the delivery's answer back applies it again: a retry of the
    succeeded delivery is refused, and a restart does not attempt it again.
    A second delivery to the same person is its own delivery and applies its
    own answer."""
    s = servers.start(args=FAST)
    api = s.client()
    cid = make_person(api, "once@x.io")
    scripted(receiver, "/once", [answer({"str::first": "Ann"})])
    wid = make_hook(api, receiver, "/once")
    did = send(api, wid, cid)
    wait_finished(api, wid, did)
    assert person_fields(api, cid)["str::first"] == "Ann"
    r = api.post("/api/v1/people/merge",
                 {"people": [{"fields": {"str::email": "once@x.io", "str::first": "Zed"}}]})
    assert r.status_code == 200, r.text
    r = api.post(f"/api/v1/webhooks/{wid}/logs/{did}/retry")
    assert r.status_code == 409, r.text
    s = servers.restart(s, args=FAST)
    api = s.client()
    time.sleep(0.6)  # three retry delays: what must not happen has had time
    assert len(receiver.requests("/once")) == 1
    assert entry(api, wid, did)["attempts"] == 1
    assert person_fields(api, cid)["str::first"] == "Zed"
