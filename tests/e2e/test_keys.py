"""Keys (docs/api.md#keys): named keys with scopes, made, listed (never shown again)
and revoked through the API and `hookd keys`, over HTTP or straight into the
store; the key of the first start; keys given by option."""

import hashlib
import base64
import os
import re
import sqlite3
import subprocess
import time

import pytest

from conftest import (BACKEND, KEY_RE, PSQL, assert_error, hook_body, run_hookd, store_contents,
                      store_flags)
import conftest

API_KEY = "k-0123456789abcdef-given"
UUID7_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TIME_MS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
# a key made elsewhere (another process, `hookd keys --db`) or revoked there
# counts within a second (server.c re-reads the keys at most once a second)
ELSEWHERE_S = 3


def make_key(api, name, scope):
    r = api.post("/api/v1/keys", {"name": name, "scope": scope})
    assert r.status_code == 201, r.text
    k = r.json()
    assert set(k) == {"id", "name", "scope", "key", "created_at"}, k
    assert (k["name"], k["scope"]) == (name, scope)
    assert UUID7_RE.match(k["id"]), k
    assert TIME_MS_RE.match(k["created_at"]), k
    assert re.match(r"^hk_[A-Za-z0-9_-]{43}$", k["key"]), k
    return k


def listed(api):
    r = api.get("/api/v1/keys")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"keys"}, body
    for k in body["keys"]:
        assert set(k) == {"id", "name", "scope", "created_at", "last_used_at"}, k
    return body["keys"], r.text


def spellings(key):
    """The key and what could give it away: its hash in hex and base64."""
    h = hashlib.sha256(key.encode()).digest()
    return [key, key[3:], h.hex(), base64.b64encode(h).decode()]


def assert_no_key_in(text, keys):
    for k in keys:
        for s in spellings(k):
            assert s not in text, f"{s!r} (of a key) shown in {text!r}"


def cli(s, *args, key=None, env=None, store=False):
    """Runs `hookd keys …` against s (over HTTP, or with store=True straight
    into its store)."""
    argv = ["keys", *args]
    if store:
        argv += store_flags(s.db)
    else:
        argv += ["--url", s.url]
        if key is not None:
            argv += ["--api-key", key]
    return run_hookd(argv, cwd=s.db.parent, env=env, timeout=20)


def created_by_cli(p):
    assert p.returncode == 0, (p.returncode, p.stderr)
    out = dict(line.split(": ", 1) for line in p.stdout.splitlines() if ": " in line)
    assert out.get("api key", "").startswith("hk_"), p.stdout
    return out


def eventually(fn, what, within=ELSEWHERE_S):
    deadline = time.monotonic() + within
    while True:
        if fn():
            return
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


PERSON = {"people": [{"fields": {"str::email": "ann@x.io"}}]}
ACCOUNT = {"accounts": [{"fields": {"str:o:name": "Acme"}}]}


# ---------------------------------------------------------------------------
# scopes


def test_ingest_key_may_call_only_people_accounts_and_activities(servers, sink_url):
    s = servers.start()
    admin = s.client()
    wh = admin.create(hook_body(sink_url, activities=["*"]))
    ing = s.client(key=make_key(admin, "shop", "ingest")["key"])

    r = ing.post("/api/v1/people/merge", PERSON)
    assert r.status_code == 200, r.text
    contact = r.json()["people"][0]["contact_id"]
    assert ing.get(f"/api/v1/people/{contact}").status_code == 200
    r = ing.post("/api/v1/accounts/merge", ACCOUNT)
    assert r.status_code == 200, r.text
    assert ing.get(f"/api/v1/accounts/{r.json()['accounts'][0]['account_id']}").status_code == 200
    r = ing.post("/api/v1/activities", {"activities": [
        {"field_id": "act::s", "contact": {"contact_id": contact}}]})
    assert r.status_code == 202, r.text

    for method, path, body in [
            ("POST", "/api/v1/webhooks", hook_body(sink_url)),
            ("GET", "/api/v1/webhooks", None),
            ("GET", f"/api/v1/webhooks/{wh['id']}", None),
            ("DELETE", f"/api/v1/webhooks/{wh['id']}", None),
            ("GET", "/api/v1/keys", None),
            ("POST", "/api/v1/keys", {"name": "mine", "scope": "admin"}),
            ("GET", "/api/v1/fields", None),
            ("GET", "/api/v1/catalog/activities", None),
            ("GET", "/api/v1/peoplex", None),
            ("POST", "/api/v1/activities/x", {})]:
        e = assert_error(ing.request(method, path, json_body=body), 403, "forbidden", None)
        assert "admin" in e["message"], e
    # nothing the ingest key was refused happened
    assert [w["id"] for w in admin.webhooks()] == [wh["id"]]
    assert [k["name"] for k in listed(admin)[0]] == ["initial", "shop"]
    # the admin key may call everything
    assert admin.get("/api/v1/keys").status_code == 200
    assert admin.post("/api/v1/people/merge", PERSON).status_code == 200


