"""Secrets at rest (docs/security.md) and secret headers: secrets sealed at rest under the
master key, secret headers shown as [redacted] and kept by a PATCH without
value, private file modes, and the migration of stores written in clear.

What is checked is what an operator or an attacker with a copy of the files
would see: the raw bytes of the SQLite file, its -wal and -shm (or a pg_dump
of the PostgreSQL database), their modes, hookd's log lines, and what the
receiver gets."""

import base64
import hashlib
import hmac
import json
import os
import sqlite3
import stat
import time
from pathlib import Path

import pytest

import conftest
from conftest import assert_error, master_key_file, run_hookd, store_contents
from receiver import receiver  # noqa: F401  (a fixture)

PASSWORD = "pw-7f3a9c-never-in-clear"
TOKEN = "tok-51e2b8-secret-header"
PLAIN = "plain-header-value-shown"


def sqlite_backend():
    return conftest.BACKEND != "postgres"


def secret_body(secret):
    """The base64 key of a signing secret (what a receiver keys HMAC with)."""
    assert secret.startswith("whsec_"), secret
    return secret[len("whsec_"):]


def signature_ok(req, secret):
    """One of the space-separated v1 signatures of req is made with secret."""
    key = base64.b64decode(secret_body(secret))
    msg = (f"{req.header('webhook-id')}.{req.header('webhook-timestamp')}.".encode() + req.body)
    want = "v1," + base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()
    return want in req.header("webhook-signature").split(" ")


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def make_secret_hook(api, rcv, path="/s"):
    body = {"name": "sealed", "url": rcv.url + path, "activities": ["act::s"],
            "basic_auth": {"username": "ann", "password": PASSWORD},
            "headers": [{"key": "X-Plain", "value": PLAIN},
                        {"key": "X-Api-Key", "value": TOKEN, "secret": True}]}
    r = api.post("/api/v1/webhooks", body)
    assert r.status_code == 201, r.text
    return r.json()


def deliver(api, rcv, path, n, start=0):
    """Ingests n activities for the webhooks on act::s and waits until rcv got
    them on path; returns those requests."""
    r = api.post("/api/v1/people/merge", {"people": [{"fields": {"str::email": "a@x.io"}}]})
    assert r.status_code == 200, r.text
    cid = r.json()["people"][0]["contact_id"]
    acts = [{"id": f"a-{start + i}", "field_id": "act::s", "contact": {"contact_id": cid}}
            for i in range(n)]
    r = api.post("/api/v1/activities", {"activities": acts})
    assert r.status_code == 202, r.text
    return rcv.wait_count(start + n, path=path)


def needles(secret):
    """What must never be found in the files, as bytes."""
    return {"password": PASSWORD.encode(), "secret header": TOKEN.encode(),
            "signing secret": secret.encode(), "secret's key": secret_body(secret).encode()}


def assert_no_secret_in_store(db, secret, extra=()):
    found = []
    for name, data in store_contents(db).items():
        for what, needle in list(needles(secret).items()) + list(extra):
            if needle in data:
                found.append((name, what))
    assert not found, f"secrets in clear in the store: {found}"


def wait_logs(api, wid, n):
    def entries():
        r = api.get(f"/api/v1/webhooks/{wid}/logs")
        assert r.status_code == 200, r.text
        got = [e for e in r.json()["entries"] if e["attempts"] > 0]
        return got if len(got) >= n else None
    deadline = time.monotonic() + 10
    while not (got := entries()):
        assert time.monotonic() < deadline, "deliveries never logged"
        time.sleep(0.05)
    return got


