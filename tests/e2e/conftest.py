"""Shared machinery of the hookd end-to-end suite.

Every test talks to the real binary (HOOKD_BIN, default build/hookd) over
loopback HTTP.  A server is started with `--listen 127.0.0.1:0` and its port is
read from the `listening on 127.0.0.1:<port>` line it logs on stderr, so there
is no free-port guessing.  At teardown every server still running is stopped
with SIGTERM and must exit with status 0.

Webhook URLs point at a local sink (a tiny HTTP server answering 200) and the
servers run with --allow-private-networks, so that whatever hookd may send on
creation (the test payload, once built) goes somewhere harmless and fast.

The store backend is chosen by HOOKD_TEST_BACKEND: `sqlite` (the default)
gives each server `--db <path>`; `postgres` gives it `--database-url` with a
database of its own on the server of HOOKD_TEST_DATABASE_URL (an admin URL,
e.g. the one scripts/with_pg.sh exports).  A test names its store by a path
either way: the first server on a path gets a fresh database (made with
psql), a later one on the same path (a restart) the same database, and the
databases are dropped when the test's servers are stopped.  Tests about the
SQLite file itself carry @pytest.mark.sqlite_only("why") and are skipped,
with that reason, against PostgreSQL.
"""

import hashlib
import http.server
import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
HOOKD_BIN = os.environ.get("HOOKD_BIN", str(ROOT / "build" / "hookd"))
TIMEOUT = 10  # seconds, for every HTTP call
START_TIMEOUT = 30  # seconds for a server to start (sanitizer builds are slow)
STOP_TIMEOUT = 30

LISTEN_RE = re.compile(r"listening on 127\.0\.0\.1:(\d+)")
KEY_RE = re.compile(r"^api key: (\S+)$")

BACKEND = os.environ.get("HOOKD_TEST_BACKEND") or "sqlite"
BACKENDS = ("sqlite", "postgres")
ADMIN_URL_ENV = "HOOKD_TEST_DATABASE_URL"
PSQL = os.environ.get("PSQL", "psql")
PG_DUMP = os.environ.get("PG_DUMP", "pg_dump")

# Every environment variable of docs/configuration.md: scrubbed from the environment of
# each server so the caller's shell cannot change what a test observes.
HOOKD_ENV = (
    "HOOKD_LISTEN", "HOOKD_DB", "HOOKD_DATABASE_URL", "HOOKD_API_KEY",
    "HOOKD_ALLOW_PRIVATE_NETWORKS", "HOOKD_RETRY_SCHEDULE", "HOOKD_MAX_RETRIES",
    "HOOKD_REQUEST_TIMEOUT", "HOOKD_LOG_RETENTION", "HOOKD_MASTER_KEY_FILE",
    "HOOKD_ALLOW_NETWORKS", "HOOKD_HTTPS_ONLY", "HOOKD_PROXY", "HOOKD_CA_FILE",
    "HOOKD_TLS_CERT", "HOOKD_TLS_KEY", "HOOKD_ROTATION_OVERLAP", "HOOKD_API_KEY_FILE",
    "HOOKD_API_RATE_LIMIT", "HOOKD_API_CONNECTIONS_PER_CLIENT", "HOOKD_API_REQUEST_DEADLINE",
    "HOOKD_MAX_DELIVERIES_PER_REQUEST",
    "HOOKD_MAX_TEST_SENDS",
    "HOOKD_DISABLE_AFTER",
    "HOOKD_LOG_FORMAT", "HOOKD_LOG_LEVEL",
    "HOOKD_METRICS_PUBLIC", "HOOKD_ACCESS_LOG",
    "HOOKD_URL", "HOOKD_KEY", "HOOKD_KEY_FILE",
)


def hookd_bin():
    """The binary; waits a little if it is briefly missing (being rebuilt)."""
    deadline = time.monotonic() + 120
    while not os.access(HOOKD_BIN, os.X_OK):
        if time.monotonic() > deadline:
            pytest.fail(f"HOOKD_BIN {HOOKD_BIN} is not an executable file")
        time.sleep(0.5)
    return HOOKD_BIN


