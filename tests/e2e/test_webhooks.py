"""Webhooks (docs/api.md#webhooks): every rule of the table, defaults, PATCH, DELETE,
connect/disconnect and rotate-secret.

One server serves the whole module: every refused call is checked to leave
the webhook count (or the webhook) exactly as it was, so tests that create
webhooks do not disturb the ones that count."""

import base64
import datetime
import re
import time

import pytest

from conftest import assert_error, strip_volatile

LOCKED = ["contact_id", "email", "campaign_id", "campaign_name", "action_id", "action_name"]
DEFAULT_KEYS = {k: k for k in LOCKED}
ACTION_KEYS = ["campaign_id", "campaign_name", "action_id", "action_name"]
TOP_LEVEL = ["activity", "contact", "id", "time", "webhook_id", "test"]
SETTINGS = {"name", "url", "method", "send_activity", "basic_auth", "headers", "keys", "fields",
            "activities", "connected"}
ANSWER_KEYS = SETTINGS | {"id", "secret", "created_at", "updated_at"}
ANSWER_KEYS |= {"disconnected_by", "disconnected_reason"}  # read-only (docs/api.md)
ANSWER_KEYS |= {"rate_limit", "max_in_flight"}  # the pace settings (test_pace.py)
# settings of issue 12, checked in their own tests
ANSWER_KEYS |= {"update_contact_from_response"}

