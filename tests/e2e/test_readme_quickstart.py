"""The README's Quick start, run as written: its fenced blocks are taken from
README.md, in order, and run as a person would run them in three terminals.
A block whose first line is `# terminal 1` or `# terminal 2` is a long-running
command (the receiver, hookd) started in the background; a `# terminal 3`
block is typed into one shell that lives across blocks, so its variables
carry over. What a reader must paste is filled in: `hk_...` with the key hookd
printed, `whsec_...` with the webhook's secret. The ports (8080, 9000) become
free ones and ./build/hookd the binary under test; nothing else is changed.

It then checks what the README says the reader sees: the receiver prints the
test payload and the delivery, the log shows it succeeded, and the receiver
started with --secret prints `signature: ok`."""

import json
import os
import re
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import base_env, hookd_bin

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
WAIT_S = 15

pytestmark = pytest.mark.store_independent(
    "runs the README's commands on hookd's default SQLite file; nothing of PostgreSQL")


def quickstart_blocks():
    """[(terminal number, commands)] of README's Quick start section, in order."""
    text = README.read_text()
    m = re.search(r"^## Quick start.*?$(.*?)^## ", text, re.S | re.M)
    assert m, "README.md has no '## Quick start' section"
    out = []
    for block in re.findall(r"^```sh\n(.*?)^```", m.group(1), re.S | re.M):
        t = re.match(r"# terminal (\d)", block)
        if t:
            out.append((int(t.group(1)), block))
    assert [n for n, _ in out][:3] == [1, 2, 3], out
    return out


class Lines:
    """A process's stdout (and stderr) read line by line as it comes."""

    def __init__(self, proc):
        self.proc = proc
        self.lines = []
        self._cond = threading.Condition()
        threading.Thread(target=self._pump, args=(proc.stdout,), daemon=True).start()

    def _pump(self, stream):
        for line in stream:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait(self, pred, what):
        with self._cond:
            ok = self._cond.wait_for(lambda: any(pred(x) for x in self.lines), WAIT_S)
            assert ok, f"never saw {what}: {self.lines}"
            return next(x for x in self.lines if pred(x))

    def text(self):
        with self._cond:
            return "\n".join(self.lines)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_readme_quickstart_ends_in_a_delivery(tmp_path):
    api_port, rx_port = free_port(), free_port()
    env = base_env({"HOOKD_LISTEN": f"127.0.0.1:{api_port}"})
    procs = []

    def adapt(cmd, fill):
        cmd = cmd.replace("./build/hookd", shlex.quote(hookd_bin()))
        cmd = cmd.replace("scripts/receiver.py", shlex.quote(str(ROOT / "scripts/receiver.py")))
        cmd = cmd.replace(":8080", f":{api_port}").replace("9000", str(rx_port))
        for k, v in fill.items():
            cmd = cmd.replace(k, v)
        return cmd

    def start(block, fill):
        """A long-running block: its one command, in the background."""
        cmds = [x for x in block.splitlines() if x.strip() and not x.startswith("#")]
        assert len(cmds) == 1, f"a long-running block holds one command: {block!r}"
        p = subprocess.Popen(["bash", "-c", "exec " + adapt(cmds[0], fill)], cwd=tmp_path,
                             env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        procs.append(p)
        return Lines(p)

    shell = subprocess.Popen(["bash"], cwd=tmp_path, env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    procs.append(shell)
    out = Lines(shell)
    typed = [0]

    def type_block(block, fill):
        """A terminal 3 block, typed into the shell; returns what it printed."""
        typed[0] += 1
        mark = f"__block_{typed[0]}_done__"
        before = len(out.lines)
        # curl prints no final line break: the mark goes on a line of its own
        shell.stdin.write(adapt(block, fill) + f"\necho; echo {mark}\n")
        shell.stdin.flush()
        out.wait(lambda x: x == mark, mark)
        return "\n".join(out.lines[before:out.lines.index(mark)])

    try:
        blocks = quickstart_blocks()
        fill = {}
        receiver = hookd = None
        printed = []
        for n, block in blocks:
            if n == 1:
                if receiver:  # "stop the receiver (Ctrl-C)"
                    receiver.proc.send_signal(signal.SIGINT)
                    assert receiver.proc.wait(timeout=WAIT_S) == 0
                receiver = start(block, fill)
                receiver.wait(lambda x: x.startswith("receiver listening on"), "the receiver")
            elif n == 2:
                hookd = start(block, fill)
                key = hookd.wait(lambda x: x.startswith("api key: "), "the api key line")
                fill["hk_..."] = key.split(": ", 1)[1]
                hookd.wait(lambda x: "listening on" in x, "hookd listening")
            else:
                printed.append(type_block(block, fill))
                if "WEBHOOK=" in block:
                    wh = json.loads(printed[-1].strip().splitlines()[-1])
                    assert wh["test"] == {"ok": True, "status_code": 200, "error": None}, wh
                    fill["whsec_..."] = wh["secret"]
                    receiver.wait(lambda x: '"test": true' in x, "the test payload")
                elif "/api/v1/activities" in block:
                    assert json.loads(printed[-1]) == {
                        "activities": [{"id": "evt-1", "duplicate": False}]}, printed[-1]
                    # what terminal 1 shows: the delivery, its headers and Ann
                    receiver.wait(lambda x: x.startswith("webhook-signature: v1,"), "a signature")
                    receiver.wait(lambda x: '"first_name": "Ann"' in x, "the delivery")
                    time.sleep(0.3)  # a person reads terminal 1 before the next step
                elif "/logs" in block:
                    entries = json.loads(printed[-1])["entries"]
                    newest = entries[0]
                    assert (newest["kind"], newest["state"], newest["attempts"],
                            newest["status_code"]) == ("activity", "succeeded", 1, 200), newest
                    assert newest["activity_id"] == "evt-1"
                elif "/test" in block:
                    assert json.loads(printed[-1])["ok"] is True, printed[-1]
                    receiver.wait(lambda x: x == "signature: ok", "signature: ok")
        assert "whsec_..." in fill, "the Quick start never restarts the receiver with --secret"
        assert any("/test" in b for _, b in blocks)
        assert "signature: BAD" not in receiver.text()
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=WAIT_S)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
