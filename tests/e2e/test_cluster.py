"""Several hookd processes on one PostgreSQL (docs/scaling.md): what
a user running a cluster sees when one process dies under load, and when the
database itself goes away for a while.

These tests run only against PostgreSQL (make e2e-pg, which make test runs):
a SQLite file is one process's store.  The outage test starts a throwaway
cluster of its own (scripts/pg_cluster.sh) so that stopping it disturbs no
other test.

The kill test tells which process sent a request by the receiver's view of
the connection: the first time a client port is seen, the socket's inode is
looked up in /proc/net/tcp and found among the open files of the hookd
processes (a port no live process owns belonged to the one that was killed).
That is how "in flight on the killed process" is checked, not guessed from
timing."""

import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import BACKEND, ROOT, Hookd, master_key_file
from receiver import Receiver
from test_delivery import act, person, stats, wait_for
from test_engine import all_entries, slow

pytestmark = pytest.mark.skipif(
    BACKEND != "postgres",
    reason="several processes on one store need PostgreSQL (docs/scaling.md); "
    "make e2e-pg runs these")

PROCESSES = 3
ACTIVITIES = 20_000  # over all three processes' APIs
BATCH = 50  # activities per POST /activities
SENDS_EVERY = 40  # one POST /webhooks/{id}/send among this many work items
KILL_AT = 0.4  # the share of the work answered before one process is killed
# A dead process's claims pass to the others once its lease (30 s) runs
# out; the backstop poll finds them within 1 s after that.
REDELIVERY_BOUND = 60


# ---------------------------------------------------------------------------
# who sent a request


def _tcp_inode(local_port, remote_port):
    """The inode of the IPv4 socket 127.0.0.1:local_port → :remote_port,
    from /proc/net/tcp, or None."""
    want = (f":{local_port:04X}", f":{remote_port:04X}")
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            cols = line.split()
            if cols[1].endswith(want[0]) and cols[2].endswith(want[1]):
                return cols[9]
    return None


def _owns(pid, inode):
    target = f"socket:[{inode}]"
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return True
            except OSError:
                continue
    except OSError:
        return False
    return False


class Owners:
    """Port → index of the hookd process that connected from it."""

    def __init__(self, procs, receiver_port):
        self.procs = procs  # [Hookd]
        self.rport = receiver_port
        self.by_port = {}
        self.lock = threading.Lock()

    def of(self, port):
        with self.lock:
            if port in self.by_port:
                return self.by_port[port]
        inode = _tcp_inode(port, self.rport)
        owner = None
        if inode is not None and inode != "0":
            for i, s in enumerate(self.procs):
                if s.alive() and _owns(s.proc.pid, inode):
                    owner = i
                    break
        # nobody alive owns it: the killed process did (only it is gone)
        owner = "dead" if owner is None else owner
        with self.lock:
            self.by_port[port] = owner
        return owner


# ---------------------------------------------------------------------------
# the client side: work spread over the processes


