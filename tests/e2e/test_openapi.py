"""The OpenAPI document, docs/openapi.json: hookd serves it at
/api/v1/openapi.json exactly as the repository holds it (without a key), it
describes exactly the routes of the route table in src/api/router.c (every
route answered is described, every route described is answered), and a
running hookd answers every described call, its examples included, with the
documented status, a body its schema accepts, and the documented key scopes.

JSON Schema validation uses Debian's python3-jsonschema (scripts/deps.sh);
OpenAPI 3.1 schemas are JSON Schema draft 2020-12.
"""

import copy
import json
import re
import socket
import time

import pytest
import requests
from jsonschema import Draft202012Validator, RefResolver

from conftest import ROOT, TIMEOUT

DOC_FILE = ROOT / "docs" / "openapi.json"
ROUTER_C = ROOT / "src" / "api" / "router.c"
VERSION_H = ROOT / "src" / "util" / "version.h"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
DELIVERY_WAIT_S = 10


def load_doc():
    return json.loads(DOC_FILE.read_bytes())


def router_routes():
    """(METHOD, pattern) of every row of ROUTES[] in src/api/router.c, read
    from the C source: the table is the one place the routes live."""
    text = ROUTER_C.read_text()
    m = re.search(r"\bROUTES\[\]\s*=\s*\{(.*?)\n\};", text, re.S)
    assert m, f"no ROUTES[] table found in {ROUTER_C}"
    # comments out, string literals ("/assets/*" holds a "/*") kept
    table = re.sub(r'("(?:\\.|[^"\\])*")|/\*.*?\*/', lambda c: c.group(1) or "", m.group(1),
                   flags=re.S)
    rows = re.findall(r'\{\s*"([A-Z]+)"\s*,\s*"([^"]+)"\s*,\s*(\w+)\s*,[^}]*\}', table)
    # every row is read: as many rows as handler names in the table
    assert len(rows) == len(re.findall(r"\bhookd_h_\w+", table)), table
    return {(method, pattern) for method, pattern, _ in rows}


def doc_operations(doc):
    """(METHOD, path template, operation) of every operation, in document order."""
    return [(m.upper(), path, o) for path, item in doc["paths"].items()
            for m, o in item.items() if m in HTTP_METHODS]


def as_pattern(path):
    """/api/v1/webhooks/{id}/logs/{delivery_id} -> /api/v1/webhooks/*/logs/* (router.c's form)."""
    return re.sub(r"\{[^}/]+\}", "*", path)


def resolver(doc):
    return RefResolver.from_schema(doc)


def validate(doc, schema, instance):
    """Raises jsonschema.ValidationError when instance does not fit schema
    (whose $refs point into doc)."""
    Draft202012Validator(schema, resolver=resolver(doc)).validate(instance)


def success(o):
    """The operation's one documented 2xx answer: (status, response object)."""
    ok = [(int(s), r) for s, r in o["responses"].items() if s.startswith("2")]
    assert len(ok) == 1, f"{o['operationId']}: one 2xx answer expected, got {ok}"
    status, r = ok[0]
    return status, r


def deref(doc, obj):
    while "$ref" in obj:
        ref = obj["$ref"]
        assert ref.startswith("#/"), ref
        obj = doc
        for part in ref[2:].split("/"):
            obj = obj[part]
    return obj


def roles(doc, o):
    """The key scopes the operation accepts (its bearer requirement's
    roles); empty when it needs no key."""
    sec = o.get("security", doc.get("security", []))
    return {role for req in sec for role in req.get("bearerAuth", [])}, sec == []


# ---------------------------------------------------------------------------
# the document against the route table and itself (no server)


@pytest.mark.store_independent("compares two files of the repository")
def test_document_describes_exactly_the_routes_of_the_table():
    routes = router_routes()
    described = {(m, as_pattern(p)) for m, p, _ in doc_operations(load_doc())}
    assert len(routes) >= 30, f"the route table parsed to {len(routes)} routes: {routes}"
    assert routes - described == set(), "answered by hookd, not in docs/openapi.json"
    assert described - routes == set(), "in docs/openapi.json, not answered by hookd"


