"""Logs people can use (docs/configuration.md#logging): one line for every delivery that fails for
good, one for every attempt or test send the address guard refuses, and for a
webhook that keeps failing a line at most once a minute however fast it fails
(then one when it answers again). The optional access log: a line per API
request, to a file or to standard output."""

import itertools
import re
import time

import pytest

from conftest import run_hookd
from receiver import receiver  # noqa: F401  (a fixture)
from test_delivery import act, ingest, make_hook, person, wait_delivery, wait_for

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def lines(server, *words):
    """stderr lines holding every one of words."""
    return [line for line in list(server.stderr_lines) if all(w in line for w in words)]


def failed_line(server, did):
    return lines(server, f"delivery {did} ", "failed for good")


@pytest.mark.store_independent("log lines written by the engine, whatever stores the outcome")
def test_one_line_per_delivery_that_fails_for_good(servers, receiver):
    s = servers.start(args=["--retry-schedule", "50ms", "--max-retries", "1"])
    api = s.client()
    bad = make_hook(api, receiver, "/bad")["id"]
    receiver.script("/bad", [lambda req: 200 if req.is_test else 400])
    cid = person(api)
    aids = ingest(api, [act(cid, f"f-{i}") for i in range(3)])
    entries = [wait_delivery(api, bad, aid, "failed") for aid in aids]
    for e in entries:
        found = wait_for(lambda: failed_line(s, e["id"]), 5, what=lambda: s.stderr_lines)
        assert len(found) == 1, found
        assert f"of webhook {bad} " in found[0] and "after 1 attempt: HTTP 400" in found[0], found

    # a retried one: one line when it is spent, none for the retry before
    flaky = make_hook(api, receiver, "/flaky", activities=["act::c"])["id"]
    receiver.script("/flaky", [lambda req: 200 if req.is_test else 503])
    [aid] = ingest(api, [act(cid, "f-retried", "act::c")])
    e = wait_delivery(api, flaky, aid, "failed", attempts=2)
    [line] = wait_for(lambda: failed_line(s, e["id"]), 5, what=lambda: s.stderr_lines)
    assert "after 2 attempts: HTTP 503" in line, line
    # nothing about the successes of other webhooks, or about test sends
    assert not lines(s, "test send"), s.stderr_lines


@pytest.mark.store_independent("the address guard and the engine's log lines")
def test_guard_refusals_are_logged(servers, receiver):
    s = servers.start(private=False)
    api = s.client()
    r = api.post("/api/v1/webhooks", {"name": "g", "url": receiver.url + "/g",
                                      "activities": ["act::s"]})
    assert r.status_code == 201, r.text
    wid = r.json()["id"]
    [test_line] = wait_for(lambda: lines(s, "test send", wid, "refused"), 5,
                           what=lambda: s.stderr_lines)
    assert "not allowed" in test_line and "127.0.0.1" in test_line, test_line
    [aid] = ingest(api, [act(person(api), "g-1")])
    e = wait_delivery(api, wid, aid, "failed")
    [line] = wait_for(lambda: failed_line(s, e["id"]), 5, what=lambda: s.stderr_lines)
    assert "refused: address 127.0.0.1 is not allowed" in line, line
    assert receiver.requests(tests=True) == []


@pytest.mark.store_independent("the engine's rate limit on its own log lines")
def test_a_webhook_failing_fast_is_logged_once_a_minute(servers, receiver):
    """Hundreds of failed attempts in a second or two: one "keeps failing"
    line, not one per attempt; a success afterwards says so once."""
    s = servers.start(args=["--retry-schedule", "5ms", "--max-retries", "1000"])
    api = s.client()
    wid = make_hook(api, receiver, "/down")["id"]
    receiver.script("/down", [lambda req: 200 if req.is_test else 500])
    cid = person(api)
    ingest(api, [act(cid, f"d-{i}") for i in range(10)])
    receiver.wait_count(300, "/down", timeout=15)
    time.sleep(0.3)  # more failures, stored and seen by the log's limit
    keeps = lines(s, f"webhook {wid} keeps failing")
    assert len(keeps) == 1, keeps
    assert re.search(r"keeps failing: \d+ failed attempts in a row since " + TIME, keeps[0]), keeps
    assert "the last one: HTTP 500" in keeps[0], keeps
    about = lines(s, wid)
    assert len(about) <= 2, about  # the keeps-failing line, and nothing per attempt

    receiver.script("/down", 200)
    [again] = wait_for(lambda: lines(s, f"webhook {wid} answers again"), 10,
                       what=lambda: lines(s, wid))
    n = int(re.search(r"\((\d+) failed attempts since the last line\)", again).group(1))
    assert n > 100, again  # the attempts the limit kept out of the log are counted

    # flapping (three failures, a success, and again): still no more lines
    # within the minute
    turn = itertools.count()
    receiver.script("/down", [lambda req: 200 if req.is_test or next(turn) % 4 == 3 else 500])
    seen = receiver.count("/down")
    ingest(api, [act(cid, f"flap-{i}") for i in range(10)])
    receiver.wait_count(seen + 40, "/down", timeout=15)
    time.sleep(0.2)
    assert len(lines(s, f"webhook {wid} keeps failing")) == 1, lines(s, wid)
    assert len(lines(s, f"webhook {wid} answers again")) == 1, lines(s, wid)