class Work:
    """The 20,000 activities as work items (a batch for POST /activities, or
    one POST /webhooks/{id}/send), handed out to one client thread per
    process.  An item whose process dies under it goes back to the queue for
    another (a load balancer would do the same); activity ids make that
    safe, and a send answered 202 is expected by its delivery id."""

    def __init__(self, cid, wid, key):
        self.cid, self.wid, self.key = cid, wid, key
        self.items = queue.Queue()
        n = made = 0
        while made < ACTIVITIES:
            if n % SENDS_EVERY == SENDS_EVERY - 1:
                self.items.put(("send", f"cl-s{n:05d}"))
                made += 1
            else:
                k = min(BATCH, ACTIVITIES - made)
                self.items.put(("batch", [f"cl-{made + i:05d}" for i in range(k)]))
                made += k
            n += 1
        self.total_items = n
        self.lock = threading.Lock()
        self.accepted = set()  # activity ids answered 202 (duplicate or not)
        self.send_ids = set()  # delivery ids of sends answered 202
        self.answered = 0  # items answered 202
        self.by_process = [0] * PROCESSES
        self.failed_over = 0
        self.refused = []  # (status, text): answers no one expects here
        self.threads = []

    def start(self, procs):
        for i, s in enumerate(procs):
            t = threading.Thread(target=self._run, args=(i, s.url), daemon=True)
            t.start()
            self.threads.append(t)

    def join(self, timeout):
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)

    def _post(self, session, url, item):
        kind, what = item
        if kind == "batch":
            body = {"activities": [act(self.cid, aid) for aid in what]}
            return session.post(url + "/api/v1/activities", json=body, timeout=60)
        body = {"contact": {"contact_id": self.cid},
                "activity": {"id": what, "field_id": "act::s"}, "campaign_id": "cl"}
        return session.post(f"{url}/api/v1/webhooks/{self.wid}/send", json=body, timeout=60)

    def _run(self, i, url):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.key}"
        while True:
            try:
                item = self.items.get_nowait()
            except queue.Empty:
                return
            try:
                r = self._post(session, url, item)
            except requests.RequestException:
                # this process is gone: the item goes to the others
                with self.lock:
                    self.failed_over += 1
                self.items.put(item)
                return
            with self.lock:
                if r.status_code != 202:
                    self.refused.append((r.status_code, r.text[:300]))
                    continue
                self.answered += 1
                self.by_process[i] += 1
                if item[0] == "batch":
                    self.accepted.update(item[1])
                else:
                    self.send_ids.add(r.json()["delivery_id"])


def _first_attempts(reqs):
    """{webhook-id: [requests with it]} in arrival order."""
    out = {}
    for r in reqs:
        out.setdefault(r.header("webhook-id"), []).append(r)
    return out


def test_three_processes_one_killed_under_load_lose_nothing(servers, tmp_path):
    """Three processes on one database take 20,000 activities between them
    through all three APIs; one is killed with SIGKILL part way.  Every
    activity answered 202 arrives; no delivery is attempted twice except
    those in flight on the killed process (its claims pass to the others
    when its lease runs out); both live processes answer for the webhook,
    its stats and its logs, which agree with what the receiver got."""
    rcv = Receiver(backlog=2048)
    try:
        db = tmp_path / "cluster.db"
        args = ["--request-timeout", "5s"]
        procs = [servers.start(db, args=args)]
        procs += [servers.start(db, args=args) for _ in range(PROCESSES - 1)]
        api = procs[0].client()
        wh = api.create({"name": "cluster", "url": rcv.url + "/cl", "activities": ["act::s"]})
        cid = person(api, "cluster@x.io")
        owners = Owners(procs, rcv.port)

        def answer(req):
            owners.of(req.peer[1])
            # a few milliseconds per request, so that some are always in
            # flight when the process is killed
            return ("delay", 0.003, 200)
        rcv.script("/cl", answer)

        work = Work(cid, wh["id"], procs[0].api_key)
        victim = 1
        work.start(procs)
        wait_for(lambda: work.answered >= KILL_AT * work.total_items, timeout=120 * slow(),
                 interval=0.02, what=lambda: (work.answered, work.refused[:2]))
        assert work.by_process[victim] > 0, work.by_process
        killed_at = time.time()
        procs[victim].kill9()
        assert work.join(timeout=300 * slow()), "the clients did not finish"
        assert not work.refused, work.refused[:3]
        expected_acts, expected_sends = work.accepted, work.send_ids
        assert len(expected_acts) + len(expected_sends) >= ACTIVITIES - work.failed_over * BATCH

        def missing():
            got = _first_attempts(rcv.requests("/cl"))
            acts = {rs[0].activity_id for rs in got.values()}
            return (expected_acts - acts) | (expected_sends - set(got))
        wait_for(lambda: not missing(), timeout=(REDELIVERY_BOUND + 120) * slow(),
                 interval=0.5, what=lambda: f"{len(missing())} accepted never arrived, "
                                            f"e.g. {sorted(missing())[:5]}")

        live = [s for i, s in enumerate(procs) if i != victim]
        for s in live:
            wait_for(lambda: stats(s.client(), wh["id"])["pending"] == 0, timeout=30 * slow(),
                     what=lambda: stats(s.client(), wh["id"]))
        got = _first_attempts(rcv.requests("/cl"))
        repeated = {k: rs for k, rs in got.items() if len(rs) > 1}
        wrong = [(k, [(owners.of(r.peer[1]), r.peer[1], round(r.time - killed_at, 3),
                       r.answered_at and round(r.answered_at - killed_at, 3)) for r in rs])
                 for k, rs in repeated.items()
                 if owners.of(rs[0].peer[1]) not in (victim, "dead")
                 or rs[0].time >= killed_at + 1]
        assert not wrong, (f"{len(wrong)} of {len(repeated)} deliveries attempted twice were "
                           f"not in flight on the killed process (owner, port, s after the kill, "
                           f"answered): {wrong[:10]}")
        # at most what hookd keeps in flight at once (512), and in practice
        # far fewer: the receiver answers in milliseconds
        assert len(repeated) <= 512, len(repeated)

        # every live process answers for the webhook, its stats and its logs,
        # and they agree with the receiver
        delivered = len(got)
        for s in live:
            c = s.client()
            r = c.get(f"/api/v1/webhooks/{wh['id']}")
            assert r.status_code == 200, r.text
            assert r.json()["id"] == wh["id"]
            st = stats(c, wh["id"])
            assert st["succeeded_24h"] == delivered and st["failed_24h"] == 0, (st, delivered)
        entries = all_entries(live[0].client(), wh["id"], state="succeeded")
        entries = [e for e in entries if e["kind"] != "test"]
        assert {e["id"] for e in entries} == set(got)
        assert len(entries) == delivered
        assert expected_acts <= {e["activity_id"] for e in entries if e["kind"] == "activity"}
        first_page = [live[i].client().get(f"/api/v1/webhooks/{wh['id']}/logs?limit=20")
                      for i in range(len(live))]
        assert all(p.status_code == 200 for p in first_page)
        assert first_page[0].json() == first_page[1].json()
        print(f"{work.answered} items answered 202 ({work.by_process} by process), "
              f"{work.failed_over} failed over; {delivered} deliveries, {len(repeated)} "
              f"attempted twice (all in flight on the killed process)")
    finally:
        rcv.stop()


