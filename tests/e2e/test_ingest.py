"""People, accounts, fields, catalog, activity ingest, /send and the logs read
endpoints (docs/api.md people/activities/logs, docs/payload.md, docs/api.md#catalog), checked
through the real binary: what goes in through the API is read back as the
exact stored delivery through the logs endpoints."""

import json
import re
import urllib.parse

import pytest

from conftest import assert_error, hook_body

TIME_NS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
TIME_S_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def merge(api, people, merge_by=None):
    body = {"people": people}
    if merge_by is not None:
        body["merge_by"] = merge_by
    r = api.post("/api/v1/people/merge", body)
    assert r.status_code == 200, r.text
    return r.json()["people"]


def ingest(api, activities, status=202):
    r = api.post("/api/v1/activities", {"activities": activities})
    assert r.status_code == status, r.text
    return r.json()


def entries(api, wid, kind="activity", **params):
    """The webhook's log entries of one kind (the creation test send, once
    built, is kind `test` and is left out)."""
    q = urllib.parse.urlencode(params)
    r = api.get(f"/api/v1/webhooks/{wid}/logs" + (f"?{q}" if q else ""))
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"entries", "next_cursor"}, body
    return [e for e in body["entries"] if kind is None or e["kind"] == kind]


def sent_payload(entry):
    assert entry["request"]["method"] in ("POST", "PUT", "PATCH"), entry
    return json.loads(entry["request"]["body"])


# ---------------------------------------------------------------------------
# catalog and fields


def test_catalog_lists_every_seed_entry_with_group(mapi):
    acts = mapi.get("/api/v1/catalog/activities").json()["activities"]
    attrs = mapi.get("/api/v1/catalog/attributes").json()["attributes"]
    assert len(acts) == 159 and len(attrs) == 128
    by_id = {a["field_id"]: a for a in acts}
    assert by_id["act::s"] == {"field_id": "act::s", "name": "Person: Sent email", "group": "Email"}
    assert by_id["act:o:waoo-a"]["group"] == "WhatsApp"
    assert by_id["act::ws"]["group"] == "Web and user session"
    groups = {a["group"] for a in acts}
    assert groups == {"Email", "SMS", "Push", "Web and user session", "Audience and tag",
                      "Playbook", "Journey", "Capture widget", "Talk", "WhatsApp"}
    attr_by = {a["field_id"]: a for a in attrs}
    assert attr_by["str:sr"]["name"] == "Screen resolution"
    assert attr_by["str:sr"]["group"] == "web session"
    assert attr_by["str::sr"]["group"] == "campaign"
    assert {a["group"] for a in attrs} == {"campaign", "push", "ad", "playbook", "unsubscribe",
                                           "web session", "Talk"}


def test_fields_builtin_and_custom(api):
    fields = api.get("/api/v1/fields").json()["fields"]
    by_id = {f["id"]: f for f in fields}
    assert by_id["str::first"] == {"id": "str::first", "name": "First name", "type": "str",
                                   "object": "person", "default_key": "first_name",
                                   "builtin": True}
    assert by_id["geo:o:country"]["default_key"] == "account_country"
    assert by_id["geo:o:country"]["object"] == "account"
    assert len([f for f in fields if f["builtin"]]) == 20

    r = api.post("/api/v1/fields", {"name": "Job title", "type": "str", "object": "person"})
    assert r.status_code == 201, r.text
    assert r.json() == {"id": "str:cm:job-title", "name": "Job title", "type": "str",
                        "object": "person", "default_key": "job_title", "builtin": False}
    assert_error(api.post("/api/v1/fields", {"name": "job  TITLE!", "type": "str"}),
                 409, "conflict")
    r = api.post("/api/v1/fields", {"name": "Tier level", "type": "int", "object": "account"})
    assert r.status_code == 201 and r.json()["id"] == "int:oc:tier-level"
    assert_error(api.post("/api/v1/fields", {"name": "x", "type": "idt"}), 400, "invalid", "type")
    assert_error(api.post("/api/v1/fields", {"name": "x", "type": "u4s"}), 400, "invalid", "type")
    assert_error(api.post("/api/v1/fields", {"name": "!!!", "type": "str"}), 400, "invalid",
                 "name")
    assert_error(api.post("/api/v1/fields", {"name": "a" * 101, "type": "str"}), 400, "invalid",
                 "name")
    assert_error(api.post("/api/v1/fields", {"name": "ok", "type": "str", "object": "thing"}),
                 400, "invalid", "object")
    ids = [f["id"] for f in api.get("/api/v1/fields").json()["fields"]]
    assert ids[-2:] == ["str:cm:job-title", "int:oc:tier-level"]