def base_env(extra=None):
    env = {k: v for k, v in os.environ.items() if k not in HOOKD_ENV}
    if extra:
        env.update(extra)
    return env


def run_hookd(args, cwd, env=None, timeout=10):
    """Runs `hookd <args>` to completion (for options that must be refused);
    fails the test if it is still running after timeout seconds."""
    try:
        return subprocess.run([hookd_bin(), *args], env=base_env(env), cwd=cwd,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"hookd {args} (env {env}) did not exit within {timeout}s: "
                             f"it accepted what it should refuse; stderr: {e.stderr!r}")


# ---------------------------------------------------------------------------
# the store backend


def _url_with_db(admin, name):
    """admin (postgres://[user@]host[:port][/db][?params]) naming database
    name instead, its parameters kept."""
    m = re.match(r"^(postgres(?:ql)?://[^/?]*)(?:/[^?]*)?(\?.*)?$", admin)
    if not m:
        raise pytest.UsageError(f"{ADMIN_URL_ENV} is not a postgres:// or postgresql:// URL: "
                                f"{admin!r}")
    return f"{m.group(1)}/{name}{m.group(2) or ''}"


class Postgres:
    """The databases of this run on the server of HOOKD_TEST_DATABASE_URL,
    one per store path, made and dropped with psql."""

    def __init__(self, admin_url):
        self.admin = admin_url
        self.live = {}  # name -> URL, made by this run and not yet dropped
        self.made = 0
        self.lock = threading.Lock()

    def psql(self, sql):
        """Runs sql (one statement or more) on the admin database."""
        p = subprocess.run([PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-d", self.admin, "-f", "-"],
                           input=sql, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise AssertionError(f"psql on {ADMIN_URL_ENV} failed ({p.returncode}): "
                                 f"{p.stderr.strip()}\n{sql}")
        return p.stdout

    @staticmethod
    def name(db):
        """hookd_e_<the test's folder>_<store file stem>_<hash of the path>:
        readable in the server's list, one per path."""
        db = Path(db).absolute()
        stem = re.sub(r"[^a-z0-9_]", "_", f"{db.parent.name}_{db.stem}".lower())[:30]
        return f"hookd_e_{stem}_{hashlib.sha256(str(db).encode()).hexdigest()[:16]}"

    def url(self, db):
        """The URL of db's database, made fresh the first time this run
        asks for db (a database of that name left by an earlier run is
        dropped first), the same one afterwards."""
        name = self.name(db)
        with self.lock:
            if name not in self.live:
                self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE);\n'
                          f'CREATE DATABASE "{name}";\n')
                self.live[name] = _url_with_db(self.admin, name)
                self.made += 1
            return self.live[name]

    def drop(self, db):
        name = self.name(db)
        with self.lock:
            if self.live.pop(name, None) is not None:
                self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE);\n')

    def drop_all(self):
        with self.lock:
            names, self.live = list(self.live), {}
        if names:
            self.psql("".join(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE);\n' for n in names))

    def dump(self, db):
        """pg_dump of db's database (schema and data), as bytes."""
        p = subprocess.run([PG_DUMP, "-d", self.url(db)], capture_output=True, timeout=120)
        assert p.returncode == 0, f"pg_dump failed: {p.stderr.decode(errors='replace')}"
        return p.stdout


PG = None  # the Postgres of this run, when BACKEND is postgres


def pytest_configure(config):
    global PG
    config.addinivalue_line(
        "markers", "sqlite_only(reason): about the SQLite file itself; skipped, with the "
        "reason, when HOOKD_TEST_BACKEND=postgres")
    config.addinivalue_line(
        "markers", "store_independent(reason): checks nothing the store's backend does (the "
        "listener, the guard, the engine's fairness); run once, on SQLite, and skipped with "
        "the reason against other backends, to keep the suite's time for what differs")
    if BACKEND not in BACKENDS:
        raise pytest.UsageError(f"HOOKD_TEST_BACKEND={BACKEND!r}: expected one of {BACKENDS}")
    if BACKEND == "postgres" and PG is None:
        admin = os.environ.get(ADMIN_URL_ENV, "")
        if not admin:
            raise pytest.UsageError(
                f"HOOKD_TEST_BACKEND=postgres needs {ADMIN_URL_ENV}, the admin URL of a "
                "throwaway PostgreSQL server: run it under scripts/with_pg.sh (make test does)")
        _url_with_db(admin, "postgres")  # a usage error now rather than in every test
        PG = Postgres(admin)
        try:
            PG.psql("SELECT 1;")  # reachable, and psql is there
        except OSError as e:
            raise pytest.UsageError(f"HOOKD_TEST_BACKEND=postgres needs psql ({e}): "
                                    "bash scripts/deps.sh installs postgresql-client")
        except (AssertionError, subprocess.SubprocessError) as e:
            raise pytest.UsageError(f"HOOKD_TEST_BACKEND=postgres: {e}")


def pytest_collection_modifyitems(config, items):
    if BACKEND == "sqlite":
        return
    for item in items:
        for name in ("sqlite_only", "store_independent"):
            m = item.get_closest_marker(name)
            if m:
                why = m.args[0] if m.args else m.kwargs.get("reason", "about the SQLite file")
                item.add_marker(pytest.mark.skip(
                    reason=f"{name}, not run against {BACKEND}: {why}"))


def pytest_report_header(config):
    return f"hookd store backend: {BACKEND}"


def pytest_terminal_summary(terminalreporter):
    if BACKEND == "postgres":
        terminalreporter.write_line(
            f"e2e store backend: postgres ({PG.made if PG else 0} databases made and dropped "
            f"on the server of {ADMIN_URL_ENV})")
    else:
        terminalreporter.write_line("e2e store backend: sqlite")


@pytest.fixture(scope="session", autouse=True)
def _drop_what_is_left():
    """Drops the databases a test left (a Hookd started outside Servers)."""
    yield
    if PG is not None:
        PG.drop_all()


def master_key_file(db):
    """The master key of db's store for PostgreSQL, which needs one given
    (SQLite makes <db>.key itself): <db>.pgkey, made once per store so every
    process of one database shares it."""
    path = Path(f"{db}.pgkey")
    if not path.exists():
        path.write_text(os.urandom(32).hex() + "\n")
        path.chmod(0o600)
    return str(path)


def store_flags(db):
    """The flags that put hookd's store at db: --db db, or --database-url of
    db's database with its master key."""
    if BACKEND == "postgres":
        return ["--database-url", PG.url(db), "--master-key-file", master_key_file(db)]
    return ["--db", str(db)]


def store_env(db):
    """The same as environment variables (HOOKD_DB or HOOKD_DATABASE_URL)."""
    if BACKEND == "postgres":
        return {"HOOKD_DATABASE_URL": PG.url(db), "HOOKD_MASTER_KEY_FILE": master_key_file(db)}
    return {"HOOKD_DB": str(db)}


def store_contents(db):
    """Everything the store of db holds, as {what: bytes} for a test to
    search: the SQLite file and the files beside it that share its name
    (-wal, -shm), or a pg_dump of the database."""
    if BACKEND == "postgres":
        return {f"pg_dump of {PG.name(db)}": PG.dump(db)}
    db = Path(db)
    return {p.name: p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name)}