# ---------------------------------------------------------------------------
# revoking


def test_revoked_key_gets_401_at_once(servers):
    s = servers.start()
    admin = s.client()
    k = make_key(admin, "temp", "admin")
    other = s.client(key=k["key"])
    assert other.get("/api/v1/webhooks").status_code == 200
    r = admin.delete(f"/api/v1/keys/{k['id']}")
    assert r.status_code == 204 and r.text == "", r.text
    assert_error(other.get("/api/v1/webhooks"), 401, "unauthorized", None)
    assert_error(admin.delete(f"/api/v1/keys/{k['id']}"), 404, "not_found", None)
    assert_error(admin.delete("/api/v1/keys/not-an-id"), 404, "not_found", None)
    assert k["id"] not in [x["id"] for x in listed(admin)[0]]
    # an ingest key revoked by itself's admin is refused on its own paths too
    ing = make_key(admin, "ing", "ingest")
    assert s.client(key=ing["key"]).post("/api/v1/people/merge", PERSON).status_code == 200
    assert admin.delete(f"/api/v1/keys/{ing['id']}").status_code == 204
    assert_error(s.client(key=ing["key"]).post("/api/v1/people/merge", PERSON), 401,
                 "unauthorized")
    # a key revoking itself: the next call is refused
    me = s.client(key=make_key(admin, "me", "admin")["key"])
    mine = [x for x in listed(me)[0] if x["name"] == "me"][0]
    assert me.delete(f"/api/v1/keys/{mine['id']}").status_code == 204
    assert_error(me.get("/api/v1/keys"), 401, "unauthorized")
    # still refused after a restart
    s2 = servers.restart(s)
    assert_error(s2.client(key=k["key"]).get("/api/v1/webhooks"), 401, "unauthorized")
    assert s2.client().get("/api/v1/webhooks").status_code == 200


@pytest.mark.skipif(BACKEND != "postgres", reason="several processes share only PostgreSQL")
def test_revoked_on_one_process_is_refused_by_another_within_a_second(servers):
    a = servers.start()
    b = servers.start(a.db)
    k = make_key(a.client(), "shared", "admin")
    eventually(lambda: b.client(key=k["key"]).get("/api/v1/webhooks").status_code == 200,
               "a key made on one process is not accepted by another")
    assert a.client().delete(f"/api/v1/keys/{k['id']}").status_code == 204
    t0 = time.monotonic()
    eventually(lambda: b.client(key=k["key"]).get("/api/v1/webhooks").status_code == 401,
               "a revoked key is still accepted by another process")
    assert time.monotonic() - t0 < 2, "took longer than about a second"


# ---------------------------------------------------------------------------
# listing


def test_list_never_shows_a_key(servers):
    s = servers.start()
    admin = s.client()
    made = [make_key(admin, f"k{i}", scope) for i, scope in enumerate(["admin", "ingest"] * 2)]
    secrets = [s.printed_key] + [k["key"] for k in made]
    keys, text = listed(admin)
    assert [(k["name"], k["scope"]) for k in keys] == \
        [("initial", "admin")] + [(k["name"], k["scope"]) for k in made]
    assert [k["id"] for k in keys[1:]] == [k["id"] for k in made]
    assert_no_key_in(text, secrets)
    p = cli(s, "list", key=s.printed_key)
    assert p.returncode == 0, p.stderr
    for k in made:
        assert k["id"] in p.stdout and k["name"] in p.stdout
    assert_no_key_in(p.stdout + p.stderr, secrets)
    p = cli(s, "list", store=True)
    assert p.returncode == 0, p.stderr
    assert all(k["id"] in p.stdout for k in made)
    assert_no_key_in(p.stdout + p.stderr, secrets)