# ---------------------------------------------------------------------------
# people and accounts


def test_merge_creates_then_updates_keeping_other_fields(servers):
    s = servers.start()
    api = s.client()
    [p] = merge(api, [{"fields": {"str::email": "ann@x.io", "str::first": "Ann",
                                  "str::last": "Lee"},
                       "account": {"fields": {"str:o:name": "Acme", "int:o:employees": 40}}}])
    assert p["status"] == "created"
    [q] = merge(api, [{"fields": {"str::email": "ann@x.io", "str::first": "Annie"}}])
    assert q == {"contact_id": p["contact_id"], "status": "updated"}
    person = api.get(f"/api/v1/people/{p['contact_id']}").json()
    assert person["fields"] == {"str::email": "ann@x.io", "str::first": "Annie",
                                "str::last": "Lee"}
    acc = api.get(f"/api/v1/accounts/{person['account_id']}").json()
    assert acc == {"account_id": person["account_id"],
                   "fields": {"str:o:name": "Acme", "int:o:employees": 40}}
    r = api.post("/api/v1/accounts/merge",
                 {"accounts": [{"fields": {"str:o:name": "Acme", "str:o:industry": "Tools"}},
                               {"fields": {"str:o:name": "Other"}}]})
    assert r.status_code == 200, r.text
    a1, a2 = r.json()["accounts"]
    assert a1 == {"account_id": person["account_id"], "status": "updated"}
    assert a2["status"] == "created"
    # survives a restart
    s2 = servers.restart(s)
    again = s2.client().get(f"/api/v1/people/{p['contact_id']}").json()
    assert again == person


def test_merge_by_order_and_limits(api):
    [a] = merge(api, [{"fields": {"str::email": "a@x.io", "str::ei": "E1"}}])
    # merge_by in order: the first field that finds someone wins
    [b] = merge(api, [{"fields": {"str::email": "new@x.io", "str::ei": "E1"}}],
                merge_by=["str::email", "str::ei"])
    assert b == {"contact_id": a["contact_id"], "status": "updated"}
    assert_error(api.post("/api/v1/people/merge", {"people": []}), 400, "invalid", "people")
    big = [{"fields": {"str::email": f"p{i}@x.io"}} for i in range(1001)]
    assert_error(api.post("/api/v1/people/merge", {"people": big}), 400, "invalid", "people")
    assert_error(api.post("/api/v1/people/merge",
                          {"people": [{"fields": {"str::email": "z@x.io"}}],
                           "merge_by": ["str::email", "str::ei", "str::first", "str::last"]}),
                 400, "invalid", "merge_by")
    assert_error(api.post("/api/v1/people/merge",
                          {"people": [{"fields": {"str::first": "No key"}}]}),
                 400, "invalid", "people[0].fields")
    assert_error(api.post("/api/v1/people/merge",
                          {"people": [{"fields": {"str::email": "q@x.io", "bol::gdpr": "yes"}}]}),
                 400, "invalid", "people[0].fields.bol::gdpr")
    assert_error(api.post("/api/v1/people/merge",
                          {"people": [{"fields": {"str::email": "q@x.io", "str:o:name": "A"}}]}),
                 400, "invalid", "people[0].fields.str:o:name")
    assert_error(api.get("/api/v1/people/00000000-0000-7000-8000-000000000000"), 404, "not_found")
    assert_error(api.post("/api/v1/people/merge",
                          {"people": [{"fields": {"str::email": "q@x.io"}, "merge_by": ["str::ei"]}]}),
                 400, "invalid", "people[0].merge_by")
    # a refused merge stored nobody
    [c] = merge(api, [{"fields": {"str::email": "q@x.io"}}])
    assert c["status"] == "created"