def drop_store(db):
    """Throws away what the store of db keeps outside the test's folder."""
    if PG is not None:
        PG.drop(db)


# ---------------------------------------------------------------------------
# the sink webhooks point at


class _Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def sink_url():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


# ---------------------------------------------------------------------------
# a running hookd


class Hookd:
    """One hookd process on a free loopback port.  stderr is read by a thread
    into stderr_lines; stdout (where only the api key line is printed) is read
    into stdout_lines after start and at stop.

    listen=False / db_flag=False leave out --listen / the store's flag (for
    tests that give them as environment variables: store_env); db still
    names the store (a file, or a database: store_flags)."""

    # how the API is reached: a subclass serving TLS sets "https" and the CA
    # file (requests' verify) that trusts its certificate
    scheme = "http"
    verify = True

    def __init__(self, db, args=(), env=None, api_key=None, listen=True, db_flag=True,
                 private=True):
        self.db = Path(db)
        argv = [hookd_bin(), "serve"]
        if listen:
            argv += ["--listen", "127.0.0.1:0"]
        if db_flag:
            argv += store_flags(self.db)
        if private:
            argv += ["--allow-private-networks"]
        if api_key:
            argv += ["--api-key", api_key]
        argv += list(args)
        self.argv = argv
        self.stdout_lines = []
        self.stderr_lines = []
        self._stdout_buf = b""
        self._cond = threading.Condition()
        self.exit_status = None
        self.killed = False
        # cwd: the db's folder, so a default path never lands in the repository
        self.proc = subprocess.Popen(argv, env=base_env(env), cwd=self.db.parent,
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self._stderr_thread = threading.Thread(target=self._pump_stderr, daemon=True)
        self._stderr_thread.start()
        try:
            self.port = self._wait_for_port()
            self.url = f"{self.scheme}://127.0.0.1:{self.port}"
            self._wait_healthy()
        except BaseException:
            self.proc.kill()
            self.proc.wait()
            raise
        # hookd prints the key (and flushes) before it starts listening, so
        # once the "listening" line is seen, the key is in the stdout pipe.
        self._drain_stdout()
        self.printed_key = None
        for line in self.stdout_lines:
            m = KEY_RE.match(line)
            if m:
                self.printed_key = m.group(1)
        self.api_key = api_key or self.printed_key

    def _pump_stderr(self):
        for raw in iter(self.proc.stderr.readline, b""):
            with self._cond:
                self.stderr_lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _drain_stdout(self, final=False):
        fd = self.proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            self._stdout_buf += chunk
        *done, rest = self._stdout_buf.split(b"\n")
        self._stdout_buf = rest
        if final and rest:
            done.append(rest)
            self._stdout_buf = b""
        self.stdout_lines += [d.decode("utf-8", "replace") for d in done]

    def _wait_for_port(self):
        deadline = time.monotonic() + START_TIMEOUT
        with self._cond:
            while True:
                for line in self.stderr_lines:
                    m = LISTEN_RE.search(line)
                    if m:
                        return int(m.group(1))
                if self.proc.poll() is not None and not self._stderr_thread.is_alive():
                    raise AssertionError(f"hookd exited ({self.proc.returncode}) at start; "
                                         f"stderr: {self.stderr_lines!r}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out waiting for the 'listening on' line; "
                                         f"stderr: {self.stderr_lines!r}")
                self._cond.wait(min(left, 0.1))

    def _wait_healthy(self):
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                r = requests.get(self.url + "/healthz", timeout=TIMEOUT, verify=self.verify)
                if r.status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            assert self.proc.poll() is None, f"hookd died at start: {self.stderr_lines!r}"
            assert time.monotonic() < deadline, "hookd never answered /healthz"
            time.sleep(0.02)

    def key_lines(self):
        """Lines of stdout that print an API key (complete once stopped)."""
        return [line for line in self.stdout_lines if line.startswith("api key:")]

    def alive(self):
        return self.proc.poll() is None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, expect=0):
        """Stops with sig and asserts the exit status; returns it."""
        if self.exit_status is None:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
            try:
                self.exit_status = self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"hookd did not stop within {STOP_TIMEOUT}s of {sig!r}")
            self._finish_streams()
        if expect is not None:
            assert self.exit_status == expect, (
                f"hookd exited {self.exit_status} after {sig!r}, expected {expect}; "
                f"stderr: {self.stderr_lines!r}")
        return self.exit_status

    def kill9(self):
        self.killed = True
        self.proc.kill()
        self.exit_status = self.proc.wait(timeout=STOP_TIMEOUT)
        self._finish_streams()

    def _finish_streams(self):
        self._stderr_thread.join(timeout=10)
        os.set_blocking(self.proc.stdout.fileno(), True)
        self._drain_stdout(final=True)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def client(self, key=None):
        return Client(self.url, self.api_key if key is None else key)


