"""docs/configuration.md: options as flags and variables, the first API key, signals."""

import signal
import sqlite3

import pytest

from conftest import BACKEND, KEY_RE, assert_error, hook_body, run_hookd, store_contents

API_KEY = "k-0123456789abcdef-admin"  # 16+ characters
OTHER_KEY = "k-fedcba9876543210-other"


def assert_serves(s):
    """The server answers /healthz and an authenticated call."""
    c = s.client()
    r = c.get("/healthz", auth=False)
    assert r.status_code == 200 and r.text == '{"status":"ok"}', r.text
    assert c.get("/api/v1/webhooks").status_code == 200


# ---------------------------------------------------------------------------
# options that must be accepted

ACCEPTED = [
    (["--retry-schedule", "1s,2s"], {}),
    (["--retry-schedule", "5m"], {}),
    ([], {"HOOKD_RETRY_SCHEDULE": "1m,2h,1d"}),
    (["--max-retries", "0"], {}),
    (["--max-retries", "20"], {}),
    ([], {"HOOKD_MAX_RETRIES": "3"}),
    (["--request-timeout", "500ms"], {}),
    ([], {"HOOKD_REQUEST_TIMEOUT": "2s"}),
    (["--log-retention", "7d"], {}),
    ([], {"HOOKD_LOG_RETENTION": "12h"}),
    (["--allow-private-networks"], {}),
    ([], {"HOOKD_ALLOW_PRIVATE_NETWORKS": "1"}),
    (["--retry-schedule", "10ms,1s,1m,1h,1d", "--max-retries", "5", "--request-timeout", "1m",
      "--log-retention", "1d"], {}),
]


@pytest.mark.parametrize("args,env", ACCEPTED, ids=lambda v: repr(v))
def test_valid_option_is_accepted(servers, args, env):
    s = servers.start(args=args, env=env, private=False)
    assert_serves(s)
    s.stop()


def test_listen_from_variable(servers):
    s = servers.start(listen=False, env={"HOOKD_LISTEN": "127.0.0.1:0"})
    assert_serves(s)


def test_db_from_variable(servers, tmp_path, sink_url):
    # HOOKD_DB, or HOOKD_DATABASE_URL against PostgreSQL
    db = tmp_path / "from-env.db"
    s = servers.start(db, db_flag=False, env=servers.store_env(db))
    wh = s.client().create(hook_body(sink_url))
    if BACKEND == "sqlite":
        assert db.exists()
    assert not (tmp_path / "hookd.db").exists()  # the default file was not used
    s.stop()
    s2 = servers.start(db)  # the same store, now by flag
    assert s2.client(key=s.api_key).fetch(wh["id"])["name"] == "hook"


def test_api_key_from_variable(servers):
    s = servers.start(env={"HOOKD_API_KEY": API_KEY})
    assert s.printed_key is None
    c = s.client(key=API_KEY)
    assert c.get("/api/v1/webhooks").status_code == 200
    assert_error(s.client(key=OTHER_KEY).get("/api/v1/webhooks"), 401, "unauthorized")


def test_flag_db_overrides_variable(servers, tmp_path, sink_url):
    # --db over HOOKD_DB, or --database-url over HOOKD_DATABASE_URL
    env_db = tmp_path / "env.db"
    flag_db = tmp_path / "flag.db"
    s = servers.start(flag_db, env=servers.store_env(env_db))
    assert_serves(s)
    wh = s.client().create(hook_body(sink_url))
    s.stop()
    if BACKEND == "sqlite":
        assert flag_db.exists()
        assert not env_db.exists()
    # what was written is in the flag's store, not in the variable's
    assert servers.start(flag_db).client(key=s.api_key).fetch(wh["id"])["name"] == "hook"
    assert servers.start(env_db, api_key=API_KEY).client().webhooks() == []


def test_flag_api_key_overrides_variable(servers):
    s = servers.start(api_key=API_KEY, env={"HOOKD_API_KEY": OTHER_KEY})
    assert s.client(key=API_KEY).get("/api/v1/webhooks").status_code == 200
    assert_error(s.client(key=OTHER_KEY).get("/api/v1/webhooks"), 401, "unauthorized")


@pytest.mark.parametrize("env", [
    {"HOOKD_LISTEN": "nonsense"},
    {"HOOKD_REQUEST_TIMEOUT": "1.5s", "HOOKD_MAX_RETRIES": "abc",
     "HOOKD_RETRY_SCHEDULE": "5m,,1h", "HOOKD_LOG_RETENTION": "10"},
], ids=["listen", "durations"])
def test_flags_override_invalid_variables(servers, env):
    # Every variable is set to a value hookd must refuse; the flags win, so
    # it starts.
    args = ["--request-timeout", "2s", "--max-retries", "3", "--retry-schedule", "1m",
            "--log-retention", "1d"]
    s = servers.start(args=args, env=env)  # --listen 127.0.0.1:0 is a flag too
    assert_serves(s)


# ---------------------------------------------------------------------------
# options that must be refused: exit 2, one line on stderr