def test_person_field_values_are_typed_and_normalised(api):
    [p] = merge(api, [{"fields": {
        "str::email": "t@x.io",
        "phn::phone": {"c": "61", "n": "401234567"},
        "geo::city": {"name": "Sydney"},
        "dtz::b": {"year": 1990, "month": 2, "day": 28, "timezone": "Australia/Sydney"},
        "bol::gdpr": True,
        "str:cm:anything-custom": "custom ok"}}])
    got = api.get(f"/api/v1/people/{p['contact_id']}").json()["fields"]
    assert got["phn::phone"] == {"c": "61", "n": "401234567"}
    assert got["dtz::b"]["day"] == 28
    assert_error(api.post("/api/v1/people/merge", {"people": [{"fields": {
        "str::email": "t@x.io", "dtz::b": {"year": 1991, "month": 2, "day": 29,
                                           "timezone": "UTC"}}}]}),
                 400, "invalid", "people[0].fields.dtz::b.day")


# ---------------------------------------------------------------------------
# activities → deliveries


def test_ingest_routes_and_builds_the_exact_payload(servers, sink_url):
    s = servers.start()
    api = s.client()
    api.post("/api/v1/fields", {"name": "Job title", "type": "str"})
    wh_s = api.create(hook_body(sink_url, name="sent", activities=["act::s"],
                                keys={"contact_id": "id", "email": "mail"},
                                fields=[{"field_id": "str::first"},
                                        {"field_id": "str:o:name", "key": "company"},
                                        {"field_id": "str:cm:job-title"},
                                        {"field_id": "str::last"}]))
    wh_all = api.create(hook_body(sink_url, name="all", activities=["*"], send_activity=False))
    wh_c = api.create(hook_body(sink_url, name="clicks", activities=["act::c"]))
    [p] = merge(api, [{"fields": {"str::email": "ann@x.io", "str::first": "Ann",
                                  "str:cm:job-title": "CTO"},
                       "account": {"fields": {"str:o:name": "Acme"}}}])
    out = ingest(api, [{
        "id": "evt-1", "field_id": "act::s", "contact": {"contact_id": p["contact_id"]},
        "created": "2023-01-17T10:40:54+11:00",
        "attr": {"str::s": "Hi", "int::pv": 3, "bol::t": False, "tme::coa": "2023-01-16T23:40:54.5Z",
                 "sst::t": ["a", "b"]},
        "campaign": {"id": "c1", "name": "Welcome", "transactional": True}}])
    assert out == {"activities": [{"id": "evt-1", "duplicate": False}]}

    [e] = entries(api, wh_s["id"])
    # the engine may already have sent it to the sink; the stored request is
    # what this test is about
    assert e["kind"] == "activity" and e["state"] in ("pending", "succeeded")
    assert e["activity_id"] == "evt-1" and e["field_id"] == "act::s"
    assert e["request"]["url"] == sink_url + "/hook"
    assert e["request"]["headers"]["Content-Type"] == "application/json"
    assert e["request"]["headers"]["webhook-id"] == e["id"]
    body = sent_payload(e)
    assert list(body) == ["activity", "contact", "id", "time", "webhook_id"]
    assert body["activity"] == {
        "id": "evt-1", "field_id": "act::s", "created": "2023-01-16T23:40:54Z",
        # bol::t from the client is dropped; hookd adds true for a
        # transactional email activity
        "attr": {"str::s": "Hi", "int::pv": 3, "tme::coa": "2023-01-16T23:40:54Z",
                 "sst::t": ["a", "b"], "bol::t": True}}
    # locked keys renamed, fields under their keys, person without a last name
    assert body["contact"] == {"id": p["contact_id"], "mail": "ann@x.io", "first_name": "Ann",
                               "company": "Acme", "job_title": "CTO"}
    assert list(body["contact"]) == ["id", "mail", "first_name", "company", "job_title"]
    assert body["id"] == e["id"] and body["webhook_id"] == wh_s["id"]
    assert TIME_NS_RE.match(body["time"]), body["time"]
    for k in ("campaign_id", "campaign_name", "action_id", "action_name"):
        assert k not in body

    [e_all] = entries(api, wh_all["id"])
    body_all = sent_payload(e_all)
    assert "activity" not in body_all  # send_activity false
    assert body_all["contact"] == {"contact_id": p["contact_id"], "email": "ann@x.io"}
    assert entries(api, wh_c["id"]) == []

    # the sink answers 200: the detail then shows that one attempt, and the
    # request sent is the stored one; the body stays byte-identical after a
    # restart
    def detail():
        r = api.get(f"/api/v1/webhooks/{wh_s['id']}/logs/{e['id']}")
        assert r.status_code == 200, r.text
        return r.json()
    wait_until(lambda: detail()["state"] == "succeeded")
    d = detail()
    assert d["request"]["body"] == e["request"]["body"]
    assert d["attempts"] == 1 and [a["status_code"] for a in d["attempts_detail"]] == [200]
    assert d["response"]["status_code"] == 200 and d["response"]["body"] == "ok"
    s2 = servers.restart(s)
    api2 = s2.client()
    [again] = entries(api2, wh_s["id"])
    assert again["request"]["body"] == e["request"]["body"]