def test_last_used_at(servers):
    s = servers.start()
    admin = s.client()
    used = make_key(admin, "used", "ingest")
    unused = make_key(admin, "unused", "ingest")
    assert s.client(key=used["key"]).post("/api/v1/people/merge", PERSON).status_code == 200
    by_name = {k["name"]: k for k in listed(admin)[0]}
    assert by_name["unused"]["last_used_at"] is None
    assert TIME_MS_RE.match(by_name["used"]["last_used_at"])
    assert by_name["used"]["last_used_at"] >= used["created_at"]
    assert by_name["initial"]["last_used_at"] >= by_name["used"]["last_used_at"]
    assert unused["id"] == by_name["unused"]["id"]
    # kept across a restart (written at first use and at stop)
    s2 = servers.restart(s)
    again = {k["name"]: k for k in listed(s2.client())[0]}
    assert again["used"]["last_used_at"] == by_name["used"]["last_used_at"]
    assert again["unused"]["last_used_at"] is None


# ---------------------------------------------------------------------------
# the first key, and keys given by option


def test_first_start_key_is_listed_as_initial_and_revocable(servers):
    s = servers.start()
    key = s.printed_key
    keys, text = listed(s.client())
    assert [(k["name"], k["scope"]) for k in keys] == [("initial", "admin")]
    assert UUID7_RE.match(keys[0]["id"])
    assert_no_key_in(text, [key])
    assert s.client().delete(f"/api/v1/keys/{keys[0]['id']}").status_code == 204
    assert_error(s.client().get("/api/v1/webhooks"), 401, "unauthorized")
    # with no key stored, the next start makes (and prints) a new one
    s2 = servers.restart(s)
    assert s2.printed_key and s2.printed_key != key
    assert_error(s2.client(key=key).get("/api/v1/webhooks"), 401, "unauthorized")


def test_given_key_works_and_is_never_stored_or_listed(servers):
    s = servers.start(api_key=API_KEY)
    assert s.printed_key is None
    c = s.client(key=API_KEY)
    keys, text = listed(c)
    assert keys == []
    k = make_key(c, "made", "ingest")
    keys, text = listed(c)
    assert [x["name"] for x in keys] == ["made"]
    assert API_KEY not in text
    s.stop()
    for what, data in store_contents(s.db).items():
        # the given key not even as a hash; a made one only as its hash
        for secret in spellings(API_KEY) + [k["key"], k["key"][3:]]:
            assert secret.encode() not in data, f"{secret!r} is in {what}"
        h = hashlib.sha256(API_KEY.encode()).digest()
        assert h not in data, f"the given key's hash is in {what}"
    # without the option it is no longer accepted; the stored one is
    s2 = servers.start(s.db)
    assert s2.printed_key is None  # a key is stored
    assert_error(s2.client(key=API_KEY).get("/api/v1/keys"), 401, "unauthorized")
    assert s2.client(key=k["key"]).post("/api/v1/people/merge", PERSON).status_code == 200


def test_api_key_file_keeps_the_key_off_the_command_line(servers, tmp_path):
    path = tmp_path / "api.key"
    path.write_text(API_KEY + "\n")
    path.chmod(0o600)
    s = servers.start(args=["--api-key-file", str(path)])
    assert s.printed_key is None
    assert s.client(key=API_KEY).get("/api/v1/keys").status_code == 200
    with open(f"/proc/{s.proc.pid}/cmdline", "rb") as f:
        cmdline = f.read()
    assert str(path).encode() in cmdline  # the right process
    assert API_KEY.encode() not in cmdline
    # the command line reads one the same way
    p = cli(s, "list", env={"HOOKD_API_KEY_FILE": str(path)})
    assert p.returncode == 0, p.stderr
    p = run_hookd(["keys", "list", "--url", s.url, "--api-key-file", str(path)], cwd=tmp_path)
    assert p.returncode == 0, p.stderr


# ---------------------------------------------------------------------------
# hookd keys