def test_secrets_are_sealed_in_every_file_and_still_sent(servers, receiver):
    h = servers.start()
    api = h.client()
    wh = make_secret_hook(api, receiver)
    secret = wh["secret"]
    reqs = deliver(api, receiver, "/s", 3)
    r = api.post(f"/api/v1/webhooks/{wh['id']}/test")
    assert r.status_code == 200 and r.json()["ok"], r.text
    # the receiver gets the real values and a signature it can check
    for req in reqs + receiver.requests("/s", tests="only"):
        assert req.header("Authorization") == basic("ann", PASSWORD), req
        assert req.header("X-Api-Key") == TOKEN, req
        assert req.header("X-Plain") == PLAIN, req
        assert signature_ok(req, secret), req
    wait_logs(api, wh["id"], 3)
    # while running (-wal and -shm exist) and after a clean stop
    assert_no_secret_in_store(h.db, secret)
    h.stop()
    assert_no_secret_in_store(h.db, secret)
    # the plain header is kept as it is: the test would pass vacuously if
    # the store's bytes were not what it thinks
    assert any(PLAIN.encode() in d for d in store_contents(h.db).values())
    log = "\n".join(h.stderr_lines)
    for what, needle in needles(secret).items():
        assert needle.decode() not in log, f"{what} in hookd's log"
    # after a restart the sealed values open again
    h = servers.start(h.db)
    api = h.client()
    deliver(api, receiver, "/s", 1, start=3)
    last = receiver.requests("/s")[-1]
    assert last.header("Authorization") == basic("ann", PASSWORD)
    assert last.header("X-Api-Key") == TOKEN
    assert signature_ok(last, secret)


def test_previous_secret_after_a_rotation_is_sealed_too(servers, receiver):
    """Rotation keeps the old secret to sign with during the overlap: it
    must be stored as sealed as the current one."""
    h = servers.start()
    api = h.client()
    wh = make_secret_hook(api, receiver)
    old = wh["secret"]
    r = api.post(f"/api/v1/webhooks/{wh['id']}/rotate-secret")
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new != old
    reqs = deliver(api, receiver, "/s", 1)
    # both signatures are sent, so both secrets are really in use
    assert signature_ok(reqs[0], old) and signature_ok(reqs[0], new), reqs[0]
    h.stop()
    assert_no_secret_in_store(h.db, old)
    assert_no_secret_in_store(h.db, new)


def test_secret_header_is_redacted_in_answers_and_logs(server, receiver):
    api = server.client()
    wh = make_secret_hook(api, receiver)
    for got in (wh, api.fetch(wh["id"]), [w for w in api.webhooks() if w["id"] == wh["id"]][0]):
        assert got["headers"] == [{"key": "X-Plain", "value": PLAIN},
                                  {"key": "X-Api-Key", "value": "[redacted]", "secret": True}]
        assert got["basic_auth"] == {"username": "ann", "password_set": True}
        assert PASSWORD not in json.dumps(got) and TOKEN not in json.dumps(got)
    deliver(api, receiver, "/s", 1)
    [entry] = wait_logs(api, wh["id"], 1)
    d = api.get(f"/api/v1/webhooks/{wh['id']}/logs/{entry['id']}").json()
    shown = d["request"]["headers"]
    assert shown["X-Api-Key"] == "[redacted]", shown
    assert shown["Authorization"] == "[redacted]", shown
    assert shown["X-Plain"] == PLAIN, shown
    assert TOKEN not in json.dumps(d) and PASSWORD not in json.dumps(d)


def test_patch_without_value_keeps_a_secret_header(server, receiver):
    api = server.client()
    wh = make_secret_hook(api, receiver)
    # named in another case, without value: kept
    r = api.patch(f"/api/v1/webhooks/{wh['id']}",
                  {"headers": [{"key": "x-api-key", "secret": True}], "name": "renamed"})
    assert r.status_code == 200, r.text
    assert r.json()["headers"] == [{"key": "x-api-key", "value": "[redacted]", "secret": True}]
    [req] = deliver(api, receiver, "/s", 1)
    assert req.header("x-api-key") == TOKEN, req
    assert req.header("X-Plain") is None
    # PATCHing back the headers an answer showed keeps the secret too
    shown = api.fetch(wh["id"])["headers"]
    r = api.patch(f"/api/v1/webhooks/{wh['id']}", {"headers": shown})
    assert r.status_code == 200, r.text
    [_, req] = deliver(api, receiver, "/s", 1, start=1)
    assert req.header("x-api-key") == TOKEN, req
    # a new secret header needs its value
    r = api.patch(f"/api/v1/webhooks/{wh['id']}",
                  {"headers": [{"key": "x-api-key", "secret": True},
                               {"key": "X-Other", "secret": True}]})
    assert_error(r, 400, "invalid", "headers[1].value")
    # "secret" is a boolean
    r = api.patch(f"/api/v1/webhooks/{wh['id']}",
                  {"headers": [{"key": "X-Other", "value": "v", "secret": "yes"}]})
    assert_error(r, 400, "invalid", "headers[0].secret")
    # a new value replaces it
    r = api.patch(f"/api/v1/webhooks/{wh['id']}",
                  {"headers": [{"key": "X-Api-Key", "value": "new-token", "secret": True}]})
    assert r.status_code == 200, r.text
    deliver(api, receiver, "/s", 1, start=2)
    assert receiver.requests("/s")[-1].header("X-Api-Key") == "new-token"