def test_transactional_flag_only_for_email_and_sms(api, sink_url):
    wh = api.create(hook_body(sink_url, activities=["*"]))
    [p] = merge(api, [{"fields": {"str::email": "b@x.io"}}])
    c = {"contact_id": p["contact_id"]}
    tr = {"transactional": True}
    ingest(api, [
        {"id": "sms", "field_id": "act::ss", "contact": c, "campaign": tr},
        {"id": "push", "field_id": "act::sph", "contact": c, "campaign": tr},
        {"id": "email-not-tr", "field_id": "act::o", "contact": c,
         "campaign": {"transactional": False}, "attr": {"bol::t": True}},
        {"id": "acct-email", "field_id": "act:o:c", "contact": c, "campaign": tr},
    ])
    got = {e["activity_id"]: sent_payload(e)["activity"]["attr"] for e in entries(api, wh["id"])}
    assert got["sms"] == {"bol::t": True}
    assert got["push"] == {}
    assert got["email-not-tr"] == {}
    assert got["acct-email"] == {"bol::t": True}


def test_ingest_is_all_or_nothing(api, sink_url):
    wh = api.create(hook_body(sink_url, activities=["*"]))
    good = {"field_id": "act::s", "contact": {"fields": {"str::email": "new@x.io"}}}
    bad = {"field_id": "act::s", "contact": {"fields": {"str::email": "new2@x.io"}},
           "attr": {"int::pv": 1.5}}
    e = assert_error(api.post("/api/v1/activities", {"activities": [good, bad]}),
                     400, "invalid", "activities[1].attr.int::pv")
    assert "1000" in e["message"]
    assert entries(api, wh["id"], kind=None) == [] or all(
        x["kind"] == "test" for x in entries(api, wh["id"], kind=None))
    # the first activity's person was not made either: merging now creates
    [p] = merge(api, [{"fields": {"str::email": "new@x.io"}}])
    assert p["status"] == "created"