def test_processes_started_together_on_an_empty_database(servers, tmp_path):
    """Three processes started at the same moment on an empty database: the
    schema is made once (the others wait for it), all three serve, every
    key any of them printed works on every one of them, and a webhook made
    through one is seen by the others."""
    db = tmp_path / "together.db"
    with ThreadPoolExecutor(PROCESSES) as ex:
        procs = list(ex.map(lambda _: servers.start(db), range(PROCESSES)))
    keys = {s.printed_key for s in procs if s.printed_key}
    assert keys, "no process printed a key on an empty database"
    for key in keys:
        for s in procs:
            r = s.client(key).get("/api/v1/webhooks")
            assert r.status_code == 200, (s.url, r.status_code, r.text)
    key = next(iter(keys))
    made = procs[0].client(key).create({"name": "together", "url": "http://127.0.0.1:9/x"})
    for s in procs[1:]:
        r = s.client(key).get(f"/api/v1/webhooks/{made['id']}")
        assert r.status_code == 200 and r.json()["name"] == "together", r.text
    migrations = [line for s in procs for line in s.stderr_lines
                  if "applied schema migration" in line]
    # each migration applied once, by one of them
    applied = [line.rsplit(" ", 1)[1] for line in migrations]
    assert applied and len(applied) == len(set(applied)), migrations


# ---------------------------------------------------------------------------
# the database goes away and comes back