ACCESS_RE = re.compile(rf"^({TIME}) (\S+) ([A-Z]+) (\S+) (\d{{3}}) (\d+) (\d+\.\d{{3}})$")


def access_lines(text):
    out = []
    for line in text.splitlines():
        m = ACCESS_RE.match(line)
        assert m, f"not an access log line: {line!r}"
        out.append(m.groups())
    return out


@pytest.mark.store_independent("written by the API layer")
def test_access_log_to_a_file(servers, tmp_path):
    path = tmp_path / "access.log"
    path.write_text("")  # appended to, not truncated
    s = servers.start(args=["--access-log", str(path)])
    api = s.client()
    r0 = api.get("/api/v1/webhooks?limit=5")
    r1 = api.get("/api/v1/webhooks?limit=5&cursor=secretish")
    r2 = api.get("/api/v1/webhooks/nope", auth=False)
    r3 = api.post("/api/v1/webhooks", {"name": "x"})
    made = [("GET", "/api/v1/webhooks", r0), ("GET", "/api/v1/webhooks", r1),
            ("GET", "/api/v1/webhooks/nope", r2), ("POST", "/api/v1/webhooks", r3)]
    got = wait_for(lambda: (lambda ls: ls if len(ls) >= 5 else None)(
        access_lines(path.read_text())), 5, what=lambda: path.read_text())
    assert got[0][2:5] == ("GET", "/healthz", "200"), got  # the fixture's wait for start
    assert len(got) == 5, got
    for (method, p, r), line in zip(made, got[-4:]):
        _, addr, m, logged_path, status, size, ms = line
        assert (addr, m, logged_path, int(status)) == ("127.0.0.1", method, p, r.status_code)
        assert int(size) == len(r.content), (line, r.content)
        assert 0 <= float(ms) < 5000, line
    assert "secretish" not in path.read_text()  # the query string is never written
    assert [r.status_code for _, _, r in made] == [200, 400, 401, 400]


@pytest.mark.store_independent("written by the API layer")
def test_access_log_to_stdout_and_off_by_default(servers, tmp_path):
    s = servers.start(args=["--access-log", "-"])
    assert s.client().get("/api/v1/webhooks").status_code == 200
    s.stop()
    logged = [line for line in s.stdout_lines if not line.startswith("api key:")]
    got = access_lines("\n".join(logged))
    assert [g[2:5] for g in got][-1] == ("GET", "/api/v1/webhooks", "200"), got

    plain = servers.start(db=tmp_path / "plain.db")
    assert plain.client().get("/api/v1/webhooks").status_code == 200
    plain.stop()
    assert [line for line in plain.stdout_lines if not line.startswith("api key:")] == []
    assert not any("/api/v1/webhooks" in line for line in plain.stderr_lines)


@pytest.mark.store_independent("an option refused before the store is opened")
def test_an_access_log_that_cannot_be_written_is_a_bad_option(tmp_path):
    p = run_hookd(["serve", "--db", str(tmp_path / "h.db"),
                   "--access-log", str(tmp_path / "no-such-dir" / "access.log")], cwd=tmp_path)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "--access-log: cannot open" in p.stderr and p.stderr.count("\n") == 1, p.stderr
    assert not (tmp_path / "h.db").exists()  # refused before anything was made