def test_ingest_validation_names_the_path(mapi):
    def bad(act, field):
        assert_error(mapi.post("/api/v1/activities", {"activities": [act]}), 400, "invalid",
                     field)
    c = {"fields": {"str::email": "v@x.io"}}
    bad({"field_id": "act::nope", "contact": c}, "activities[0].field_id")
    bad({"contact": c}, "activities[0].field_id")
    bad({"field_id": "act::s"}, "activities[0].contact")
    bad({"field_id": "act::s", "contact": c, "attr": {"str::nope": "x"}},
        "activities[0].attr.str::nope")
    bad({"field_id": "act::s", "contact": c, "attr": {"u4s::t": [1, -1]}},
        "activities[0].attr.u4s::t[1]")
    bad({"field_id": "act::s", "contact": c, "attr": {"tme::coa": "yesterday"}},
        "activities[0].attr.tme::coa")
    bad({"field_id": "act::s", "contact": c, "created": "2023-02-30T00:00:00Z"},
        "activities[0].created")
    bad({"field_id": "act::s", "contact": c, "id": ""}, "activities[0].id")
    bad({"field_id": "act::s", "contact": c, "id": "x" * 65}, "activities[0].id")
    bad({"field_id": "act::s", "contact": c, "colour": 1}, "activities[0].colour")
    bad({"field_id": "act::s", "contact": c, "campaign": {"transactional": "yes"}},
        "activities[0].campaign.transactional")
    bad({"field_id": "act::s", "contact": {"contact_id": "00000000-0000-7000-8000-000000000000"}},
        "activities[0].contact.contact_id")
    assert_error(mapi.post("/api/v1/activities", {"activities": []}), 400, "invalid",
                 "activities")
    many = [{"field_id": "act::s", "contact": c}] * 1001
    assert_error(mapi.post("/api/v1/activities", {"activities": many}), 400, "invalid",
                 "activities")
    # custom activity and attribute ids need no registration
    ingest(mapi, [{"field_id": "act:cm:signed-up", "contact": c,
                   "attr": {"str:cm:plan": "pro", "int:cm:seats": 5}}])


def test_idempotent_ids(api, sink_url):
    wh = api.create(hook_body(sink_url, activities=["act::s"]))
    c = {"fields": {"str::email": "i@x.io"}}
    out = ingest(api, [{"id": "a", "field_id": "act::s", "contact": c},
                       {"id": "a", "field_id": "act::s", "contact": c},
                       {"id": "b", "field_id": "act::s", "contact": c}])
    assert out["activities"] == [{"id": "a", "duplicate": False},
                                 {"id": "a", "duplicate": True},
                                 {"id": "b", "duplicate": False}]
    out = ingest(api, [{"id": "b", "field_id": "act::s", "contact": c}])
    assert out["activities"] == [{"id": "b", "duplicate": True}]
    assert sorted(e["activity_id"] for e in entries(api, wh["id"])) == ["a", "b"]
    # without an id, each activity gets a new one
    out = ingest(api, [{"field_id": "act::s", "contact": c}] * 2)
    ids = [a["id"] for a in out["activities"]]
    assert ids[0] != ids[1] and not any(a["duplicate"] for a in out["activities"])


def test_disconnected_webhook_gets_nothing(api, sink_url):
    wh = api.create(hook_body(sink_url, activities=["*"]))
    assert api.post(f"/api/v1/webhooks/{wh['id']}/disconnect").status_code == 200
    ingest(api, [{"field_id": "act::s", "contact": {"fields": {"str::email": "d@x.io"}}}])
    assert entries(api, wh["id"]) == []
    api.post(f"/api/v1/webhooks/{wh['id']}/connect")
    ingest(api, [{"field_id": "act::s", "contact": {"fields": {"str::email": "d@x.io"}}}])
    assert len(entries(api, wh["id"])) == 1


