"""docs/receiving.md's receivers, run as a reader would run them: the Node
one (the `standardwebhooks` npm package, node_modules/ from `npm ci`) and the
standard-library Python one are taken from the Markdown as written, started,
and given real deliveries from hookd, signed with the webhook's secret. Each
must accept the test payload, a delivery and a resend (told apart as a
duplicate by its webhook-id), and refuse the same request with its body
changed and hookd's requests signed with another secret. docs/payload.md's
decoder of the GET/DELETE query form is run, as written, on a real GET
delivery."""

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from receiver import receiver  # noqa: F401  (a fixture)

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "receiving.md"
WAIT_S = 10

pytestmark = pytest.mark.store_independent(
    "runs the receivers of a doc against deliveries; nothing the store's backend does")


def doc_snippet(first_line):
    """The fenced code block of docs/receiving.md whose first line starts
    with first_line."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", DOC.read_text(), re.S | re.M)
    found = [b for b in blocks if b.startswith(first_line)]
    assert len(found) == 1, f"docs/receiving.md: one block starting {first_line!r}, got {len(found)}"
    return found[0]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Snippet:
    """A receiver of the doc running as its own process; its stdout lines are
    collected as they come."""

    def __init__(self, argv, cwd, secret):
        self.port = free_port()
        env = dict(os.environ, WEBHOOK_SECRET=secret, PORT=str(self.port))
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self._cond = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()
        deadline = time.time() + WAIT_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                assert self.proc.poll() is None, f"the receiver exited: {self.proc.stderr.read()}"
                assert time.time() < deadline, "the receiver never listened"
                time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}/hooks"

    def _pump(self):
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_line(self, prefix):
        """The first stdout line starting with prefix, waiting for it."""
        with self._cond:
            ok = self._cond.wait_for(lambda: any(x.startswith(prefix) for x in self.lines),
                                     WAIT_S)
            assert ok, f"no line {prefix!r} from the receiver: {self.lines}"
            return next(x for x in self.lines if x.startswith(prefix))

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def wait_entry(api, wid, did, state):
    deadline = time.time() + WAIT_S
    while True:
        e = api.get(f"/api/v1/webhooks/{wid}/logs/{did}").json()
        if e.get("state") == state:
            return e
        assert time.time() < deadline, f"delivery not {state}: {e}"
        time.sleep(0.05)


def secret_of():
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def check_receiver(servers, snippet_argv, cwd):
    """hookd delivers to the doc's receiver; it takes what is signed with
    its secret and refuses the rest."""
    secret = secret_of()
    rx = Snippet(snippet_argv, cwd, secret)
    try:
        api = servers.start().client()
        # The test payload on create, signed with the chosen secret: accepted.
        wh = api.create({"name": "docs", "url": rx.url, "secret": secret,
                         "activities": ["act::s"]})
        assert wh["test"] == {"ok": True, "status_code": 204, "error": None}, wh["test"]
        rx.wait_line("test payload ")
        wid = wh["id"]

        # A delivery: accepted and printed with its payload.
        r = api.post("/api/v1/activities", {"activities": [{
            "id": "docs-1", "field_id": "act::s",
            "contact": {"fields": {"str::email": "ann@example.com"}},
            "attr": {"str::s": "Welcome!"}}]})
        assert r.status_code == 202, r.text
        [entry] = [e for e in api.get(f"/api/v1/webhooks/{wid}/logs").json()["entries"]
                   if e["kind"] == "activity"]
        did = entry["id"]
        entry = wait_entry(api, wid, did, "succeeded")
        assert entry["status_code"] == 204, entry
        line = rx.wait_line(f"received {did} ")
        assert json.loads(line.split(" ", 2)[2])["activity"]["id"] == "docs-1", line

        # The same request with its body changed (same headers): refused.
        sent = entry["request"]
        headers = {k: sent["headers"][k] for k in
                   ("webhook-id", "webhook-timestamp", "webhook-signature")}
        headers["Content-Type"] = "application/json"
        tampered = sent["body"].replace("Welcome!", "Welcome?")
        assert tampered != sent["body"]
        r = requests.post(rx.url, data=tampered.encode(), headers=headers, timeout=WAIT_S)
        assert r.status_code == 401, (r.status_code, r.text)
        # ... and the request exactly as hookd sent it is accepted again.
        r = requests.post(rx.url, data=sent["body"].encode(), headers=headers, timeout=WAIT_S)
        assert r.status_code == 204, (r.status_code, r.text)

        # A resend carries the same webhook-id: the receiver sees a duplicate.
        r = api.post(f"/api/v1/webhooks/{wid}/logs/{did}/resend")
        assert r.status_code == 202, r.text
        assert r.json()["request"]["headers"]["webhook-id"] == did
        wait_entry(api, wid, r.json()["id"], "succeeded")
        rx.wait_line(f"duplicate {did}")

        # hookd's requests signed with another secret: refused.
        other = api.create({"name": "other", "url": rx.url, "secret": secret_of()})
        assert other["test"]["ok"] is False and other["test"]["status_code"] == 401, other
        assert not [x for x in rx.lines if x.startswith("received ") and did not in x], rx.lines
    finally:
        rx.stop()


def test_node_receiver_of_the_doc(servers, tmp_path):
    node = shutil.which("node")
    assert node, "node is needed (bash scripts/deps.sh installs it)"
    assert (ROOT / "node_modules" / "standardwebhooks").is_dir(), \
        "node_modules/standardwebhooks is missing: run `npm ci` at the repository root"
    (tmp_path / "receiver.mjs").write_text(doc_snippet("// receiver.mjs"))
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    check_receiver(servers, [node, "receiver.mjs"], tmp_path)


def test_stdlib_python_receiver_of_the_doc(servers, tmp_path):
    (tmp_path / "receiver.py").write_text(doc_snippet("# receiver.py"))
    check_receiver(servers, ["/usr/bin/python3", "receiver.py"], tmp_path)


def test_payload_doc_decodes_a_get_delivery(servers, receiver):  # noqa: F811 (a fixture)
    """docs/payload.md's decoder, run on the query of a real GET delivery,
    gives back the payload the doc describes."""
    doc = (ROOT / "docs" / "payload.md").read_text()
    [code] = [b for b in re.findall(r"^```python\n(.*?)^```", doc, re.S | re.M)
              if "def payload_from_query" in b]
    scope = {}
    exec(code, scope)  # the doc's function, as written
    api = servers.start().client()
    wh = api.create({"name": "get", "url": receiver.url + "/g?src=hookd", "method": "GET",
                     "fields": [{"field_id": "str::first"}, {"field_id": "phn::phone"}],
                     "activities": ["act::c"]})
    r = api.post("/api/v1/people/merge", {"people": [{"fields": {
        "str::email": "ann@example.com", "str::first": "Ann Lee",
        "phn::phone": {"c": "61", "n": "401234567"}}}]})
    assert r.status_code == 200, r.text
    contact_id = r.json()["people"][0]["contact_id"]
    r = api.post("/api/v1/activities", {"activities": [{
        "id": "docs-get", "field_id": "act::c",
        "contact": {"fields": {"str::email": "ann@example.com"}},
        "attr": {"str::s": "Hi & welcome", "sst:cm:tags": ["a", "b"], "int:cm:score": 12500}}]})
    assert r.status_code == 202, r.text
    [req] = receiver.wait_count(1, path="/g")
    assert req.method == "GET" and req.body == b""
    got = scope["payload_from_query"](req.query)
    assert got["activity"] == {"id": "docs-get", "field_id": "act::c", "created": ANY_TIME,
                               "attr": {"str::s": "Hi & welcome", "sst:cm:tags": ["a", "b"],
                                        "int:cm:score": "12500"}}, got
    assert got["contact"] == {"contact_id": contact_id, "email": "ann@example.com",
                              "first_name": "Ann Lee",
                              "phone_number": {"c": "61", "n": "401234567"}}, got
    assert got["id"] == req.header("webhook-id") and got["webhook_id"] == wh["id"], got
    assert "src" not in got, got


class _AnyTime:
    def __eq__(self, other):
        return isinstance(other, str) and re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", other) is not None


ANY_TIME = _AnyTime()