UUID7_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SECRET_RE = re.compile(r"^whsec_([A-Za-z0-9+/]+={0,2})$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
PASSWORD = "pw-Zq8!never-shown-9x"

# 10 built-in person/account fields whose default keys collide with nothing
TEN_FIELDS = ["str::first", "str::last", "phn::phone", "geo::city", "geo::country",
              "geo::region", "str::postal", "dtz::b", "str::ei", "str::language"]
TEN_KEYS = ["first_name", "last_name", "phone_number", "city", "country", "region", "postal",
            "birthday", "external_id", "language"]


@pytest.fixture(scope="module")
def url(sink_url):
    return sink_url + "/hook"


@pytest.fixture(scope="module")
def custom_field(mapi):
    """A custom person field, made once per module."""
    r = mapi.post("/api/v1/fields", {"name": "Job title", "type": "str", "object": "person"})
    assert r.status_code == 201, r.text
    f = r.json()
    assert f["id"] == "str:cm:job-title" and f["default_key"] == "job_title", f
    return f["id"]


@pytest.fixture(scope="module")
def catalog_activity(mapi):
    r = mapi.get("/api/v1/catalog/activities")
    assert r.status_code == 200, r.text
    acts = r.json()["activities"]
    assert acts
    return acts[0]["field_id"]


def body(url, **kw):
    b = {"name": "hook", "url": url}
    b.update(kw)
    return b


def create(api, b):
    r = api.post("/api/v1/webhooks", b)
    assert r.status_code == 201, f"{b!r} -> {r.status_code} {r.text}"
    wh = r.json()
    assert UUID7_RE.match(wh["id"]), wh
    return wh


def refused(api, b, field, code="invalid", status=400):
    """A create that must be refused, leaving the list exactly as it was."""
    n = api.count()
    r = api.post("/api/v1/webhooks", b)
    e = assert_error(r, status, code, field)
    assert api.count() == n, f"a refused create changed the list: {b!r}"
    return e


def patch_refused(api, wid, b, field, code="invalid", status=400):
    """A PATCH that must be refused, changing nothing."""
    before = api.fetch(wid)
    r = api.patch(f"/api/v1/webhooks/{wid}", b)
    e = assert_error(r, status, code, field)
    assert api.fetch(wid) == before, f"a refused PATCH changed the webhook: {b!r}"
    return e


def parse_time(s):
    assert TIME_RE.match(s), f"not RFC 3339 UTC ending in Z: {s!r}"
    return datetime.datetime.fromisoformat(s[:-1] + "+00:00")


def assert_secret(s):
    m = SECRET_RE.match(s)
    assert m, f"secret {s!r} is not whsec_ + base64"
    assert len(base64.b64decode(m.group(1), validate=True)) == 32, s


# ---------------------------------------------------------------------------
# create: defaults and the shape of the answer

def test_create_fills_in_defaults(mapi, url):
    t0 = datetime.datetime.now(datetime.timezone.utc)
    wh = create(mapi, {"name": "defaults", "url": url})
    assert set(wh) - {"test"} == ANSWER_KEYS, sorted(wh)
    assert {k: wh[k] for k in SETTINGS} == {
        "name": "defaults", "url": url, "method": "POST", "send_activity": True,
        "basic_auth": None, "headers": [], "keys": DEFAULT_KEYS, "fields": [],
        "activities": [], "connected": True,
    }
    assert wh["update_contact_from_response"] is False
    assert_secret(wh["secret"])
    created, updated = parse_time(wh["created_at"]), parse_time(wh["updated_at"])
    assert created == updated
    assert abs((created - t0).total_seconds()) < 60, (created, t0)
    got = mapi.fetch(wh["id"])
    assert set(got) == ANSWER_KEYS, sorted(got)
    assert got == strip_volatile(wh)


def test_secrets_and_ids_differ(mapi, url):
    a, b = create(mapi, body(url)), create(mapi, body(url))
    assert a["id"] != b["id"]
    assert a["secret"] != b["secret"]
    assert_secret(b["secret"])


def test_list_holds_each_webhook_as_get_answers_it(mapi, url):
    made = [create(mapi, body(url, name=f"listed {i}")) for i in range(3)]
    listed = {w["id"]: w for w in mapi.webhooks()}
    for wh in made:
        assert wh["id"] in listed
        assert strip_volatile(listed[wh["id"]]) == mapi.fetch(wh["id"])


def test_create_with_every_setting(mapi, url, custom_field, catalog_activity):
    b = {
        "name": "full", "url": url + "?a=1", "method": "PUT", "send_activity": False,
        "basic_auth": {"username": "user", "password": PASSWORD},
        "headers": [{"key": "X-Team", "value": "ops"}, {"key": "x-trace", "value": ""}],
        "keys": {"contact_id": "id", "email": "mail"},
        "fields": [{"field_id": "str::first"}, {"field_id": "str::email", "key": "email2"},
                   {"field_id": custom_field}],
        "activities": [catalog_activity, "act:cm:signup"],
        "connected": False,
    }
    wh = create(mapi, b)
    assert {k: wh[k] for k in SETTINGS} == {
        **b,
        "basic_auth": {"username": "user", "password_set": True},
        "keys": {**DEFAULT_KEYS, "contact_id": "id", "email": "mail"},
        "fields": [{"field_id": "str::first", "key": "first_name"},
                   {"field_id": "str::email", "key": "email2"},
                   {"field_id": custom_field, "key": "job_title"}],
    }
    assert mapi.fetch(wh["id"]) == strip_volatile(wh)


# ---------------------------------------------------------------------------
# name

@pytest.mark.parametrize("name", ["a" * 200, "é" * 200, "😀" * 200, "x"],
                         ids=["200 ascii", "200 two-byte", "200 four-byte", "1"])
def test_name_ok(mapi, url, name):
    assert create(mapi, body(url, name=name))["name"] == name


@pytest.mark.parametrize("name", ["", "a" * 201, "é" * 201, "😀" * 201, 5, None, [], {}, True],
                         ids=["empty", "201 ascii", "201 two-byte", "201 four-byte", "int",
                              "null", "array", "object", "bool"])
def test_name_refused(mapi, url, name):
    refused(mapi, body(url, name=name), "name")


def test_name_missing(mapi, url):
    refused(mapi, {"url": url}, "name")


# ---------------------------------------------------------------------------
# url

def test_url_missing(mapi):
    refused(mapi, {"name": "x"}, "url")


@pytest.mark.parametrize("u", [
    "/hook", "hook.example.com/x", "ftp://example.com/x", "http://", "http:///path",
    "https://exa mple.com/", "http://example.com/a b", " http://example.com/",
    "mailto:ops@example.com", "javascript:alert(1)", "http://user:pass@example.com/",
    "http://example.com/\r\nX: y", "", 5, None, ["http://example.com/"],
])
def test_url_refused(mapi, u):
    refused(mapi, {"name": "x", "url": u}, "url")


def test_url_2048_bytes_ok_2049_refused(mapi, sink_url):
    prefix = sink_url + "/"
    u2048 = prefix + "a" * (2048 - len(prefix))
    assert len(u2048.encode()) == 2048
    assert create(mapi, {"name": "long", "url": u2048})["url"] == u2048
    refused(mapi, {"name": "long", "url": u2048 + "a"}, "url")


@pytest.mark.parametrize("u", ["{sink}/", "{sink}/a/b?x=1&y=2#frag", "https://127.0.0.1:1/x",
                               "HTTP://127.0.0.1:1/x", "http://[::1]:1/x"])
def test_url_forms_ok(mapi, sink_url, u):
    u = u.format(sink=sink_url)
    assert create(mapi, {"name": "u", "url": u})["url"] == u


# ---------------------------------------------------------------------------
# method, send_activity, connected

@pytest.mark.parametrize("m", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_method_ok(mapi, url, m):
    wh = create(mapi, body(url, method=m))
    assert wh["method"] == m
    assert mapi.fetch(wh["id"])["method"] == m


@pytest.mark.parametrize("m", ["post", "Get", "HEAD", "OPTIONS", "", 1, None])
def test_method_refused(mapi, url, m):
    refused(mapi, body(url, method=m), "method")


@pytest.mark.parametrize("key", ["send_activity", "connected"])
def test_booleans(mapi, url, key):
    wh = create(mapi, body(url, **{key: False}))
    assert wh[key] is False
    assert mapi.fetch(wh["id"])[key] is False
    for bad in ["true", 1, 0, None, [], {}]:
        refused(mapi, body(url, **{key: bad}), key)


# ---------------------------------------------------------------------------
# basic_auth

def test_basic_auth_null_ok(mapi, url):
    assert create(mapi, body(url, basic_auth=None))["basic_auth"] is None


def test_basic_auth_password_is_never_returned(mapi, url):
    r = mapi.post("/api/v1/webhooks",
                  body(url, basic_auth={"username": "ann", "password": PASSWORD}))
    assert r.status_code == 201, r.text
    assert PASSWORD not in r.text
    wid = r.json()["id"]
    assert r.json()["basic_auth"] == {"username": "ann", "password_set": True}
    for resp in (mapi.get(f"/api/v1/webhooks/{wid}"), mapi.get("/api/v1/webhooks"),
                 mapi.patch(f"/api/v1/webhooks/{wid}", {"name": "renamed"}),
                 mapi.patch(f"/api/v1/webhooks/{wid}", {"basic_auth": {"username": "bob"}}),
                 mapi.post(f"/api/v1/webhooks/{wid}/disconnect"),
                 mapi.post(f"/api/v1/webhooks/{wid}/rotate-secret")):
        assert resp.status_code == 200, resp.text
        assert PASSWORD not in resp.text
    got = mapi.fetch(wid)
    assert got["basic_auth"] == {"username": "bob", "password_set": True}


@pytest.mark.parametrize("ba,field", [
    ({"password": "p"}, "basic_auth.username"),
    ({"username": "", "password": "p"}, "basic_auth.username"),
    ({"username": "a:b", "password": "p"}, "basic_auth.username"),
    ({"username": 5, "password": "p"}, "basic_auth.username"),
    ({"username": None, "password": "p"}, "basic_auth.username"),
    ({"username": "u", "password": 5}, "basic_auth.password"),
    ({"username": "u", "password": ["p"]}, "basic_auth.password"),
    ({"username": "u", "password": "p", "x": 1}, "basic_auth.x"),
    ("u:p", "basic_auth"),
    ([], "basic_auth"),
    (True, "basic_auth"),
])
def test_basic_auth_refused(mapi, url, ba, field):
    refused(mapi, body(url, basic_auth=ba), field)


# ---------------------------------------------------------------------------
# headers

def hdrs(*names):
    return [{"key": n, "value": "v"} for n in names]


def test_headers_20_ok_21_refused(mapi, url):
    twenty = [{"key": f"X-H-{i}", "value": f"v{i}"} for i in range(20)]
    assert create(mapi, body(url, headers=twenty))["headers"] == twenty
    refused(mapi, body(url, headers=twenty + hdrs("X-H-20")), "headers")


@pytest.mark.parametrize("name", ["Bad Key", "", "X:Y", "X-Ünicode", "X(y)", "X\tY", 5, None])
def test_header_key_not_a_token(mapi, url, name):
    refused(mapi, body(url, headers=[{"key": name, "value": "v"}]), "headers[0].key")


@pytest.mark.parametrize("value", ["a\r\nInjected: 1", "a\nb", "a\rb", "a\u0000b", 5, None],
                         ids=["crlf", "lf", "cr", "nul", "int", "null"])
def test_header_value_refused(mapi, url, value):
    refused(mapi, body(url, headers=[{"key": "X-A", "value": value}]), "headers[0].value")


@pytest.mark.parametrize("name", ["host", "HOST", "Content-length", "content-TYPE",
                                  "Transfer-encoding", "CONNECTION", "webhook-id", "Webhook-Foo",
                                  "WEBHOOK-SIGNATURE", "webhook-timestamp"])
def test_header_name_refused(mapi, url, name):
    refused(mapi, body(url, headers=hdrs("X-Fine", name)), "headers[1].key")


@pytest.mark.parametrize("entry,field", [
    ("X-A: b", "headers[0]"),
    (["X-A", "b"], "headers[0]"),
    ({"key": "X-A"}, "headers[0].value"),
    ({"value": "b"}, "headers[0].key"),
    ({"key": "X-A", "value": "b", "x": 1}, "headers[0].x"),
])
def test_header_entry_refused(mapi, url, entry, field):
    refused(mapi, body(url, headers=[entry]), field)


@pytest.mark.parametrize("h", [{}, "X-A: b", None])
def test_headers_not_an_array(mapi, url, h):
    refused(mapi, body(url, headers=h), "headers")


@pytest.mark.parametrize("name", ["Authorization", "authorization"])
def test_authorization_header_without_and_with_basic_auth(mapi, url, name):
    h = [{"key": "X-Fine", "value": "1"}, {"key": name, "value": "Bearer abc"}]
    assert create(mapi, body(url, headers=h))["headers"] == h
    refused(mapi, body(url, headers=h, basic_auth={"username": "u", "password": "p"}),
            "headers[1].key")


# ---------------------------------------------------------------------------
# keys

def test_keys_rename_is_reflected_and_full_map_returned(mapi, url):
    wh = create(mapi, body(url, keys={"contact_id": "id", "action_name": "step"}))
    want = {**DEFAULT_KEYS, "contact_id": "id", "action_name": "step"}
    assert wh["keys"] == want
    assert mapi.fetch(wh["id"])["keys"] == want


def test_contact_keys_may_take_top_level_names(mapi, url):
    # contact_id and email live inside "contact", so "time" is free for them
    wh = create(mapi, body(url, keys={"email": "time", "contact_id": "id"}))
    assert wh["keys"]["email"] == "time"


@pytest.mark.parametrize("keys,field", [
    ({"phone": "p"}, "keys.phone"),
    ({"Email": "e"}, "keys.Email"),
    ({"email": ""}, "keys.email"),
    ({"email": 5}, "keys.email"),
    ({"email": None}, "keys.email"),
    ({"contact_id": ["id"]}, "keys.contact_id"),
])
def test_keys_refused(mapi, url, keys, field):
    refused(mapi, body(url, keys=keys), field)


@pytest.mark.parametrize("k", [[], "contact_id", None])
def test_keys_not_an_object(mapi, url, k):
    refused(mapi, body(url, keys=k), "keys")


@pytest.mark.parametrize("action_key", ACTION_KEYS)
@pytest.mark.parametrize("top", TOP_LEVEL)
def test_action_key_may_not_take_a_top_level_name(mapi, url, action_key, top):
    refused(mapi, body(url, keys={action_key: top}), f"keys.{action_key}")


# ---------------------------------------------------------------------------
# fields

def test_fields_10_ok_with_default_keys_11_refused(mapi, url):
    ten = [{"field_id": f} for f in TEN_FIELDS]
    wh = create(mapi, body(url, fields=ten))
    assert wh["fields"] == [{"field_id": f, "key": k} for f, k in zip(TEN_FIELDS, TEN_KEYS)]
    refused(mapi, body(url, fields=ten + [{"field_id": "bol::gdpr"}]), "fields")


@pytest.mark.parametrize("fid,key", [
    ("str::first", "first_name"), ("geo:o:city", "account_city"), ("str:o:name", "account_name"),
    ("int:o:employees", "employees"), ("bol::sp", "sms_permission"), ("phn::phone", "phone_number"),
])
def test_field_default_key(mapi, url, fid, key):
    assert create(mapi, body(url, fields=[{"field_id": fid}]))["fields"] == [
        {"field_id": fid, "key": key}]


def test_custom_field_default_key(mapi, url, custom_field):
    wh = create(mapi, body(url, fields=[{"field_id": custom_field}]))
    assert wh["fields"] == [{"field_id": "str:cm:job-title", "key": "job_title"}]
    assert mapi.fetch(wh["id"])["fields"] == wh["fields"]


def test_custom_field_twice_is_a_conflict(mapi, custom_field):
    r = mapi.post("/api/v1/fields", {"name": "Job title", "type": "str", "object": "person"})
    assert_error(r, 409, "conflict")
    ids = [f["id"] for f in mapi.get("/api/v1/fields").json()["fields"]]
    assert ids.count(custom_field) == 1


def test_field_given_key_is_kept(mapi, url):
    wh = create(mapi, body(url, fields=[{"field_id": "str::first", "key": "given"}]))
    assert wh["fields"] == [{"field_id": "str::first", "key": "given"}]


@pytest.mark.parametrize("fields,field", [
    ([{"field_id": "str::nope"}], "fields[0].field_id"),
    ([{"field_id": "act::s"}], "fields[0].field_id"),
    ([{"field_id": "str:cm:never-made"}], "fields[0].field_id"),
    ([{"field_id": ""}], "fields[0].field_id"),
    ([{"field_id": 5}], "fields[0].field_id"),
    ([{"key": "k"}], "fields[0].field_id"),
    ([{"field_id": "str::first"}, {"field_id": "str::nope"}], "fields[1].field_id"),
    ([{"field_id": "str::first"}, {"field_id": "str::first", "key": "other"}],
     "fields[1].field_id"),
    ([{"field_id": "str::first", "key": ""}], "fields[0].key"),
    ([{"field_id": "str::first", "key": 5}], "fields[0].key"),
    ([{"field_id": "str::first", "x": 1}], "fields[0].x"),
    (["str::first"], "fields[0]"),
    ({"field_id": "str::first"}, "fields"),
    (None, "fields"),
])
def test_fields_refused(mapi, url, fields, field):
    refused(mapi, body(url, fields=fields), field)


# ---------------------------------------------------------------------------
# no two equal payload keys: the later one is blamed

@pytest.mark.parametrize("extra,field", [
    ({"keys": {"email": "contact_id"}}, "keys.email"),
    ({"keys": {"contact_id": "email"}}, "keys.email"),
    ({"keys": {"campaign_id": "action_id"}}, "keys.action_id"),
    ({"keys": {"action_name": "campaign_id"}}, "keys.action_name"),
    ({"fields": [{"field_id": "str::email"}]}, "fields[0].key"),
    ({"fields": [{"field_id": "str::first", "key": "contact_id"}]}, "fields[0].key"),
    ({"keys": {"contact_id": "cid"}, "fields": [{"field_id": "str::first", "key": "cid"}]},
     "fields[0].key"),
    ({"fields": [{"field_id": "str::first", "key": "x"}, {"field_id": "str::last", "key": "x"}]},
     "fields[1].key"),
    ({"fields": [{"field_id": "str::first"}, {"field_id": "str::last", "key": "first_name"}]},
     "fields[1].key"),
])
def test_duplicate_payload_keys_refused(mapi, url, extra, field):
    refused(mapi, body(url, **extra), field)


def test_email_field_allowed_once_the_locked_key_is_renamed(mapi, url):
    wh = create(mapi, body(url, keys={"email": "mail"}, fields=[{"field_id": "str::email"}]))
    assert wh["keys"]["email"] == "mail"
    assert wh["fields"] == [{"field_id": "str::email", "key": "email"}]


# ---------------------------------------------------------------------------
# activities

def test_activities_ok(mapi, url, catalog_activity):
    for acts in ([catalog_activity], ["act:cm:foo"], ["act:oc:bar"], ["*"],
                 [catalog_activity, "act:cm:foo", "act:oc:bar"]):
        wh = create(mapi, body(url, activities=acts))
        assert wh["activities"] == acts
        assert mapi.fetch(wh["id"])["activities"] == acts


def test_activities_duplicates_kept_once(mapi, url):
    wh = create(mapi, body(url, activities=["act:cm:a", "act:cm:b", "act:cm:a"]))
    assert wh["activities"] == ["act:cm:a", "act:cm:b"]


@pytest.mark.parametrize("acts,field", [
    (["act::nope"], "activities[0]"),
    (["str::s"], "activities[0]"),
    (["str::first"], "activities[0]"),
    ([""], "activities[0]"),
    ([5], "activities[0]"),
    ([None], "activities[0]"),
    (["act:cm:ok", "act::nope"], "activities[1]"),
    ("*", "activities"),
    ({"*": True}, "activities"),
])
def test_activities_refused(mapi, url, acts, field):
    refused(mapi, body(url, activities=acts), field)


# ---------------------------------------------------------------------------
# the body as a whole

@pytest.mark.parametrize("key", ["colour", "id", "created_at", "Name"])
def test_unknown_top_level_key_refused(mapi, url, key):
    refused(mapi, body(url, **{key: "x"}), key)


@pytest.mark.parametrize("raw", ["[]", '[{"name":"x"}]', '"s"', "1", "null", "true"])
def test_body_not_an_object(mapi, raw):
    n = mapi.count()
    r = mapi.post("/api/v1/webhooks", data=raw, headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid", None)
    assert mapi.count() == n


# ---------------------------------------------------------------------------
# PATCH

@pytest.fixture
def wh(mapi, url):
    return create(mapi, body(url, name="patch me", headers=hdrs("X-One"),
                             basic_auth={"username": "u", "password": PASSWORD},
                             keys={"contact_id": "id"}, fields=[{"field_id": "str::first"}],
                             activities=["act:cm:x"]))


def wait_for_next_ms():
    """Times have millisecond precision: let the clock move past the last one."""
    time.sleep(0.005)


def test_patch_changes_only_what_is_given(mapi, wh):
    before = mapi.fetch(wh["id"])
    wait_for_next_ms()
    r = mapi.patch(f"/api/v1/webhooks/{wh['id']}", {"name": "patched", "method": "GET"})
    assert r.status_code == 200, r.text
    after = r.json()
    assert set(after) == ANSWER_KEYS
    assert after["name"] == "patched" and after["method"] == "GET"
    same = lambda w: {k: v for k, v in w.items() if k not in ("name", "method", "updated_at")}
    assert same(after) == same(before)
    assert parse_time(after["updated_at"]) > parse_time(before["updated_at"])
    assert after["created_at"] == before["created_at"]
    assert mapi.fetch(wh["id"]) == after


def test_patch_every_setting(mapi, wh, sink_url):
    change = {"name": "n2", "url": sink_url + "/other", "method": "DELETE",
              "send_activity": False, "basic_auth": None, "headers": [],
              "keys": {"email": "mail"}, "fields": [{"field_id": "str::last", "key": "ln"}],
              "activities": ["*"], "connected": False}
    r = mapi.patch(f"/api/v1/webhooks/{wh['id']}", change)
    assert r.status_code == 200, r.text
    got = r.json()
    assert {k: got[k] for k in SETTINGS} == {
        **change, "keys": {**DEFAULT_KEYS, "contact_id": "id", "email": "mail"}}
    assert got["id"] == wh["id"] and got["secret"] == wh["secret"]
    assert mapi.fetch(wh["id"]) == got


def test_patch_keys_merges(mapi, wh):
    r = mapi.patch(f"/api/v1/webhooks/{wh['id']}", {"keys": {"email": "mail"}})
    assert r.status_code == 200, r.text
    assert r.json()["keys"] == {**DEFAULT_KEYS, "contact_id": "id", "email": "mail"}


def test_patch_empty_object_changes_no_setting(mapi, wh):
    before = mapi.fetch(wh["id"])
    r = mapi.patch(f"/api/v1/webhooks/{wh['id']}", {})
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in SETTINGS} == {k: before[k] for k in SETTINGS}


def test_patch_basic_auth_without_password_keeps_it(mapi, wh):
    r = mapi.patch(f"/api/v1/webhooks/{wh['id']}", {"basic_auth": {"username": "other"}})
    assert r.status_code == 200, r.text
    assert r.json()["basic_auth"] == {"username": "other", "password_set": True}
    assert mapi.fetch(wh["id"])["basic_auth"] == {"username": "other", "password_set": True}


def test_patch_basic_auth_null_removes_it(mapi, wh):
    r = mapi.patch(f"/api/v1/webhooks/{wh['id']}", {"basic_auth": None})
    assert r.status_code == 200, r.text
    assert r.json()["basic_auth"] is None
    assert mapi.fetch(wh["id"])["basic_auth"] is None


@pytest.mark.parametrize("b,field", [
    ({"name": "changed", "method": "HEAD"}, "method"),
    ({"name": "changed", "url": "ftp://x.io/"}, "url"),
    ({"name": ""}, "name"),
    ({"connected": False, "headers": hdrs("Host")}, "headers[0].key"),
    ({"name": "changed", "fields": [{"field_id": "str::nope"}]}, "fields[0].field_id"),
    ({"name": "changed", "keys": {"phone": "x"}}, "keys.phone"),
    ({"name": "changed", "activities": ["act::nope"]}, "activities[0]"),
    ({"name": "changed", "secret": "whsec_AAAA"}, "secret"),
    ({"name": "changed", "id": "x"}, "id"),
    ({"name": "changed", "basic_auth": {"username": "a:b"}}, "basic_auth.username"),
    # the rename collides with the stored field's key: fields[0].key is later
    ({"keys": {"email": "first_name"}}, "fields[0].key"),
])
def test_refused_patch_changes_nothing(mapi, wh, b, field):
    patch_refused(mapi, wh["id"], b, field)


def test_patch_authorization_header_while_basic_auth_is_set(mapi, wh):
    patch_refused(mapi, wh["id"], {"headers": hdrs("X-One", "Authorization")}, "headers[1].key")


def test_patch_basic_auth_onto_an_authorization_header(mapi, url):
    w = create(mapi, body(url, headers=hdrs("Authorization")))
    before = mapi.fetch(w["id"])
    r = mapi.patch(f"/api/v1/webhooks/{w['id']}",
                   {"basic_auth": {"username": "u", "password": "p"}})
    assert_error(r, 400, "invalid")
    assert mapi.fetch(w["id"]) == before


def test_patch_body_not_an_object(mapi, wh):
    before = mapi.fetch(wh["id"])
    r = mapi.request("PATCH", f"/api/v1/webhooks/{wh['id']}", data="[]",
                     headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid", None)
    assert mapi.fetch(wh["id"]) == before


# ---------------------------------------------------------------------------
# unknown ids

NEVER_MADE = "01890a5d-ac96-774b-bcce-b302099a8057"  # a UUIDv7 hookd never made
BAD_IDS = [NEVER_MADE, "123", "not-a-uuid", "9b2f4c1e-8a4d-4e0b-9f3a-2c6d8e1f0a7b",  # v4
           "01890a5d-ac96-774b-bcce-b302099a805", "01890a5d-ac96-774b-bcce-b302099a8057x"]


@pytest.mark.parametrize("wid", BAD_IDS)
@pytest.mark.parametrize("method,suffix", [
    ("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/connect"), ("POST", "/disconnect"),
    ("POST", "/rotate-secret"),
])
def test_unknown_id_is_not_found(mapi, wid, method, suffix):
    n = mapi.count()
    kw = {"json_body": {"name": "x"}} if method == "PATCH" else {}
    r = mapi.request(method, f"/api/v1/webhooks/{wid}{suffix}", **kw)
    assert_error(r, 404, "not_found", None)
    assert mapi.count() == n


# ---------------------------------------------------------------------------
# DELETE, connect, disconnect, rotate-secret

def test_delete(mapi, url):
    keep = create(mapi, body(url, name="keep"))
    gone = create(mapi, body(url, name="gone"))
    n = mapi.count()
    r = mapi.delete(f"/api/v1/webhooks/{gone['id']}")
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert_error(mapi.get(f"/api/v1/webhooks/{gone['id']}"), 404, "not_found")
    assert_error(mapi.delete(f"/api/v1/webhooks/{gone['id']}"), 404, "not_found")
    assert_error(mapi.post(f"/api/v1/webhooks/{gone['id']}/connect"), 404, "not_found")
    ids = [w["id"] for w in mapi.webhooks()]
    assert len(ids) == n - 1 and gone["id"] not in ids and keep["id"] in ids
    assert mapi.fetch(keep["id"]) == strip_volatile(keep)


def test_disconnect_and_connect(mapi, url):
    w = create(mapi, body(url))
    settings = lambda x: {k: v for k, v in x.items()
                          if k not in ("connected", "updated_at", "disconnected_by")}
    for action, state in [("disconnect", False), ("disconnect", False), ("connect", True),
                          ("connect", True), ("disconnect", False)]:
        r = mapi.post(f"/api/v1/webhooks/{w['id']}/{action}")
        assert r.status_code == 200, r.text
        got = r.json()
        assert set(got) == ANSWER_KEYS
        assert got["connected"] is state, (action, got)
        assert got["disconnected_by"] == (None if state else "user"), (action, got)
        assert settings(got) == settings(strip_volatile(w))
        assert mapi.fetch(w["id"]) == got


def test_rotate_secret(mapi, url):
    w = create(mapi, body(url))
    seen = {w["secret"]}
    for _ in range(2):
        r = mapi.post(f"/api/v1/webhooks/{w['id']}/rotate-secret")
        assert r.status_code == 200, r.text
        got = r.json()
        assert set(got) == ANSWER_KEYS
        assert_secret(got["secret"])
        assert got["secret"] not in seen
        seen.add(got["secret"])
        others = lambda x: {k: v for k, v in x.items() if k not in ("secret", "updated_at")}
        assert others(got) == others(strip_volatile(w))
        assert mapi.fetch(w["id"]) == got