class Client:
    """requests with the base URL, the key and a timeout filled in."""

    def __init__(self, base, key):
        self.base = base
        self.key = key
        self.s = requests.Session()

    def request(self, method, path, json_body=None, data=None, headers=None, key=None,
                timeout=TIMEOUT, auth=True):
        h = {}
        k = self.key if key is None else key
        if auth and k is not None:
            h["Authorization"] = f"Bearer {k}"
        if json_body is not None:
            data = json.dumps(json_body)
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
        h = {name: value for name, value in h.items() if value is not None}
        return self.s.request(method, self.base + path, data=data, headers=h, timeout=timeout)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, json_body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, json_body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # webhook shorthands
    def webhooks(self):
        """Every webhook, following next_cursor from page to page."""
        out, cursor = [], None
        while True:
            r = self.get("/api/v1/webhooks" + (f"?cursor={cursor}" if cursor else ""))
            assert r.status_code == 200, r.text
            body = r.json()
            assert set(body) == {"webhooks", "next_cursor"}, body
            out += body["webhooks"]
            cursor = body["next_cursor"]
            if cursor is None:
                return out

    def count(self):
        return len(self.webhooks())

    def create(self, body):
        r = self.post("/api/v1/webhooks", body)
        assert r.status_code == 201, r.text
        return r.json()

    def fetch(self, wid):
        r = self.get(f"/api/v1/webhooks/{wid}")
        assert r.status_code == 200, r.text
        return r.json()