def test_get_webhook_sends_payload_as_query(api, sink_url):
    wh = api.create(hook_body(sink_url, url=sink_url + "/q?a=1", method="GET",
                              activities=["act::c"]))
    [p] = merge(api, [{"fields": {"str::email": "g+1@x.io"}}])
    ingest(api, [{"id": "q1", "field_id": "act::c", "contact": {"contact_id": p["contact_id"]},
                  "attr": {"str::c": "https://x.io/a b?c=d&e", "sst::t": ["x", "y"],
                           "bol::a": False, "int::pv": -2, "sst::tags": []}}])
    [e] = entries(api, wh["id"])
    assert e["request"]["body"] == ""
    assert "Content-Type" not in e["request"]["headers"]
    url = e["request"]["url"]
    assert url.startswith(sink_url + "/q?a=1&")
    pairs = urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True)
    assert ("a", "1") in pairs
    assert ("activity.attr.str::c", "https://x.io/a b?c=d&e") in pairs
    assert [v for k, v in pairs if k == "activity.attr.sst::t"] == ["x", "y"]
    assert ("activity.attr.bol::a", "false") in pairs
    assert ("activity.attr.int::pv", "-2") in pairs
    assert not any(k == "activity.attr.sst::tags" for k, _ in pairs)
    assert ("contact.email", "g+1@x.io") in pairs
    assert ("id", e["id"]) in pairs
    # every character outside RFC 3986's unreserved set is percent-encoded
    query = url.split("?", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9\-._~%=&]*", query), query


def test_send_action_delivery(api, sink_url):
    wh = api.create(hook_body(sink_url, activities=["act::c"],
                              keys={"campaign_id": "cid", "action_name": "step"}))
    r = api.post(f"/api/v1/webhooks/{wh['id']}/send", {
        "contact": {"fields": {"str::email": "s@x.io"}},
        "activity": {"field_id": "act::ej", "attr": {"str::s": "x"}},
        "campaign_id": "c9", "campaign_name": "Onboarding", "action_id": "a1",
        "action_name": "Ping CRM"})
    assert r.status_code == 202, r.text
    did = r.json()["delivery_id"]
    [e] = entries(api, wh["id"], kind="action")
    assert e["id"] == did and e["field_id"] == "act::ej"
    body = sent_payload(e)
    assert list(body) == ["activity", "contact", "cid", "campaign_name", "action_id", "step",
                          "id", "time", "webhook_id"]
    assert body["cid"] == "c9" and body["step"] == "Ping CRM"
    assert body["activity"]["field_id"] == "act::ej"
    # without an activity there is none in the payload
    r = api.post(f"/api/v1/webhooks/{wh['id']}/send",
                 {"contact": {"fields": {"str::email": "s@x.io"}}, "campaign_id": "c9"})
    assert r.status_code == 202
    newest = entries(api, wh["id"], kind="action")[0]
    assert "activity" not in sent_payload(newest)
    assert_error(api.post(f"/api/v1/webhooks/{wh['id']}/send", {"contact": {"fields": {}}}),
                 400, "invalid", "contact.fields")
    # disconnected: 409 and nothing stored
    api.post(f"/api/v1/webhooks/{wh['id']}/disconnect")
    before = len(entries(api, wh["id"], kind=None))
    assert_error(api.post(f"/api/v1/webhooks/{wh['id']}/send",
                          {"contact": {"fields": {"str::email": "s@x.io"}}}), 409, "conflict")
    assert len(entries(api, wh["id"], kind=None)) == before
    assert_error(api.post("/api/v1/webhooks/00000000-0000-7000-8000-000000000000/send",
                          {"contact": {"fields": {"str::email": "s@x.io"}}}), 404, "not_found")