REFUSED = [
    (["--request-timeout", "1.5s"], {}),
    (["--request-timeout", "10"], {}),
    (["--retry-schedule", "5m,,1h"], {}),
    (["--retry-schedule", "5m,1x"], {}),
    (["--max-retries", "-1"], {}),
    (["--max-retries", "abc"], {}),
    (["--log-retention", "10"], {}),
    (["--listen", "nonsense"], {}),
    (["--no-such-flag"], {}),
    (["--db"], {}),  # without a value: must stay the last argument
    ([], {"HOOKD_REQUEST_TIMEOUT": "1.5s"}),
    ([], {"HOOKD_MAX_RETRIES": "abc"}),
    ([], {"HOOKD_RETRY_SCHEDULE": "5m,,1h"}),
    ([], {"HOOKD_LOG_RETENTION": "10"}),
    ([], {"HOOKD_LISTEN": "nonsense"}),
]


@pytest.mark.parametrize("args,env", REFUSED, ids=lambda v: repr(v))
def test_invalid_option_exits_2_with_one_line(servers, tmp_path, args, env):
    # --listen and the store (--db or --database-url) are given unless the
    # case is about them
    listen = [] if "HOOKD_LISTEN" in env or "--listen" in args else ["--listen", "127.0.0.1:0"]
    db = [] if "--db" in args else servers.store_flags(tmp_path / "x.db")
    argv = ["serve", *listen, *db, *args]
    p = run_hookd(argv, cwd=tmp_path, env=env)
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), f"expected one line on stderr: {p.stderr!r}"
    assert "api key" not in p.stdout


# ---------------------------------------------------------------------------
# the API key

def test_first_start_prints_a_key_once_and_it_works(servers):
    s = servers.start()
    key = s.printed_key
    assert key, f"no 'api key: <key>' line on stdout: {s.stdout_lines!r}"
    c = s.client()
    assert c.get("/api/v1/webhooks").status_code == 200
    assert_error(c.get("/api/v1/webhooks", key=key + "x"), 401, "unauthorized", None)
    assert_error(c.get("/api/v1/webhooks", key="wrong-key-0123456789"), 401, "unauthorized")
    assert_error(c.get("/api/v1/webhooks", auth=False), 401, "unauthorized")
    assert_error(c.get("/api/v1/webhooks", auth=False, headers={"Authorization": key}),
                 401, "unauthorized")
    assert_error(c.get("/api/v1/webhooks", auth=False,
                       headers={"Authorization": f"Basic {key}"}), 401, "unauthorized")
    s.stop()
    assert [KEY_RE.match(line).group(1) for line in s.key_lines()] == [key]

    s2 = servers.start(s.db)
    assert s2.client(key=key).get("/api/v1/webhooks").status_code == 200
    s2.stop()
    assert s2.key_lines() == [], f"a key was printed again: {s2.stdout_lines!r}"


def test_given_api_key_works_and_none_is_printed(servers):
    s = servers.start(api_key=API_KEY)
    assert s.client(key=API_KEY).get("/api/v1/webhooks").status_code == 200
    assert_error(s.client(key=OTHER_KEY).get("/api/v1/webhooks"), 401, "unauthorized")
    s.stop()
    assert s.key_lines() == [], s.stdout_lines


def test_stored_key_still_works_with_a_given_key(servers):
    s = servers.start()
    printed = s.printed_key
    assert printed
    s2 = servers.restart(s, api_key=API_KEY)
    assert s2.client(key=printed).get("/api/v1/webhooks").status_code == 200
    assert s2.client(key=API_KEY).get("/api/v1/webhooks").status_code == 200


def test_db_stores_only_a_hash_of_the_key(servers):
    # the bytes of the SQLite file (and -wal, -shm), or a pg_dump
    s = servers.start()
    key = s.printed_key
    assert key
    s.stop()
    s2 = servers.start(s.db, api_key=API_KEY)
    assert s2.client(key=key).get("/api/v1/webhooks").status_code == 200
    s2.stop()
    stored = store_contents(s.db)
    assert stored
    for what, data in stored.items():
        for secret in (key, API_KEY):
            assert secret.encode() not in data, f"{secret!r} is stored in plain in {what}"


@pytest.mark.sqlite_only("reads the api_keys table of the SQLite file")
def test_db_stores_the_hash_of_the_key(servers):
    s = servers.start()
    key = s.printed_key
    assert key
    s.stop()
    s2 = servers.start(s.db, api_key=API_KEY)
    s2.stop()
    con = sqlite3.connect(s.db)
    try:
        rows = con.execute("SELECT * FROM api_keys").fetchall()
    finally:
        con.close()
    assert rows, "the generated key is not stored at all"
    for row in rows:
        for value in row:
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            assert key not in text and API_KEY not in text, row


# ---------------------------------------------------------------------------
# signals and restarts

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_with_status_0(servers, sink_url, sig):
    s = servers.start()
    s.client().create(hook_body(sink_url))
    s.stop(sig)  # asserts exit status 0


def test_data_and_key_survive_restart(servers, sink_url):
    s = servers.start()
    c = s.client()
    wh = c.create(hook_body(sink_url, name="survivor", method="PUT",
                            headers=[{"key": "X-Team", "value": "ops"}],
                            basic_auth={"username": "u", "password": "p"}))
    before = c.fetch(wh["id"])
    s.stop(signal.SIGINT)
    s2 = servers.start(s.db)
    c2 = s2.client(key=s.printed_key)
    assert c2.fetch(wh["id"]) == before
    assert [w["id"] for w in c2.webhooks()] == [wh["id"]]