class Servers:
    """Starts servers for one test and stops them all at teardown."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.started = []
        self.keys = {}  # db path -> the key hookd printed for it
        self.stores = set()  # every db path used, dropped at stop_all

    def start(self, db=None, **kw):
        """Starts hookd on db (default: hookd.db in the test's tmp dir).  On a
        db whose key was printed earlier, api_key/client() use that key."""
        db = Path(db if db is not None else self.tmp / "hookd.db")
        self.stores.add(db)
        s = Hookd(db, **kw)
        self.started.append(s)
        if s.printed_key:
            self.keys[db] = s.printed_key
        elif s.api_key is None:
            s.api_key = self.keys.get(db)
        return s

    def restart(self, s, **kw):
        """Stops s with SIGTERM (status 0) and starts a new server on its db."""
        s.stop()
        return self.start(s.db, **kw)

    def store_flags(self, db):
        """store_flags(db) for a hookd run outside start (run_hookd); the
        store is thrown away with the others at stop_all."""
        self.stores.add(Path(db))
        return store_flags(db)

    def store_env(self, db):
        """store_env(db), likewise."""
        self.stores.add(Path(db))
        return store_env(db)

    def stop_all(self):
        errors = []
        try:
            for s in self.started:
                if s.killed:
                    continue
                try:
                    s.stop()
                except AssertionError as e:
                    errors.append(str(e))
        finally:
            for db in self.stores:
                drop_store(db)
        assert not errors, errors


@pytest.fixture
def servers(tmp_path):
    sv = Servers(tmp_path)
    yield sv
    sv.stop_all()


@pytest.fixture
def server(servers):
    return servers.start()


@pytest.fixture
def api(server):
    return server.client()


@pytest.fixture(scope="module")
def module_server(tmp_path_factory):
    sv = Servers(tmp_path_factory.mktemp("hookd"))
    yield sv.start()
    sv.stop_all()


@pytest.fixture(scope="module")
def mapi(module_server):
    return module_server.client()


# ---------------------------------------------------------------------------
# assertions

_MISSING = object()


def assert_error(r, status, code, field=_MISSING):
    """r is an error of the shape of docs/api.md#errors with this status and code.
    field: the expected `field`; None means the answer must hold no field;
    left out, field is not checked."""
    assert r.status_code == status, f"expected {status} {code}, got {r.status_code}: {r.text}"
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    body = r.json()
    assert set(body) == {"error"}, body
    e = body["error"]
    assert e.get("code") == code, body
    assert isinstance(e.get("message"), str) and e["message"], body
    assert set(e) <= {"code", "message", "field"}, body
    if field is None:
        assert "field" not in e, f"no field expected: {body}"
    elif field is not _MISSING:
        assert e.get("field") == field, f"expected field {field!r}: {body}"
    return e


def hook_body(sink_url, **kw):
    """A minimal valid create body."""
    body = {"name": "hook", "url": sink_url + "/hook"}
    body.update(kw)
    return body


def strip_volatile(wh):
    """A webhook without the keys that are not settings (`test` on create,
    `stats` in the list)."""
    return {k: v for k, v in wh.items() if k not in ("test", "stats")}
