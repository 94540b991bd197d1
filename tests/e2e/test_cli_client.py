"""The command line's client commands against a real hookd: `hookd webhooks
…`, `logs`, `retry`, `activities send`, `people import` — their output (text,
tables, --json shapes), exit statuses (0 done, 1 refused with the server's
message, 2 usage error), --help, and the progress of long imports on a
terminal (a pseudo-terminal) and off one.

Most tests check what the command line does with the API's answers, not
what a store backend does, and run on SQLite only (store_independent)."""

import fcntl
import json
import os
import queue
import re
import signal
import socket
import struct
import subprocess
import termios
import threading
import time

import pytest

from conftest import base_env, hookd_bin
from receiver import receiver  # noqa: F401  (a fixture)

CLI_ONLY = pytest.mark.store_independent(
    "the command line's parsing, output and batching; the API calls it makes are tested "
    "against each backend elsewhere")

KEY = "k-0123456789abcdef-admin"


def cli(s, *args, env=None, input=None, key=KEY, timeout=60):
    """Runs `hookd <args>` against server s (HOOKD_URL, HOOKD_KEY); returns
    the CompletedProcess (text)."""
    e = {"HOOKD_URL": s.url if s else "http://127.0.0.1:9", "HOOKD_KEY": key}
    if key is None:
        del e["HOOKD_KEY"]
    e.update(env or {})
    return subprocess.run([hookd_bin(), *args], env=base_env(e), input=input,
                          stdin=None if input is not None else subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def ok(p):
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    return p


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def run_in_pty(argv, env, stdout=None, timeout=60):
    """Runs argv with stderr (and stdout unless given) on a pseudo-terminal
    of 120 columns; returns (status, everything the terminal received)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                         stdout=stdout if stdout is not None else slave, stderr=slave)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return p.wait(timeout=10), out.decode("utf-8", "replace")


@pytest.fixture
def hookd(servers):
    return servers.start(api_key=KEY)


def make_webhook(s, url, **kw):
    body = {"name": "hook", "url": url}
    body.update(kw)
    r = s.client().post("/api/v1/webhooks", body)
    assert r.status_code == 201, r.text
    return r.json()


# ---------------------------------------------------------------------------
# help and usage errors (no server needed)

COMMANDS = ["webhooks list", "webhooks show", "webhooks create", "webhooks edit",
            "webhooks delete", "webhooks connect", "webhooks disconnect", "webhooks test",
            "logs", "retry", "activities send", "people import"]


@CLI_ONLY
def test_help_of_every_command_exits_0():
    top = ok(cli(None, "--help")).stdout
    for name in COMMANDS:
        assert f"hookd {name}" in top, f"hookd --help does not list {name}: {top}"
        p = ok(cli(None, *name.split(), "--help", key=None))
        assert p.stdout.startswith(f"usage: hookd {name}"), p.stdout
        assert "--url URL" in p.stdout and "--json" in p.stdout and p.stderr == ""
    for group, subs in [("webhooks", 8), ("activities", 1), ("people", 1)]:
        p = ok(cli(None, group, "--help", key=None))
        assert p.stdout.count(f"\n  hookd {group} ") == subs, p.stdout
    # a command's own options are in its help
    assert "--on-error stop|continue" in ok(cli(None, "people", "import", "--help")).stdout
    assert "--follow" in ok(cli(None, "logs", "--help")).stdout


USAGE_ERRORS = [
    (["webhooks"], "a command is needed"),
    (["webhooks", "frobnicate"], "unknown command 'frobnicate'"),
    (["webhooks", "list", "--bogus"], "unknown option '--bogus'"),
    (["webhooks", "show"], "ID: argument missing"),
    (["webhooks", "show", "a", "b"], "unexpected argument 'b'"),
    (["retry", "w"], "WEBHOOK DELIVERY: argument missing"),
    (["logs", "w", "--limit", "many"], "--limit must be a number"),
    (["logs", "w", "--state"], "--state needs a value"),
    (["logs", "w", "--interval", "1.5s"], "--interval must be a duration"),
    (["webhooks", "create", "--max-in-flight", "lots"], "--max-in-flight must be a whole number"),
    (["webhooks", "create", "--send-activity", "maybe"], "--send-activity must be true or false"),
    (["webhooks", "create", "--header", "no-colon"], "expected 'Name: value'"),
    (["webhooks", "edit", "x"], "nothing to change"),
    (["webhooks", "list", "--json=yes"], "--json takes no value"),
    (["people", "import", "f.csv", "--on-error", "skip"], "--on-error must be stop or continue"),
    (["people", "import", "/no/such/file.csv"], "cannot read '/no/such/file.csv'"),
    (["webhooks", "list", "--url", "ftp://x"], "--url must start with http:// or https://"),
    (["webhooks", "list", "--key", "a", "--key-file", "b"], "give --key or --key-file"),
]


@CLI_ONLY
@pytest.mark.parametrize("argv,says", USAGE_ERRORS, ids=lambda v: " ".join(v) if
                         isinstance(v, list) else None)
def test_usage_error_exits_2_and_says_what(tmp_path, argv, says):
    p = cli(None, *argv)
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert says in p.stderr, p.stderr
    assert p.stdout == ""


@CLI_ONLY
def test_no_key_is_a_usage_error():
    p = cli(None, "webhooks", "list", key=None)
    assert p.returncode == 2 and "an API key is needed" in p.stderr, p.stderr


# ---------------------------------------------------------------------------
# webhooks

@CLI_ONLY
def test_webhooks_create_show_list_edit_connect_test_delete(hookd, receiver, tmp_path):
    api = hookd.client()
    # flags: --url is the webhook's; the server comes from HOOKD_URL
    p = ok(cli(hookd, "webhooks", "create", "--name", "orders", "--url", receiver.url + "/h",
               "--activity", "act::s", "--activity", "act::c", "--header", "X-Team: ops",
               "--field", "str::first", "--rename", "contact_id=id", "--max-in-flight", "4"))
    assert re.search(r"^name: +orders$", p.stdout, re.M), p.stdout
    assert re.search(r"^test: ok, HTTP 200(, \d+ ms)?$", p.stdout, re.M), p.stdout
    assert re.search(r"^fields: +str::first=first_name$", p.stdout, re.M), p.stdout
    assert re.search(r"^keys: +contact_id=id, email=email, ", p.stdout, re.M), p.stdout
    wid = re.search(r"^id: +(\S+)$", p.stdout, re.M).group(1)
    stored = api.fetch(wid)
    assert stored["activities"] == ["act::s", "act::c"]
    assert stored["headers"] == [{"key": "X-Team", "value": "ops"}]
    assert stored["fields"] == [{"field_id": "str::first", "key": "first_name"}]
    assert stored["keys"]["contact_id"] == "id" and stored["max_in_flight"] == 4

    # --json-body from a file and from stdin; --json prints the API's answer
    (tmp_path / "b.json").write_text(json.dumps({"name": "from-file", "url": receiver.url + "/f",
                                                 "method": "PUT"}))
    made = json.loads(ok(cli(hookd, "webhooks", "create", "--json-body", str(tmp_path / "b.json"),
                             "--name", "over", "--json")).stdout)
    assert made["name"] == "over" and made["method"] == "PUT" and made["test"]["ok"] is True
    assert set(made) >= {"id", "secret", "created_at", "updated_at", "test"}
    piped = json.loads(ok(cli(hookd, "webhooks", "create", "--json-body", "-", "--json",
                              input=json.dumps({"name": "piped", "url": receiver.url})))
                       .stdout)
    assert api.fetch(piped["id"])["name"] == "piped"

    # show --json is the API's webhook
    assert json.loads(ok(cli(hookd, "webhooks", "show", wid, "--json")).stdout) == api.fetch(wid)

    # list: tab-separated off a terminal, header first; --json: every webhook
    rows = [line.split("\t") for line in ok(cli(hookd, "webhooks", "list")).stdout.splitlines()]
    assert rows[0] == ["ID", "NAME", "STATE", "METHOD", "URL", "OK 24H", "FAILED 24H",
                       "PENDING"]
    assert sorted(r[0] for r in rows[1:]) == sorted([wid, made["id"], piped["id"]])
    assert [r[1:5] for r in rows[1:] if r[0] == wid] == [["orders", "connected", "POST",
                                                         receiver.url + "/h"]]
    listed = json.loads(ok(cli(hookd, "webhooks", "list", "--json")).stdout)
    assert set(listed) == {"webhooks", "next_cursor"} and listed["next_cursor"] is None
    assert listed["webhooks"] == api.webhooks()

    # edit changes only what is given
    ok(cli(hookd, "webhooks", "edit", wid, "--rate-limit", "2.5", "--activity", "*"))
    after = api.fetch(wid)
    assert after["rate_limit"] == 2.5 and after["activities"] == ["*"]
    assert after["headers"] == stored["headers"] and after["name"] == "orders"

    # disconnect / connect
    assert ok(cli(hookd, "webhooks", "disconnect", wid)).stdout == f"disconnected {wid} (orders)\n"
    assert api.fetch(wid)["connected"] is False
    assert json.loads(ok(cli(hookd, "webhooks", "connect", wid, "--json")).stdout)["connected"]
    assert api.fetch(wid)["connected"] is True

    # test: 0 when it went well, 1 when the endpoint failed
    before = receiver.count("/h", tests="only")
    assert ok(cli(hookd, "webhooks", "test", wid)).stdout.startswith("test: ok, HTTP 200")
    assert receiver.count("/h", tests="only") == before + 1
    receiver.script("/h", ("status", 500, b"no", {}))
    p = cli(hookd, "webhooks", "test", wid, "--json")
    assert p.returncode == 1 and json.loads(p.stdout)["status_code"] == 500

    # delete
    assert ok(cli(hookd, "webhooks", "delete", wid)).stdout == f"deleted {wid}\n"
    assert api.get(f"/api/v1/webhooks/{wid}").status_code == 404


@CLI_ONLY
def test_refused_request_exits_1_with_the_servers_message(hookd, receiver):
    api = hookd.client()
    body = {"name": "x", "url": receiver.url, "activities": ["act::no-such"]}
    expected = api.post("/api/v1/webhooks", body).json()["error"]["message"]
    p = cli(hookd, "webhooks", "create", "--name", "x", "--url", receiver.url,
            "--activity", "act::no-such")
    assert p.returncode == 1 and expected in p.stderr and "HTTP 400" in p.stderr, p.stderr
    p = cli(hookd, "webhooks", "show", "01a22939-0000-7000-8000-000000000000")
    assert p.returncode == 1 and "not found" in p.stderr and "HTTP 404" in p.stderr
    p = cli(hookd, "webhooks", "list", key="k-wrong-wrong-wrong-wrong")
    assert p.returncode == 1 and "HTTP 401" in p.stderr, p.stderr
    assert api.webhooks() == []


@CLI_ONLY
def test_unreachable_server_exits_1(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        p = cli(None, "webhooks", "list", env={"HOOKD_URL": f"http://127.0.0.1:{port}"})
    assert p.returncode == 1 and "cannot reach the server" in p.stderr, p.stderr


@CLI_ONLY
def test_key_from_a_file_and_server_flag(hookd, tmp_path):
    (tmp_path / "key").write_text(KEY + "\n")
    p = cli(None, "webhooks", "list", "--json", "--key-file", str(tmp_path / "key"),
            "--url", hookd.url, key=None)
    assert json.loads(ok(p).stdout) == {"webhooks": [], "next_cursor": None}
    # hookd keys takes the same names (beside its --api-key, HOOKD_API_KEY)
    assert ok(cli(hookd, "keys", "list")).stdout.startswith("ID")  # HOOKD_KEY
    for args in (["--key", KEY], [f"--key={KEY}"], ["--key-file", str(tmp_path / "key")],
                 ["--api-key", KEY]):
        assert ok(cli(hookd, "keys", "list", *args, key=None)).stdout.startswith("ID"), args
    p = cli(hookd, "keys", "list", env={"HOOKD_KEY_FILE": str(tmp_path / "key")}, key=None)
    assert ok(p).stdout.startswith("ID")
    p = cli(hookd, "keys", "list", key="k-wrong-wrong-wrong-wrong",
            env={"HOOKD_API_KEY": KEY})  # HOOKD_KEY comes first
    assert p.returncode == 1 and "HTTP 401" in p.stderr, p.stderr


# ---------------------------------------------------------------------------
# logs and retry


def person(api, email):
    r = api.post("/api/v1/people/merge", {"people": [{"fields": {"str::email": email}}]})
    assert r.status_code == 200, r.text
    return r.json()["people"][0]["contact_id"]


def send(api, cid, n, start=0):
    acts = [{"id": f"a{start + i}", "field_id": "act::s", "contact": {"contact_id": cid}}
            for i in range(n)]
    r = api.post("/api/v1/activities", {"activities": acts})
    assert r.status_code == 202, r.text


@CLI_ONLY
def test_logs_and_retry(servers, receiver):
    s = servers.start(api_key=KEY, args=["--retry-schedule", "1h", "--max-retries", "0"])
    api = s.client()
    wh = make_webhook(s, receiver.url + "/l", activities=["act::s"])
    receiver.script("/l", [("status", 500, b"down", {}), 200])
    cid = person(api, "l@x.io")
    send(api, cid, 2)
    receiver.wait_count(2, "/l")
    wid = wh["id"]
    logs = api.get(f"/api/v1/webhooks/{wid}/logs").json()
    deadline = time.monotonic() + 10
    while any(e["state"] in ("pending", "retrying") for e in logs["entries"]):
        assert time.monotonic() < deadline, logs
        time.sleep(0.05)
        logs = api.get(f"/api/v1/webhooks/{wid}/logs").json()

    # --json is the API's page; the table holds the same deliveries
    assert json.loads(ok(cli(s, "logs", wid, "--json")).stdout) == logs
    rows = [r.split("\t") for r in ok(cli(s, "logs", wid)).stdout.splitlines()]
    assert rows[0][:5] == ["CREATED", "DELIVERY", "KIND", "ACTIVITY", "STATE"]
    assert [r[1] for r in rows[1:]] == [e["id"] for e in logs["entries"]]
    failed = [e for e in logs["entries"] if e["state"] == "failed"]
    assert len(failed) == 1 and failed[0]["status_code"] == 500
    only = json.loads(ok(cli(s, "logs", wid, "--state", "failed", "--json")).stdout)
    assert [e["id"] for e in only["entries"]] == [failed[0]["id"]]
    # --limit pages: one entry, with the cursor to the rest
    one = json.loads(ok(cli(s, "logs", wid, "--limit", "1", "--json")).stdout)
    assert len(one["entries"]) == 1 and one["next_cursor"]

    # retry the failed one: it goes out again and succeeds
    p = ok(cli(s, "retry", wid, failed[0]["id"]))
    assert p.stdout.startswith(f"retrying {failed[0]['id']}: "), p.stdout
    receiver.wait_count(3, "/l")
    # a succeeded delivery is refused: 1 and the server's message
    done = [e for e in logs["entries"] if e["state"] == "succeeded"][0]
    p = cli(s, "retry", wid, done["id"])
    assert p.returncode == 1 and "HTTP 409" in p.stderr, p.stderr


@CLI_ONLY
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_logs_follow_prints_each_delivery_once_until_a_signal(hookd, receiver, sig):
    api = hookd.client()
    wh = make_webhook(hookd, receiver.url + "/f", activities=["act::s"])
    cid = person(api, "f@x.io")
    send(api, cid, 3)
    env = base_env({"HOOKD_URL": hookd.url, "HOOKD_KEY": KEY})
    p = subprocess.Popen([hookd_bin(), "logs", wh["id"], "--follow", "--json", "--interval",
                          "100ms"], env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in p.stdout], daemon=True).start()

    def next_entry():
        try:
            return json.loads(lines.get(timeout=10))
        except queue.Empty:
            raise AssertionError("hookd logs --follow printed nothing more within 10 s")

    try:
        seen = [next_entry() for _ in range(4)]  # 3 and the test send
        send(api, cid, 5, start=3)
        seen += [next_entry() for _ in range(5)]
        # later changes of state print nothing more (each delivery once)
        receiver.wait_count(8, "/f")
        time.sleep(0.4)
    finally:
        p.send_signal(sig)
        rest, err = p.communicate(timeout=10)
    assert p.returncode == 0, err
    assert lines.empty() and rest == ""
    ids = [e["id"] for e in seen]
    assert len(set(ids)) == 9
    activity_ids = [e["activity_id"] for e in seen if e["kind"] == "activity"]
    assert sorted(activity_ids) == sorted(f"a{i}" for i in range(8))
    assert activity_ids[3:] == [f"a{i}" for i in range(3, 8)]  # oldest first


# ---------------------------------------------------------------------------
# activities send


@CLI_ONLY
def test_activities_send_json_lines_makes_deliveries(hookd, receiver, tmp_path):
    api = hookd.client()
    make_webhook(hookd, receiver.url + "/a", activities=["act::s"])
    cid = person(api, "a@x.io")
    n = 2001  # three batches
    lines = [json.dumps({"id": f"act-{i}", "field_id": "act::s",
                         "contact": {"contact_id": cid}}) for i in range(n)]
    lines.insert(5, "")  # a blank line counts as a line and sends nothing
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n")
    p = ok(cli(hookd, "activities", "send", str(tmp_path / "a.jsonl"), "--json"))
    out = json_lines(p.stdout)
    assert [o["line"] for o in out] == [i for i in range(1, n + 2) if i != 6]
    assert [o["id"] for o in out] == [f"act-{i}" for i in range(n)]
    assert not any(o["duplicate"] for o in out)
    assert f"{n} sent (0 duplicates), 0 failed" in p.stderr, p.stderr
    receiver.wait(lambda r: len(r.activity_ids()) >= n, timeout=20)
    assert receiver.activity_ids() == {f"act-{i}" for i in range(n)}
    # again from stdin: every one a duplicate, nothing sent twice
    p = ok(cli(hookd, "activities", "send", "-", input="\n".join(lines[:10]) + "\n"))
    assert "9 sent (9 duplicates), 0 failed" in p.stderr, p.stderr


@CLI_ONLY
def test_activities_send_bad_row_stops_or_continues(hookd, tmp_path):
    api = hookd.client()
    cid = person(api, "b@x.io")
    rows = [json.dumps({"id": f"b{i}", "field_id": "act::s", "contact": {"contact_id": cid}})
            for i in range(30)]
    rows[11] = json.dumps({"id": "b11", "field_id": "act::s", "contact": {"contact_id": cid},
                           "attr": {"int:cm:score": 1.5}})
    rows[20] = "{not json"
    f = tmp_path / "b.jsonl"
    f.write_text("\n".join(rows) + "\n")
    expected = api.post("/api/v1/activities", {"activities": [json.loads(rows[11])]}).json()
    msg = expected["error"]["message"].replace("activities[0].", "")

    p = cli(hookd, "activities", "send", str(f), "--json")  # --on-error stop
    assert p.returncode == 1
    assert f"line 12: {msg}" in p.stderr, p.stderr
    assert "stopped at line 12" in p.stderr
    out = json_lines(p.stdout)
    assert sorted(o["line"] for o in out) == list(range(1, 13))  # 11 sent, and the bad one
    assert [o["error"]["code"] for o in out if "error" in o] == ["invalid"]

    p = cli(hookd, "activities", "send", str(f), "--on-error", "continue", "--json")
    assert p.returncode == 1
    assert f"line 12: {msg}" in p.stderr and "line 21: not JSON" in p.stderr, p.stderr
    out = json_lines(p.stdout)
    took = [o for o in out if "error" not in o]
    assert sorted(o["line"] for o in took) == [i for i in range(1, 31) if i not in (12, 21)]
    assert sum(o["duplicate"] for o in took) == 11  # the first run sent lines 1-11
    assert "28 sent (11 duplicates), 2 failed" in p.stderr, p.stderr


# ---------------------------------------------------------------------------
# people import


def fetch_all(url, key, paths, conns=8, depth=100):
    """GET every path over a few keep-alive connections, pipelined; the
    answers' bodies (parsed) in order. The checker of bulk results: one
    request per person, without a client library's cost per call."""
    host, port = url.split("//")[1].split(":")
    out = [None] * len(paths)

    def work(k):
        s = socket.create_connection((host, int(port)), timeout=30)
        mine = list(range(k, len(paths), conns))
        buf = b""
        for j in range(0, len(mine), depth):
            chunk = mine[j:j + depth]
            s.sendall(b"".join(
                f"GET {paths[i]} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\r\n"
                .encode() for i in chunk))
            got = 0
            while got < len(chunk):
                end = buf.find(b"\r\n\r\n")
                if end >= 0:
                    head = buf[:end].decode("latin-1").lower()
                    status = int(head.split(" ", 2)[1])
                    n = int(re.search(r"content-length: *(\d+)", head).group(1))
                    if len(buf) >= end + 4 + n:
                        body = buf[end + 4:end + 4 + n]
                        out[chunk[got]] = (status, json.loads(body))
                        buf = buf[end + 4 + n:]
                        got += 1
                        continue
                data = s.recv(1 << 20)
                assert data, "the server closed a connection"
                buf += data
        s.close()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


@CLI_ONLY
def test_people_import_100000_rows_person_by_person_with_a_progress_bar(hookd, tmp_path):
    # The sanitizer pass (make SAN=1 test) checks memory over 20,000 rows;
    # the plain pass imports and checks all 100,000.
    n = 20_000 if os.environ.get("HOOKD_TEST_SANITIZED") == "1" else 100_000
    f = tmp_path / "people.csv"
    with open(f, "w") as out:
        out.write("str::email,str::first,str::last,bol::gdpr,str:o:name\n")
        for i in range(n):
            # quoted cells with commas, quotes and a line break now and then
            last = f'"Smith, ""{i}"""' if i % 7 else f'"Line\nBreak {i}"'
            out.write(f"p{i}@example.com,First{i},{last},{'true' if i % 2 else 'false'},"
                      f"Acme {i % 100}\n")
    t0 = time.monotonic()
    with open(tmp_path / "out.jsonl", "w") as stdout:
        env = base_env({"HOOKD_URL": hookd.url, "HOOKD_KEY": KEY})
        status, term = run_in_pty([hookd_bin(), "people", "import", str(f), "--json"], env,
                                  stdout=stdout)
    took = time.monotonic() - t0
    assert status == 0, term
    # the bar: redrawn in place with count, rate and ETA, then the summary
    bars = [b for b in term.split("\r") if b.startswith("[")]
    assert len(bars) >= 2, term
    assert re.match(r"\[[#-]{30}\] +\d+%  \d+ rows  \d+ rows/s  ETA \d", bars[0]), bars[0]
    assert re.match(rf"\[#{{30}}\] 100%  {n} rows", bars[-1]), bars[-1]
    assert f"{n} sent ({n} created, 0 updated), 0 failed" in term, term

    answers = json_lines((tmp_path / "out.jsonl").read_text())
    assert len(answers) == n
    assert all(a["status"] == "created" for a in answers)
    # each person's first line: the header is line 1; every 7th row's cell
    # holds a line break, so the rows after it start a line later
    lines, line = [], 2
    for i in range(n):
        lines.append(line)
        line += 1 if i % 7 else 2
    assert [a["line"] for a in answers] == lines

    t1 = time.monotonic()
    people = fetch_all(hookd.url, KEY, [f"/api/v1/people/{a['contact_id']}" for a in answers])
    accounts = {p[1]["account_id"] for p in people}
    got_accounts = fetch_all(hookd.url, KEY, [f"/api/v1/accounts/{a}" for a in sorted(accounts)],
                             conns=1)
    checked = time.monotonic() - t1
    for i, (status, p) in enumerate(people):
        assert status == 200, p
        assert p["contact_id"] == answers[i]["contact_id"]
        last = f'Smith, "{i}"' if i % 7 else f"Line\nBreak {i}"
        assert p["fields"] == {"str::email": f"p{i}@example.com", "str::first": f"First{i}",
                               "str::last": last, "bol::gdpr": bool(i % 2)}, p
    assert sorted(a[1]["fields"]["str:o:name"] for a in got_accounts) == \
        sorted(f"Acme {k}" for k in range(100))
    print(f"\n{n:,}-row import: {took:.1f} s; checking every person: {checked:.1f} s")


@CLI_ONLY
def test_people_import_progress_lines_without_a_terminal(hookd, tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("str::email,str::first\n" +
                 "".join(f"q{i}@x.io,Q{i}\n" for i in range(15_000)))
    p = ok(cli(hookd, "people", "import", str(f), "--progress-interval", "10ms"))
    lines = p.stderr.splitlines()
    progress = [x for x in lines if re.fullmatch(
        r"hookd people import: \d+ rows, \d+ rows/s, \d+%, ETA \S+", x)]
    assert progress, p.stderr
    assert "\r" not in p.stderr and "\033" not in p.stderr
    assert lines[-1].startswith("hookd people import: 15000 sent (15000 created, 0 updated), "
                                "0 failed, in ")
    # --quiet: the summary only
    p = ok(cli(hookd, "people", "import", str(f), "--progress-interval", "10ms", "--quiet"))
    assert p.stderr.splitlines() == [x for x in p.stderr.splitlines() if " sent (" in x]
    assert "0 created, 15000 updated" in p.stderr


@CLI_ONLY
def test_people_import_on_error_continue_reports_the_bad_rows_line(hookd, tmp_path):
    api = hookd.client()
    rows = [f"c{i}@x.io,C{i},{i}" for i in range(2500)]
    rows[1499] = "c1499@x.io,C1499,12.5"  # int: a fraction is refused by the server
    rows[2000] = "c2000@x.io,C2000"  # a cell short
    f = tmp_path / "c.csv"
    f.write_text("str::email,str::first,int:o:employees\n" + "\n".join(rows) + "\n")
    r = api.post("/api/v1/fields", {"name": "n", "type": "int", "object": "person"})
    assert r.status_code == 201 and r.json()["id"] == "int:cm:n", r.text
    f.write_text("str::email,str::first,int:cm:n\n" + "\n".join(rows) + "\n")
    p = cli(hookd, "people", "import", str(f), "--on-error", "continue", "--json")
    assert p.returncode == 1
    err = p.stderr.splitlines()
    assert "hookd people import: line 1501: fields.int:cm:n must be an integer: decimals " \
           "travel as the value × 1000 (12.5 is 12500) (HTTP 400 invalid)" in err, err
    assert "hookd people import: line 2002: 2 cells where the header has 3" in err, err
    assert "2498 sent (2498 created, 0 updated), 2 failed" in p.stderr
    out = json_lines(p.stdout)
    took = {o["line"]: o for o in out if "error" not in o}
    assert sorted(took) == [i for i in range(2, 2502) if i not in (1501, 2002)]
    assert [o["line"] for o in out if "error" in o] == [1501, 2002]
    # the rows around the bad one are stored, the bad one is not
    for line in (1500, 1502, 2001, 2003):
        got = api.get(f"/api/v1/people/{took[line]['contact_id']}").json()
        assert got["fields"]["str::email"] == f"c{line - 2}@x.io"
    r = api.post("/api/v1/people/merge", {"people": [{"fields": {"str::email": "c1499@x.io"}}]})
    assert r.json()["people"][0]["status"] == "created"

    # stop (the default): the rows before it go, none after
    f.write_text("str::email\n" + "\n".join(f"s{i}@x.io" for i in range(10)) +
                 "\nu@x.io,extra\n" + "\n".join(f"t{i}@x.io" for i in range(10)) + "\n")
    p = cli(hookd, "people", "import", str(f), "--json")
    assert p.returncode == 1 and "stopped at line 12" in p.stderr, p.stderr
    assert [o["line"] for o in json_lines(p.stdout) if "error" not in o] == list(range(2, 12))


@CLI_ONLY
def test_people_import_json_lines(hookd, tmp_path):
    api = hookd.client()
    f = tmp_path / "p.jsonl"
    f.write_text(json.dumps({"fields": {"str::email": "j1@x.io", "str::first": "J"},
                             "account": {"fields": {"str:o:name": "Jay Co"}}}) + "\n" +
                 json.dumps({"str::email": "j2@x.io", "str:o:name": "Jay Co",
                             "int:o:employees": 12}) + "\n")
    p = ok(cli(hookd, "people", "import", str(f), "--json", "--merge-by", "str::email"))
    a, b = json_lines(p.stdout)
    pa = api.get(f"/api/v1/people/{a['contact_id']}").json()
    pb = api.get(f"/api/v1/people/{b['contact_id']}").json()
    assert pa["fields"] == {"str::email": "j1@x.io", "str::first": "J"}
    assert pb["fields"] == {"str::email": "j2@x.io"}
    assert pa["account_id"] == pb["account_id"]
    acc = api.get(f"/api/v1/accounts/{pa['account_id']}").json()
    assert acc["fields"] == {"str:o:name": "Jay Co", "int:o:employees": 12}


@CLI_ONLY
def test_list_is_an_aligned_table_on_a_terminal(hookd, receiver):
    make_webhook(hookd, receiver.url + "/" + "x" * 200, name="wide")
    env = base_env({"HOOKD_URL": hookd.url, "HOOKD_KEY": KEY})
    status, out = run_in_pty([hookd_bin(), "webhooks", "list"], env)
    assert status == 0, out
    head, row = out.replace("\r\n", "\n").splitlines()[:2]
    assert "\t" not in out
    assert head.index("NAME") == row.index("wide")
    assert len(row) <= 120 and "…" in row  # the long URL is cut to the width


@CLI_ONLY
def test_people_import_with_an_ingest_key(hookd, tmp_path):
    # an ingest key may not read /api/v1/fields: the columns' types come
    # from the field ids themselves, and the server judges each row
    api = hookd.client()
    r = api.post("/api/v1/keys", {"name": "loader", "scope": "ingest"})
    assert r.status_code == 201, r.text
    ingest = r.json()["key"]
    f = tmp_path / "i.csv"
    f.write_text("\ufeffstr::email,int:o:employees,str:o:name,bol::p\n"
                 "i1@x.io,40,Ingest Co,yes\n")
    p = ok(cli(hookd, "people", "import", str(f), "--json", key=ingest))
    (row,) = json_lines(p.stdout)
    got = api.get(f"/api/v1/people/{row['contact_id']}").json()
    assert got["fields"] == {"str::email": "i1@x.io", "bol::p": True}
    acc = api.get(f"/api/v1/accounts/{got['account_id']}").json()
    assert acc["fields"] == {"str:o:name": "Ingest Co", "int:o:employees": 40}
    # a column that is no field id at all is refused before anything is sent
    f.write_text("str::email,nonsense\ni2@x.io,1\n")
    p = cli(hookd, "people", "import", str(f), key=ingest)
    assert p.returncode == 1 and "line 1, column 2: 'nonsense' is not a field id" in p.stderr
    # and the key still cannot do more than ingest
    p = cli(hookd, "webhooks", "list", key=ingest)
    assert p.returncode == 1 and "HTTP 403" in p.stderr, p.stderr


@CLI_ONLY
def test_activities_send_splits_a_batch_refused_as_a_whole(servers, receiver, tmp_path):
    # 25 activities for one webhook make 25 deliveries, past a cap of 10 per
    # request: the API refuses the batch naming no row, so it goes in halves
    s = servers.start(api_key=KEY, args=["--max-deliveries-per-request", "10"])
    api = s.client()
    make_webhook(s, receiver.url + "/cap", activities=["act::s"])
    cid = person(api, "cap@x.io")
    f = tmp_path / "cap.jsonl"
    f.write_text("".join(json.dumps({"id": f"cap{i}", "field_id": "act::s",
                                     "contact": {"contact_id": cid}}) + "\n" for i in range(25)))
    p = ok(cli(s, "activities", "send", str(f), "--json"))
    assert sorted(o["line"] for o in json_lines(p.stdout)) == list(range(1, 26))
    assert "25 sent (0 duplicates), 0 failed" in p.stderr, p.stderr
    receiver.wait(lambda r: len(r.activity_ids()) >= 25)
    assert receiver.activity_ids() == {f"cap{i}" for i in range(25)}