def test_cli_create_list_revoke_against_a_running_server(servers):
    s = servers.start()
    env = {"HOOKD_URL": s.url, "HOOKD_API_KEY": s.printed_key}
    p = run_hookd(["keys", "create", "--name", "from cli", "--scope", "ingest"], cwd=s.db.parent,
                  env=env)
    out = created_by_cli(p)
    assert (out["name"], out["scope"]) == ("from cli", "ingest")
    assert UUID7_RE.match(out["id"])
    key = out["api key"]
    ing = s.client(key=key)
    assert ing.post("/api/v1/people/merge", PERSON).status_code == 200
    assert_error(ing.get("/api/v1/webhooks"), 403, "forbidden")

    p = run_hookd(["keys", "list"], cwd=s.db.parent, env=env)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "SCOPE", "CREATED", "LAST", "USED"], lines
    assert any(out["id"] in line and "from cli" in line and "ingest" in line for line in lines)
    assert any("initial" in line and "admin" in line for line in lines)
    assert_no_key_in(p.stdout, [key, s.printed_key])

    p = cli(s, "revoke", out["id"], key=s.printed_key)
    assert p.returncode == 0, p.stderr
    assert_error(ing.post("/api/v1/people/merge", PERSON), 401, "unauthorized")
    p = cli(s, "revoke", out["id"], key=s.printed_key)
    assert p.returncode == 1 and "no key" in p.stderr, (p.returncode, p.stderr)
    # the server's message on stderr, status 1
    p = cli(s, "list", key="wrong-key-0123456789")
    assert p.returncode == 1 and "API key" in p.stderr, (p.returncode, p.stderr)
    p = cli(s, "create", "--name", "x", "--scope", "admin", key=key)  # revoked
    assert p.returncode == 1 and "401" in p.stderr, (p.returncode, p.stderr)
    assert p.stdout == ""
    # an ingest key may not make keys
    ing2 = make_key(s.client(), "ing2", "ingest")["key"]
    p = cli(s, "create", "--name", "x", "--scope", "admin", key=ing2)
    assert p.returncode == 1 and "403" in p.stderr, (p.returncode, p.stderr)


@pytest.mark.parametrize("args", [
    [], ["bogus"], ["create", "--scope", "admin"], ["create", "--name", "x"],
    ["create", "--name", "x", "--scope", "root"], ["create", "--name", "", "--scope", "admin"],
    ["revoke"], ["list", "--frobnicate"], ["list", "--url"], ["list", "extra"]],
    ids=lambda a: " ".join(a) or "(none)")
def test_cli_usage_errors_exit_2(tmp_path, args):
    p = run_hookd(["keys", *args, "--api-key", API_KEY, "--url", "http://127.0.0.1:9"],
                  cwd=tmp_path)
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert p.stderr.startswith("hookd keys: "), p.stderr
    assert p.stdout == ""


def test_cli_needs_a_key_or_the_store(tmp_path):
    p = run_hookd(["keys", "list", "--url", "http://127.0.0.1:9"], cwd=tmp_path)
    assert p.returncode == 2 and "--db" in p.stderr, p.stderr
    p = run_hookd(["keys", "list", "--url", "http://127.0.0.1:9", "--api-key", API_KEY],
                  cwd=tmp_path)
    assert p.returncode == 1 and "cannot reach" in p.stderr, p.stderr
    p = run_hookd(["keys", "list", "--db", str(tmp_path / "missing.db")], cwd=tmp_path)
    assert p.returncode == 1 and "no database" in p.stderr, p.stderr
    assert not (tmp_path / "missing.db").exists()


def test_cli_writes_the_store_directly_while_the_server_runs(servers):
    s = servers.start()
    out = created_by_cli(cli(s, "create", "--name", "way back", "--scope", "admin", store=True))
    key = out["api key"]
    c = s.client(key=key)
    eventually(lambda: c.get("/api/v1/webhooks").status_code == 200,
               "a key written into the store is not accepted by the running server")
    keys, text = listed(c)
    assert [(k["name"], k["scope"]) for k in keys] == [("initial", "admin"), ("way back", "admin")]
    assert_no_key_in(text, [key])
    # revoked the same way: refused within about a second
    p = cli(s, "revoke", out["id"], store=True)
    assert p.returncode == 0, p.stderr
    eventually(lambda: c.get("/api/v1/webhooks").status_code == 401,
               "a key revoked in the store is still accepted")
    p = cli(s, "revoke", out["id"], store=True)
    assert p.returncode == 1, p.stderr


# ---------------------------------------------------------------------------
# at rest, and validation