@pytest.mark.sqlite_only("file modes and the <db>.key hookd makes are the SQLite store's")
def test_files_are_private_and_the_key_file_is_announced(servers, receiver):
    h = servers.start()
    make_secret_hook(h.client(), receiver)
    key = Path(f"{h.db}.key")
    files = [h.db, Path(f"{h.db}-wal"), Path(f"{h.db}-shm"), key]
    for f in files:
        assert f.exists(), f
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, (f, oct(f.stat().st_mode))
    text = key.read_text()
    assert len(text) == 65 and text.endswith("\n") and int(text, 16) >= 0
    made = [line for line in h.stderr_lines if str(key) in line]
    assert made and "made the master key file" in made[0] and "back up" in made[0], \
        h.stderr_lines
    assert not any("mode 0" in line and "chmod" in line for line in h.stderr_lines)
    h.stop()
    # a second start reads the same key and says nothing of making one
    h = servers.start(h.db)
    assert key.read_text() == text
    assert not any("made the master key file" in line for line in h.stderr_lines)


@pytest.mark.sqlite_only("the database files' modes are the SQLite store's")
def test_loose_modes_are_warned_about(servers):
    h = servers.start()
    h.stop()
    key = Path(f"{h.db}.key")
    os.chmod(h.db, 0o644)
    os.chmod(key, 0o640)
    h = servers.start(h.db)
    for path, mode in ((h.db, "0644"), (key, "0640")):
        warned = [line for line in h.stderr_lines if f"{path} is mode {mode}" in line]
        assert warned and f"chmod 600 {path}" in warned[0], h.stderr_lines


def test_loose_key_file_is_warned_about(servers, tmp_path):
    db = tmp_path / "hookd.db"
    keyfile = tmp_path / "given.key"
    keyfile.write_text(os.urandom(32).hex())  # no newline: allowed too
    keyfile.chmod(0o644)
    h = servers.start(db, args=["--master-key-file", str(keyfile)])
    warned = [line for line in h.stderr_lines if f"{keyfile} is mode 0644" in line]
    assert warned and f"chmod 600 {keyfile}" in warned[0], h.stderr_lines


def test_a_wrong_or_malformed_master_key_stops_hookd(servers, tmp_path, receiver):
    h = servers.start()
    make_secret_hook(h.client(), receiver)
    h.stop()
    wrong = tmp_path / "wrong.key"
    wrong.write_text(os.urandom(32).hex() + "\n")
    wrong.chmod(0o600)
    flags = [f for f in servers.store_flags(h.db)]
    if "--master-key-file" in flags:
        i = flags.index("--master-key-file")
        del flags[i:i + 2]
    p = run_hookd(["serve", "--listen", "127.0.0.1:0", *flags, "--master-key-file", str(wrong)],
                  cwd=tmp_path)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert f"the master key in {wrong} does not open this database's secrets" in p.stderr, \
        p.stderr
    assert len(p.stderr.strip().splitlines()) <= 3, p.stderr
    for bad in ("abc\n", "zz" * 32, os.urandom(32).hex() + "00"):
        wrong.write_text(bad)
        p = run_hookd(["serve", "--listen", "127.0.0.1:0", *flags, "--master-key-file",
                       str(wrong)], cwd=tmp_path)
        assert p.returncode == 1, (bad, p.returncode, p.stderr)
        assert f"the master key file {wrong} must hold 64 hex characters" in p.stderr, p.stderr
    # the right key still opens it
    servers.start(h.db)


