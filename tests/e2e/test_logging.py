"""--log-format text|json and --log-level: with json every line hookd writes
on stderr is one JSON object (time, level, msg) from the first line (the
store's migrations) to the last; the `api key:` line stays plain on stdout;
levels below the chosen one are not written; bad values exit 2 naming the
option, in plain text."""

import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest
import requests

from conftest import BACKEND, KEY_RE, base_env, hookd_bin, run_hookd
from receiver import receiver  # noqa: F401  (a fixture)

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TEXT_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info|warn|error) ")
LEVELS = ("debug", "info", "warn", "error")


def parse_json_lines(lines):
    """Each line as a JSON object with a time, a level and a message."""
    out = []
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            raise AssertionError(f"a stderr line is not JSON: {line!r}")
        assert isinstance(obj, dict) and set(obj) == {"time", "level", "msg"}, line
        assert TIME_RE.match(obj["time"]), line
        assert obj["level"] in LEVELS, line
        assert isinstance(obj["msg"], str) and obj["msg"], line
        out.append(obj)
    return out


def wait_for(pred, what, timeout=10):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_json_log_over_start_delivery_failure_and_stop(servers, receiver):
    s = servers.start(args=["--log-format", "json", "--log-level", "debug",
                            "--retry-schedule", "100ms", "--max-retries", "0"])
    api = s.client()
    r = api.post("/api/v1/people/merge",
                 {"people": [{"fields": {"str::email": "ann@x.io"}}]})
    assert r.status_code == 200, r.text
    cid = r.json()["people"][0]["contact_id"]
    hooks = []
    for path in ("/ok", "/fails"):
        r = api.post("/api/v1/webhooks", {"name": path, "url": receiver.url + path,
                                          "activities": ["act::s"]})
        assert r.status_code == 201, r.text
        hooks.append(r.json()["id"])
    receiver.script("/fails", [500])
    r = api.post("/api/v1/activities", {"activities": [
        {"id": "a1", "field_id": "act::s", "contact": {"contact_id": cid}}]})
    assert r.status_code == 202, r.text
    receiver.wait_count(1, "/ok")

    def failed_for_good():
        e = api.get(f"/api/v1/webhooks/{hooks[1]}/logs").json()["entries"]
        return any(x["kind"] == "activity" and x["state"] == "failed" for x in e)
    wait_for(failed_for_good, "the delivery to /fails to fail for good")
    s.stop()

    logged = parse_json_lines(s.stderr_lines)
    msgs = [o["msg"] for o in logged]
    assert any(re.search(r"listening on 127\.0\.0\.1:\d+", m) for m in msgs), msgs
    assert msgs[-1] == "stopped", msgs
    assert any(o["level"] == "debug" for o in logged), msgs  # --log-level debug
    if BACKEND == "sqlite":  # a new file: its migrations obey the format too
        assert any("applied schema migration" in m for m in msgs), msgs
    # the key stays a plain line on stdout, never in the log
    assert [line for line in s.stdout_lines if KEY_RE.match(line)], s.stdout_lines
    assert not any(s.api_key in line for line in s.stderr_lines)

    # a second start on the same store: what the store says (or its server:
    # PostgreSQL's notices) at a start that finds a schema is JSON too
    again = servers.start(s.db, args=["--log-format", "json", "--log-level", "debug"])
    again.stop()
    msgs = [o["msg"] for o in parse_json_lines(again.stderr_lines)]
    assert msgs[-1] == "stopped", msgs


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_quietly(tmp_path, args, env=None):
    """Runs hookd on SQLite with a master key file others may read (a
    warning at start) until it answers /healthz, then stops it; returns its
    stderr lines. The `listening on` line may be filtered out, so the port
    is chosen here."""
    key = tmp_path / "loose.key"
    key.write_text(os.urandom(32).hex())
    key.chmod(0o644)
    port = free_port()
    argv = [hookd_bin(), "serve", "--listen", f"127.0.0.1:{port}", "--db",
            str(tmp_path / "quiet.db"), "--master-key-file", str(key), *args]
    p = subprocess.Popen(argv, env=base_env(env), cwd=tmp_path, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert p.poll() is None, f"hookd exited at start: {p.stderr.read()!r}"
            assert time.monotonic() < deadline, "hookd never answered /healthz"
            time.sleep(0.05)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=15)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, (p.returncode, err)
    return err.splitlines()


@pytest.mark.store_independent("which lines the level lets through is the log's own business")
def test_log_level_drops_lines_below_it(tmp_path):
    # the default, info: the start's lines, no debug line
    (tmp_path / "info").mkdir()
    lines = serve_quietly(tmp_path / "info", [])
    assert all(TEXT_RE.match(line) for line in lines), lines
    levels = [TEXT_RE.match(line).group(1) for line in lines]
    assert "info" in levels and "debug" not in levels, lines
    assert any("listening on" in line for line in lines), lines

    # warn: only the loose key file's warning is left of the same run
    (tmp_path / "warn").mkdir()
    lines = serve_quietly(tmp_path / "warn", ["--log-level", "warn"])
    assert lines and all(TEXT_RE.match(line) for line in lines), lines
    assert {TEXT_RE.match(line).group(1) for line in lines} == {"warn"}, lines
    assert any("others may read" in line for line in lines), lines

    # the same through the variables, as JSON
    (tmp_path / "env").mkdir()
    lines = serve_quietly(tmp_path / "env", [],
                          {"HOOKD_LOG_LEVEL": "warn", "HOOKD_LOG_FORMAT": "json"})
    logged = parse_json_lines(lines)
    assert logged and {o["level"] for o in logged} == {"warn"}, lines

    # error: nothing at all
    (tmp_path / "error").mkdir()
    assert serve_quietly(tmp_path / "error", ["--log-level=error"]) == []


@pytest.mark.store_independent("option parsing happens before any store is opened")
@pytest.mark.parametrize("args,env,named", [
    (["--log-format", "xml"], {}, "--log-format"),
    (["--log-format=JSON"], {}, "--log-format"),
    (["--log-level", "verbose"], {}, "--log-level"),
    ([], {"HOOKD_LOG_FORMAT": "logfmt"}, "HOOKD_LOG_FORMAT"),
    ([], {"HOOKD_LOG_LEVEL": ""}, "HOOKD_LOG_LEVEL"),
    # another option refused: still plain text, even with json asked for
    (["--log-format", "json", "--max-retries", "lots"], {}, "--max-retries"),
], ids=lambda v: repr(v))
def test_bad_log_values_exit_2_naming_the_option(tmp_path, args, env, named):
    p = run_hookd(["serve", "--listen", "127.0.0.1:0", "--db", str(tmp_path / "x.db"), *args],
                  cwd=tmp_path, env=env)
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hookd: ") and named in lines[0], p.stderr
    assert "invalid value" in lines[0], p.stderr
    assert p.stdout == ""
    assert not (tmp_path / "x.db").exists()
