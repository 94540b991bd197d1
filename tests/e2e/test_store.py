"""The store: 503 when it cannot take writes, data across restarts, and
durability of every 2xx (kill -9 right after it)."""

import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import assert_error, hook_body, strip_volatile

BUSY_TIMEOUT = 5  # seconds hookd waits for a lock before answering 503
LOCKED_CALL_TIMEOUT = 4 * BUSY_TIMEOUT + 10  # calls queue behind each other on few threads


def by_id(webhooks):
    return {w["id"]: strip_volatile(w) for w in webhooks}


@pytest.mark.sqlite_only("holds the SQLite file's write lock from a second connection")
def test_503_while_the_store_is_locked_and_nothing_changes(server, api, sink_url):
    kept = api.create(hook_body(sink_url, name="kept"))
    before = api.fetch(kept["id"])

    con = sqlite3.connect(server.db, timeout=BUSY_TIMEOUT, isolation_level=None)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
        con.execute("BEGIN EXCLUSIVE")
        wid = kept["id"]
        calls = [
            ("POST", "/api/v1/webhooks", hook_body(sink_url, name="must not exist")),
            ("PATCH", f"/api/v1/webhooks/{wid}", {"name": "must not change"}),
            ("DELETE", f"/api/v1/webhooks/{wid}", None),
        ]
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            answers = list(pool.map(
                lambda c: api.request(c[0], c[1], json_body=c[2], timeout=LOCKED_CALL_TIMEOUT),
                calls))
        for (method, path, _), r in zip(calls, answers):
            assert r.status_code == 503, f"{method} {path} -> {r.status_code} {r.text}"
            assert_error(r, 503, "unavailable", None)
    finally:
        if con.in_transaction:
            con.rollback()
        con.close()

    assert by_id(api.webhooks()) == {kept["id"]: before}
    assert api.fetch(kept["id"]) == before
    again = api.create(hook_body(sink_url, name="after the lock"))
    assert {w["id"] for w in api.webhooks()} == {kept["id"], again["id"]}


def test_everything_survives_restart(servers, sink_url):
    s = servers.start()
    c = s.client()
    r = c.post("/api/v1/fields", {"name": "Job title", "type": "str", "object": "person"})
    assert r.status_code == 201, r.text
    made = [
        c.create(hook_body(sink_url, name="plain")),
        c.create(hook_body(sink_url, name="full ☃", method="PATCH", send_activity=False,
                           basic_auth={"username": "u", "password": "p"},
                           headers=[{"key": "X-A", "value": "1"}, {"key": "X-B", "value": ""}],
                           keys={"contact_id": "id", "action_name": "step"},
                           fields=[{"field_id": "str:cm:job-title"},
                                   {"field_id": "geo:o:city", "key": "ac"}],
                           activities=["act:cm:x", "*"], connected=False)),
    ]
    gone = c.create(hook_body(sink_url, name="deleted"))
    assert c.delete(f"/api/v1/webhooks/{gone['id']}").status_code == 204
    rotated = c.post(f"/api/v1/webhooks/{made[0]['id']}/rotate-secret").json()
    before = by_id(c.webhooks())
    assert set(before) == {w["id"] for w in made}
    assert before[made[0]["id"]]["secret"] == rotated["secret"]
    fields_before = c.get("/api/v1/fields").json()

    s2 = servers.restart(s)
    c2 = s2.client(key=s.printed_key)
    assert by_id(c2.webhooks()) == before
    for wid, wh in before.items():
        assert c2.fetch(wid) == wh
    assert_error(c2.get(f"/api/v1/webhooks/{gone['id']}"), 404, "not_found")
    assert c2.get("/api/v1/fields").json() == fields_before


def test_a_2xx_survives_kill_9(servers, sink_url):
    s = servers.start()
    key = s.printed_key
    wh = s.client().create(hook_body(sink_url, name="durable"))
    s.kill9()  # right after the 201

    s = servers.start(s.db)
    c = s.client(key=key)
    assert c.fetch(wh["id"]) == strip_volatile(wh)
    r = c.patch(f"/api/v1/webhooks/{wh['id']}", {"name": "durable patch", "connected": False})
    assert r.status_code == 200, r.text
    patched = r.json()
    s.kill9()

    s = servers.start(s.db)
    c = s.client(key=key)
    assert c.fetch(wh["id"]) == patched
    r = c.post(f"/api/v1/webhooks/{wh['id']}/rotate-secret")
    assert r.status_code == 200, r.text
    rotated = r.json()
    s.kill9()

    s = servers.start(s.db)
    c = s.client(key=key)
    assert c.fetch(wh["id"]) == rotated
    assert c.delete(f"/api/v1/webhooks/{wh['id']}").status_code == 204
    s.kill9()

    s = servers.start(s.db)
    c = s.client(key=key)
    assert_error(c.get(f"/api/v1/webhooks/{wh['id']}"), 404, "not_found")
    assert c.webhooks() == []