def unseal_in_place(db, wid, secret, password, token):
    """Writes the webhook's document back in clear, as a hookd before sealing
    kept it, and takes the store back to the schema before the sealing
    migration."""
    if sqlite_backend():
        con = sqlite3.connect(db)
        con.execute("UPDATE webhooks SET doc = json_set(doc, '$.basic_auth.password', ?, "
                    "'$.secret', ?, '$.headers[1].value', ?, '$.headers[1].secret', json('false'))"
                    " WHERE id = ?", (password, secret, token, wid))
        con.execute("DROP TABLE meta")
        con.execute("ALTER TABLE deliveries DROP COLUMN msg_id")  # schema 5's, made again
        con.execute("DROP TABLE webhook_streaks")  # schema 6's, made again
        con.execute("PRAGMA user_version = 3")  # the schema before sealing
        con.commit()
        con.close()
        assert any(password.encode() in d for d in store_contents(db).values())
        return
    conftest.PG.psql(
        f"\\c {conftest.PG.name(db)}\n"
        f"UPDATE webhooks SET doc = jsonb_set(jsonb_set(jsonb_set(jsonb_set(doc::jsonb, "
        f"'{{basic_auth,password}}', '\"{password}\"'), '{{secret}}', '\"{secret}\"'), "
        f"'{{headers,1,value}}', '\"{token}\"'), '{{headers,1,secret}}', 'false')::text "
        f"WHERE id = '{wid}';\n"
        f"ALTER TABLE meta DROP COLUMN seal_check;\n"
        f"ALTER TABLE deliveries DROP COLUMN msg_id;\n"  # migration 4's, made again
        f"DROP TABLE webhook_streaks;\n"  # migration 5's, made again
        f"DELETE FROM hookd_migrations WHERE version >= 3;\n")  # the sealing step on
    assert any(password.encode() in d for d in store_contents(db).values())


def test_a_store_written_in_clear_is_sealed_at_start(servers, receiver):
    h = servers.start()
    api = h.client()
    wh = make_secret_hook(api, receiver)
    deliver(api, receiver, "/s", 2)
    h.stop()
    # a secret of the old form, known here (hookd made wh's)
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    unseal_in_place(h.db, wh["id"], secret, PASSWORD, TOKEN)
    h = servers.start(h.db)
    assert any("sealed the secrets" in line or "schema migration" in line
               for line in h.stderr_lines), h.stderr_lines
    api = h.client()
    got = api.fetch(wh["id"])
    assert got["secret"] == secret
    assert got["headers"][1] == {"key": "X-Api-Key", "value": TOKEN}  # was not secret then
    deliver(api, receiver, "/s", 1, start=2)
    last = receiver.requests("/s")[-1]
    assert last.header("Authorization") == basic("ann", PASSWORD)
    assert signature_ok(last, secret)
    h.stop()
    # no clear copy left: not in the file, its free pages, the WAL
    found = [(name, what) for name, data in store_contents(h.db).items()
             for what, needle in (("password", PASSWORD.encode()),
                                  ("signing secret", secret_body(secret).encode()))
             if needle in data]
    assert not found, found


@pytest.mark.sqlite_only("opens a SQLite file written by the schema-1 hookd")
def test_a_schema1_database_is_sealed_with_no_clear_copy_left(tmp_path):
    fixtures = Path(__file__).resolve().parent / "fixtures"
    sql = (fixtures / "schema1.sql").read_text()
    expected = json.loads((fixtures / "schema1.json").read_text())
    db = tmp_path / "hookd.db"
    con = sqlite3.connect(db)
    con.executescript(sql)
    con.close()
    old_secrets = [w["secret"] for w in expected["webhooks"]]
    assert b"s3cret" in db.read_bytes()
    h = conftest.Hookd(db, api_key=expected["key"])
    try:
        got = {w["id"]: w for w in h.client().webhooks()}
        assert sorted(w["secret"] for w in got.values()) == sorted(old_secrets)
    finally:
        h.stop()
    for name, data in store_contents(db).items():
        assert b"s3cret" not in data, name
        for s in old_secrets:
            assert secret_body(s).encode() not in data, (name, s)
    assert stat.S_IMODE(Path(f"{db}.key").stat().st_mode) == 0o600