def test_store_never_holds_a_key(servers):
    s = servers.start()
    admin = s.client()
    made = [make_key(admin, f"k{i}", "ingest")["key"] for i in range(3)]
    made.append(created_by_cli(cli(s, "create", "--name", "cli", "--scope", "admin",
                                   key=s.printed_key))["api key"])
    for k in made:
        assert s.client(key=k).post("/api/v1/people/merge", PERSON).status_code == 200
    stored_live = store_contents(s.db)
    s.stop()
    for contents in (stored_live, store_contents(s.db)):
        assert contents
        for what, data in contents.items():
            for k in made + [s.printed_key]:
                assert k.encode() not in data, f"a key is stored in plain in {what}"


@pytest.mark.parametrize("body,field", [
    ({}, "name"),
    ({"scope": "admin"}, "name"),
    ({"name": "x"}, "scope"),
    ({"name": "x", "scope": "root"}, "scope"),
    ({"name": "x", "scope": "Admin"}, "scope"),
    ({"name": "x", "scope": None}, "scope"),
    ({"name": "", "scope": "admin"}, "name"),
    ({"name": "é" * 201, "scope": "admin"}, "name"),
    ({"name": 5, "scope": "admin"}, "name"),
    ({"name": "a\nb", "scope": "admin"}, "name"),
    ({"name": "x", "scope": "admin", "key": "hk_mine"}, "key"),
    ({"name": "x", "scope": "admin", "id": "x"}, "id"),
], ids=lambda v: repr(v)[:40])
def test_create_validation_names_the_field(mapi, body, field):
    before = [k["id"] for k in listed(mapi)[0]]
    assert_error(mapi.post("/api/v1/keys", body), 400, "invalid", field)
    assert [k["id"] for k in listed(mapi)[0]] == before


def test_name_of_200_characters_is_fine(mapi):
    make_key(mapi, "é" * 200, "ingest")


def test_keys_routes_405(mapi):
    assert_error(mapi.patch("/api/v1/keys", {}), 405, "method_not_allowed")
    assert_error(mapi.get("/api/v1/keys/0190f3a2-0000-7000-8000-000000000000"), 405,
                 "method_not_allowed")


# ---------------------------------------------------------------------------
# migration


def _to_old_schema(db):
    """Puts the store of db back to the schema that kept only hashes, with
    the keys it holds."""
    if BACKEND == "postgres":
        sql = ("BEGIN;"
               "CREATE TABLE old(hash bytea PRIMARY KEY, created_at bigint NOT NULL);"
               "INSERT INTO old SELECT hash, created_at FROM api_keys;"
               "DROP TABLE api_keys; ALTER TABLE old RENAME TO api_keys;"
               # later migrations go too (they run again after this one):
               # the master key's check value of the sealing step
               "ALTER TABLE meta DROP COLUMN seal_check;"
               # and the message id a resend keeps (migration 4)
               "ALTER TABLE deliveries DROP COLUMN msg_id;"
               # and the streaks of failed attempts (migration 5)
               "DROP TABLE webhook_streaks;"
               "DELETE FROM hookd_migrations WHERE version >= 2;"
               "COMMIT;")
        p = subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                            conftest.PG.url(db), "-c", sql], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        return
    con = sqlite3.connect(db)
    con.executescript(
        "CREATE TABLE old(hash BLOB PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;"
        "INSERT INTO old SELECT hash, created_at FROM api_keys;"
        "DROP TABLE api_keys; ALTER TABLE old RENAME TO api_keys;"
        # what later migrations added (the master key's check value) goes
        # too: schema 2 had none of it
        "DROP TABLE meta;"
        # and the message id a resend keeps (schema 5)
        "ALTER TABLE deliveries DROP COLUMN msg_id;"
        # and the streaks of failed attempts (schema 6)
        "DROP TABLE webhook_streaks;"
        "PRAGMA user_version = 2;")
    con.close()


def test_a_key_of_the_old_schema_becomes_initial_admin(servers):
    s = servers.start()
    key = s.printed_key
    s.stop()
    _to_old_schema(s.db)
    s2 = servers.start(s.db)
    assert s2.printed_key is None
    assert any("schema migration" in line for line in s2.stderr_lines), s2.stderr_lines
    c = s2.client(key=key)
    keys, text = listed(c)
    assert [(k["name"], k["scope"]) for k in keys] == [("initial", "admin")]
    assert UUID7_RE.match(keys[0]["id"]), keys
    assert_no_key_in(text, [key])
    assert c.delete(f"/api/v1/keys/{keys[0]['id']}").status_code == 204
    assert_error(c.get("/api/v1/keys"), 401, "unauthorized")