@pytest.fixture
def own_cluster():
    """A PostgreSQL cluster of this test's own: (admin URL, its folder)."""
    parent = tempfile.mkdtemp(prefix="hookd-pg-outage.")
    os.chmod(parent, 0o711)  # the postgres user (as root) must reach it
    data = os.path.join(parent, "data")
    script = str(ROOT / "scripts" / "pg_cluster.sh")
    p = subprocess.run(["bash", script, "start", data], capture_output=True, text=True,
                       timeout=180)
    assert p.returncode == 0, p.stderr
    try:
        yield p.stdout.strip(), data, script
    finally:
        subprocess.run(["bash", script, "stop", data], capture_output=True, timeout=180)
        shutil.rmtree(parent, ignore_errors=True)


def test_postgres_restart_mid_run_503_then_everything_arrives(tmp_path, own_cluster):
    """Activities keep coming while the database is stopped for a few
    seconds and started again.  Meanwhile hookd answers 503 `unavailable`
    (never a 2xx it cannot keep, never a crash); afterwards it answers 202
    again without a restart, and every activity it answered 202, before or
    after, arrives."""
    admin, data, script = own_cluster
    url = admin.rsplit("/", 1)[0] + "/hookd"
    subprocess.run(["psql", "-X", "-q", "-d", admin, "-c", "CREATE DATABASE hookd"],
                   check=True, capture_output=True, timeout=60)
    rcv = Receiver()
    s = None
    try:
        s = Hookd(tmp_path / "outage.db", db_flag=False, args=["--database-url", url, "--master-key-file",
                                     master_key_file(tmp_path / "outage.db")])
        api = s.client()
        wh = api.create({"name": "outage", "url": rcv.url + "/o", "activities": ["act::s"]})
        assert wh["id"]
        cid = person(api, "outage@x.io")
        accepted, unavailable, other = set(), [], []
        halt = threading.Event()
        lock = threading.Lock()

        def feed():
            n = 0
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {s.api_key}"
            while not halt.is_set():
                ids = [f"o-{n + i:05d}" for i in range(10)]
                n += 10
                try:
                    r = session.post(s.url + "/api/v1/activities", timeout=30,
                                     json={"activities": [act(cid, a) for a in ids]})
                except requests.RequestException as e:
                    other.append(repr(e))
                    continue
                with lock:
                    if r.status_code == 202:
                        accepted.update(ids)
                    elif r.status_code == 503 and r.json()["error"]["code"] == "unavailable":
                        unavailable.append(time.time())
                    else:
                        other.append((r.status_code, r.text[:200]))
                time.sleep(0.01)

        t = threading.Thread(target=feed, daemon=True)
        t.start()
        wait_for(lambda: len(accepted) >= 200, timeout=30 * slow(), what=lambda: other[:3])
        subprocess.run(["bash", script, "halt", data], check=True, capture_output=True,
                       timeout=120)
        halted = time.time()
        # while it is down, every answer is a 503
        wait_for(lambda: len(unavailable) >= 5, timeout=30 * slow(),
                 what=lambda: (len(accepted), other[:3]))
        with lock:
            before_resume = len(accepted)
        time.sleep(1.0)
        with lock:
            assert len(accepted) == before_resume, "a 202 while the database was down"
        r = api.get(f"/api/v1/webhooks/{wh['id']}")
        assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable", r.text
        subprocess.run(["bash", script, "resume", data], check=True, capture_output=True,
                       timeout=120)
        resumed = time.time()
        # back without a restart: 202s again
        wait_for(lambda: len(accepted) >= before_resume + 200, timeout=30 * slow(),
                 what=lambda: (len(accepted) - before_resume, other[:3]))
        halt.set()
        t.join(30)
        assert not other, other[:3]
        assert s.alive()
        wait_for(lambda: accepted <= rcv.activity_ids(), timeout=30 * slow(), interval=0.25,
                 what=lambda: f"{len(accepted - rcv.activity_ids())} accepted never arrived")
        wait_for(lambda: stats(api, wh["id"])["pending"] == 0, timeout=30 * slow(),
                 what=lambda: stats(api, wh["id"]))
        print(f"{len(accepted)} accepted, {len(unavailable)} answered 503 while down for "
              f"{resumed - halted:.1f}s")
    finally:
        if s is not None and s.alive():
            s.stop()
        rcv.stop()