def wait_until(pred, timeout=10):
    import time
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_logs_pagination_and_filters(api, sink_url):
    wh = api.create(hook_body(sink_url, activities=["act::s"]))
    c = {"fields": {"str::email": "l@x.io"}}
    ingest(api, [{"id": f"p{i}", "field_id": "act::s", "contact": c} for i in range(7)])
    seen, cursor = [], None
    while True:
        q = f"?limit=3" + (f"&cursor={cursor}" if cursor else "")
        r = api.get(f"/api/v1/webhooks/{wh['id']}/logs{q}")
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["entries"]) <= 3
        seen += [e["activity_id"] for e in page["entries"] if e["kind"] == "activity"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"p{i}" for i in reversed(range(7))]  # newest first
    # the sink answers 200: once all went out, the state filter finds them
    wait_until(lambda: len(entries(api, wh["id"], state="succeeded")) == 7)
    assert entries(api, wh["id"], state="pending") == []
    assert entries(api, wh["id"], state="failed") == []
    assert_error(api.get(f"/api/v1/webhooks/{wh['id']}/logs?state=done"), 400, "invalid", "state")
    assert_error(api.get(f"/api/v1/webhooks/{wh['id']}/logs?limit=0"), 400, "invalid", "limit")
    assert_error(api.get(f"/api/v1/webhooks/{wh['id']}/logs?cursor=abc"), 400, "invalid",
                 "cursor")
    assert_error(api.get(f"/api/v1/webhooks/{wh['id']}/logs/00000000-0000-7000-8000-000000000000"),
                 404, "not_found")
    assert_error(api.get("/api/v1/webhooks/00000000-0000-7000-8000-000000000000/logs"),
                 404, "not_found")


def test_basic_auth_is_redacted_in_logs(api, sink_url):
    wh = api.create(hook_body(sink_url, activities=["act::s"],
                              basic_auth={"username": "u", "password": "hunter2"},
                              headers=[{"key": "X-Team", "value": "growth"}]))
    ingest(api, [{"field_id": "act::s", "contact": {"fields": {"str::email": "r@x.io"}}}])
    r = api.get(f"/api/v1/webhooks/{wh['id']}/logs")
    assert "hunter2" not in r.text
    [e] = [x for x in r.json()["entries"] if x["kind"] == "activity"]
    assert e["request"]["headers"]["Authorization"] == "[redacted]"
    assert e["request"]["headers"]["X-Team"] == "growth"


def closed_port_url():
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now: attempts fail and wait to retry
    return f"http://127.0.0.1:{port}/"


@pytest.mark.sqlite_only("reads the delivery states in the SQLite file (the API shows no "
                        "deliveries of a deleted webhook)")
def test_delete_cancels_waiting_deliveries(servers, sink_url):
    s = servers.start()
    api = s.client()
    wh = api.create(hook_body(sink_url, url=closed_port_url(), activities=["act::s"]))
    ingest(api, [{"field_id": "act::s", "contact": {"fields": {"str::email": "x@x.io"}}}])
    assert api.delete(f"/api/v1/webhooks/{wh['id']}").status_code == 204
    # the store keeps them as cancelled; inspect the SQLite file directly
    import sqlite3
    db = sqlite3.connect(s.db)
    # the only webhook's activity deliveries (kind 0); the state lives in delivery_state
    states = db.execute("SELECT s.state FROM delivery_state s JOIN deliveries d "
                        "ON d.seq = s.seq WHERE d.kind = 0").fetchall()
    db.close()
    assert states and all(st == 5 for (st,) in states)  # 5 = cancelled


def test_merge_between_activities_of_one_request_is_seen(api, sink_url):
    """Activities are taken in order: a merge in the middle of a request
    changes what later activities of the same person carry."""
    wh = api.create(hook_body(sink_url, activities=["act::s"],
                              fields=[{"field_id": "str::first"}]))
    [p] = merge(api, [{"fields": {"str::email": "o@x.io", "str::first": "Old"}}])
    by_id = {"contact_id": p["contact_id"]}
    ingest(api, [{"id": "1", "field_id": "act::s", "contact": by_id},
                 {"id": "2", "field_id": "act::s",
                  "contact": {"fields": {"str::email": "o@x.io", "str::first": "New"}}},
                 {"id": "3", "field_id": "act::s", "contact": by_id}])
    got = {e["activity_id"]: sent_payload(e)["contact"].get("first_name")
           for e in entries(api, wh["id"])}
    assert got == {"1": "Old", "2": "New", "3": "New"}