@pytest.mark.store_independent("checks a file of the repository")
def test_document_is_well_formed_openapi_3_1():
    doc = load_doc()
    assert doc["openapi"] == "3.1.0"
    version = re.search(r'#define HOOKD_VERSION "([^"]+)"', VERSION_H.read_text()).group(1)
    assert doc["info"]["version"] == version, "info.version is not hookd's version"
    # paths are written in full (/api/v1/…) from the server's root
    assert [s["url"] for s in doc["servers"]] == ["/"]
    assert all(p.startswith("/") for p in doc["paths"])
    assert sum(p.startswith("/api/v1/") for p in doc["paths"]) >= 20

    # every $ref resolves
    refs = []

    def walk(v):
        if isinstance(v, dict):
            if isinstance(v.get("$ref"), str):
                refs.append(v["$ref"])
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(doc)
    assert len(refs) > 100
    for ref in set(refs):
        assert ref.startswith("#/"), f"{ref}: only references inside the document"
        node = doc
        for part in ref[2:].split("/"):
            assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
            node = node[part]

    for name, schema in doc["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)

    ids = [o["operationId"] for _, _, o in doc_operations(doc)]
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    for method, path, o in doc_operations(doc):
        where = f"{method} {path}"
        success(o)
        params = [deref(doc, p) for p in doc["paths"][path].get("parameters", []) +
                  o.get("parameters", [])]
        in_path = {p["name"] for p in params if p["in"] == "path"}
        assert in_path == set(re.findall(r"\{([^}]+)\}", path)), f"{where}: path parameters"
        assert all(p["required"] for p in params if p["in"] == "path"), where
        for sec in o.get("security", doc["security"]):
            assert set(sec) <= set(schemes), where
            assert set(sec.get("bearerAuth", [])) <= {"admin", "ingest"}, where
        for status, r in o["responses"].items():
            r = deref(doc, r)
            assert r.get("description"), f"{where} {status}: no description"
            if status.startswith(("4", "5")) and "content" in r:
                assert r["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"}, f"{where} {status}"


@pytest.mark.store_independent("checks a file of the repository")
def test_examples_fit_their_schemas():
    doc = load_doc()
    seen = 0
    for method, path, o in doc_operations(doc):
        bodies = []
        if "requestBody" in o:
            bodies.append(("request", deref(doc, o["requestBody"])["content"]))
            assert "example" in bodies[-1][1]["application/json"], \
                f"{method} {path}: the request body has no example"
        for status, r in o["responses"].items():
            bodies.append((status, deref(doc, r).get("content", {})))
        for what, content in bodies:
            media = content.get("application/json")
            if media and "example" in media:
                validate(doc, media["schema"], media["example"])
                seen += 1
    for name, schema in doc["components"]["schemas"].items():
        if "example" in schema:
            validate(doc, schema, schema["example"])
    assert seen >= 25, f"only {seen} examples"


# ---------------------------------------------------------------------------
# the document as served


@pytest.mark.store_independent("the compiled-in document and the key check before the store")
def test_served_document_is_the_file_and_needs_no_key(server):
    want = DOC_FILE.read_bytes()
    r = requests.get(server.url + "/api/v1/openapi.json", timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert r.content == want, "the served document differs from docs/openapi.json"
    etag = r.headers["ETag"]
    r = requests.get(server.url + "/api/v1/openapi.json", headers={"If-None-Match": etag},
                     timeout=TIMEOUT)
    assert r.status_code == 304 and r.content == b"", r
    # a wrong key changes nothing on a public route
    r = requests.get(server.url + "/api/v1/openapi.json",
                     headers={"Authorization": "Bearer wrong"}, timeout=TIMEOUT)
    assert r.status_code == 200 and r.content == want
    # the rest of /api/ still asks for the key first, known path or not
    for method, path in (("GET", "/api/v1/webhooks"), ("GET", "/api/v1/no-such-thing"),
                         ("POST", "/api/v1/openapi.json"), ("GET", "/api/v1/openapi.json/x")):
        r = requests.request(method, server.url + path, timeout=TIMEOUT)
        assert r.status_code == 401, (method, path, r.status_code, r.text)
        assert r.json()["error"]["code"] == "unauthorized"
    r = server.client().post("/api/v1/openapi.json")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed", r.text


# ---------------------------------------------------------------------------
# the document against a running hookd


def closed_port_url():
    """A loopback URL nothing listens on: deliveries to it fail at once."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/nobody"


def wait_state(api, wid, did, state):
    deadline = time.monotonic() + DELIVERY_WAIT_S
    while True:
        r = api.get(f"/api/v1/webhooks/{wid}/logs/{did}")
        assert r.status_code == 200, r.text
        if r.json()["state"] == state:
            return
        assert time.monotonic() < deadline, f"delivery {did} never {state}: {r.json()}"
        time.sleep(0.05)


def example_body(doc, o, sink_url):
    """The operation's request example, with webhook URLs pointed at the
    test's sink (the examples name receiver.example.com; a test sends only
    to loopback)."""
    if "requestBody" not in o:
        return None
    body = copy.deepcopy(deref(doc, o["requestBody"])["content"]["application/json"]["example"])
    if "url" in body:
        body["url"] = sink_url + "/from-example"
    return body


class World:
    """Real resources for every path parameter: webhooks W (plain), X (made
    from the create example, for the calls that change or delete it) and F
    (its URL refuses connections), a succeeded delivery of W, a failed one of
    F, a person, an account and a key to revoke."""

    def __init__(self, doc, api, sink_url):
        create = [o for m, p, o in doc_operations(doc) if o["operationId"] == "createWebhook"][0]
        self.w = api.create({"name": "plain", "url": sink_url + "/w"})["id"]
        self.x = api.create(example_body(doc, create, sink_url))["id"]
        self.f = api.create({"name": "failing", "url": closed_port_url()})["id"]
        contact = {"contact": {"fields": {"str::email": "probe@example.com"}}}
        r = api.post(f"/api/v1/webhooks/{self.w}/send", contact)
        assert r.status_code == 202, r.text
        self.ok_delivery = r.json()["delivery_id"]
        r = api.post(f"/api/v1/webhooks/{self.f}/send", contact)
        assert r.status_code == 202, r.text
        self.failed_delivery = r.json()["delivery_id"]
        r = api.post("/api/v1/people/merge", {"people": [{
            "fields": {"str::email": "probe@example.com"},
            "account": {"fields": {"str:o:name": "Probe Inc"}}}]})
        assert r.status_code == 200, r.text
        self.contact = r.json()["people"][0]["contact_id"]
        r = api.post("/api/v1/accounts/merge",
                     {"accounts": [{"fields": {"str:o:name": "Probe Inc"}}]})
        assert r.status_code == 200, r.text
        self.account = r.json()["accounts"][0]["account_id"]
        r = api.post("/api/v1/keys", {"name": "to revoke", "scope": "ingest"})
        assert r.status_code == 201, r.text
        self.key = r.json()["id"]
        wait_state(api, self.w, self.ok_delivery, "succeeded")
        wait_state(api, self.f, self.failed_delivery, "failed")

    def url(self, method, path):
        """path with its parameters filled for this call."""
        one = "/api/v1/webhooks/{id}"
        tail = path[len(one):] if path.startswith(one) else None
        wid, did = self.w, self.ok_delivery
        if tail == "/logs/{delivery_id}/retry":
            wid, did = self.f, self.failed_delivery  # a succeeded one cannot be retried
        elif tail is not None and (method in ("PATCH", "DELETE") or tail in (
                "/connect", "/disconnect", "/rotate-secret")):
            wid = self.x  # W stays connected and as made for the calls after
        values = {"{id}": self.key if path.startswith("/api/v1/keys/") else wid,
                  "{delivery_id}": did, "{contact_id}": self.contact,
                  "{account_id}": self.account, "{name}": "app.js"}
        out = path
        for k, v in values.items():
            out = out.replace(k, v)
        assert "{" not in out, f"no value for a parameter of {path}"
        return out


def check_answer(doc, method, path, o, r):
    """Problems with r as the documented success answer of o (a list)."""
    status, resp = success(o)
    where = f"{method} {path}"
    if r.status_code != status:
        return [f"{where}: {r.status_code} (documented {status}): {r.text[:300]}"]
    resp = deref(doc, resp)
    content = resp.get("content")
    if not content:
        return [] if r.content == b"" else [f"{where}: a body where none is documented"]
    media = r.headers.get("Content-Type", "").split(";")[0].strip()
    if media not in content:
        return [f"{where}: Content-Type {media} not among {list(content)}"]
    if media == "application/json":
        try:
            validate(doc, content[media]["schema"], r.json())
        except Exception as e:  # noqa: BLE001 - the report names the call
            return [f"{where}: answer does not fit its schema: {str(e).splitlines()[0]}: "
                    f"{r.text[:300]}"]
    return []


def test_every_described_call_is_answered_as_documented(servers, sink_url):
    """Every operation of the document, with its request example and real
    ids: the documented success status and a body its schema accepts; and
    the documented key scopes (none, admin only, admin or ingest) hold."""
    doc = load_doc()
    server = servers.start(args=["--max-retries", "0"])
    api = server.client()
    world = World(doc, api, sink_url)
    r = api.post("/api/v1/keys", {"name": "ingest probe", "scope": "ingest"})
    assert r.status_code == 201, r.text
    ingest_key = r.json()["key"]
    ops = doc_operations(doc)
    # deletions last: what they delete is used by the calls before
    ops.sort(key=lambda t: t[0] == "DELETE")
    problems = []
    for method, path, o in ops:
        url = world.url(method, path)
        scopes, public = roles(doc, o)
        body = example_body(doc, o, sink_url)
        key = None  # the admin key
        if not public:
            r = api.request(method, url, auth=False)
            if r.status_code != 401:
                problems.append(f"{method} {path}: {r.status_code} without a key (documented "
                                f"as needing one)")
            if "ingest" in scopes:
                key = ingest_key  # the call itself proves an ingest key may make it
            else:
                r = api.request(method, url, json_body=body, key=ingest_key)
                if r.status_code != 403:
                    problems.append(f"{method} {path}: {r.status_code} with an ingest key "
                                    f"(documented as admin only)")
        r = api.request(method, url, json_body=body, key=key, auth=not public)
        problems += check_answer(doc, method, path, o, r)
    assert problems == [], "\n".join(problems)


@pytest.mark.store_independent("query parameter checks come before the store")
def test_documented_query_bounds_are_the_servers(servers, sink_url):
    """Each bounded integer or enumerated query parameter: its documented
    bounds are accepted and one past them is a 400 naming it."""
    doc = load_doc()
    server = servers.start()
    api = server.client()
    wid = api.create({"name": "q", "url": sink_url + "/q"})["id"]
    checked = 0
    for method, path, o in doc_operations(doc):
        url = path.replace("{id}", wid)
        for p in [deref(doc, p) for p in o.get("parameters", [])]:
            s = deref(doc, p["schema"])
            if p["in"] != "query":
                continue
            good, bad = [], []
            if s.get("type") == "integer" and "minimum" in s and "maximum" in s:
                good = [s["minimum"], s["maximum"], s["default"]]
                bad = [s["minimum"] - 1, s["maximum"] + 1, "x"]
            elif "enum" in s:
                good, bad = list(s["enum"]), ["no-such-" + p["name"]]
            for v in good:
                r = api.request(method, f"{url}?{p['name']}={v}")
                assert r.status_code == success(o)[0], (path, p["name"], v, r.text)
            for v in bad:
                r = api.request(method, f"{url}?{p['name']}={v}")
                assert r.status_code == 400, (path, p["name"], v, r.text)
                assert r.json()["error"]["code"] == "invalid", r.text
                assert r.json()["error"].get("field") == p["name"], r.text
            checked += bool(good)
    assert checked >= 4, f"only {checked} bounded query parameters found"
