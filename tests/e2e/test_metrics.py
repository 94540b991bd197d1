"""GET /metrics (docs/api.md#metrics): the Prometheus text format read by a parser of its
own (HELP/TYPE lines, series, labels, histograms checked for consistency), the
counts equal to the traffic made (successes, final failures, retries), the
pending/held gauges from the store, requests counted by route pattern, and
the key it needs unless --metrics-public."""

import math
import re
import time

import pytest

from conftest import assert_error
from receiver import receiver  # noqa: F401  (a fixture)
from test_delivery import act, ingest, make_hook, person, wait_delivery, wait_for

# ---------------------------------------------------------------------------
# a small parser of the text exposition format (version 0.0.4)

NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def _unescape(v):
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "\\": "\\", '"': '"'}[m.group(1)], v)


def _labels(text):
    out, pos = {}, 0
    while pos < len(text):
        m = LABEL_RE.match(text, pos)
        assert m, f"bad label list {text!r} at {pos}"
        assert m.group(1) not in out, f"label {m.group(1)} twice in {text!r}"
        out[m.group(1)] = _unescape(m.group(2))
        pos = m.end()
    return out


def _value(text):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    assert re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", text), f"bad value {text!r}"
    return float(text)


def parse(text):
    """{family: {"type", "help", "samples": [(name, labels, value)]}}, after
    checking every line: HELP and TYPE once per family and before its
    samples, each sample belongs to the family declared last (histograms:
    _bucket, _sum, _count), no series twice."""
    assert text.endswith("\n"), "the exposition ends with a line feed"
    families, current, seen = {}, None, set()
    for line in text.split("\n")[:-1]:
        assert line, "no empty lines"
        if line.startswith("#"):
            parts = line.split(" ", 3)
            assert parts[1] in ("HELP", "TYPE") and len(parts) == 4, line
            name = parts[2]
            assert NAME_RE.fullmatch(name), line
            fam = families.setdefault(name, {"type": None, "help": None, "samples": []})
            key = parts[1].lower()
            assert fam[key] is None, f"{parts[1]} of {name} given twice"
            assert not fam["samples"], f"{parts[1]} of {name} after its samples"
            if key == "type":
                assert parts[3] in TYPES, line
            fam[key] = parts[3]
            current = name
            continue
        m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)", line)
        assert m, f"bad sample line {line!r}"
        name, labels, value = m.group(1), _labels(m.group(2) or ""), _value(m.group(3))
        assert current, f"sample before any TYPE: {line}"
        fam = families[current]
        allowed = {current}
        if fam["type"] == "histogram":
            allowed = {current + "_bucket", current + "_sum", current + "_count"}
        assert name in allowed, f"{name} is not of family {current}"
        series = (name, tuple(sorted(labels.items())))
        assert series not in seen, f"series {series} twice"
        seen.add(series)
        fam["samples"].append((name, labels, value))
    for name, fam in families.items():
        assert fam["type"] and fam["help"], f"{name} lacks TYPE or HELP"
        if fam["type"] == "histogram":
            check_histogram(name, fam)
        if fam["type"] == "counter":
            assert all(v >= 0 for _, _, v in fam["samples"]), name
    return families


def check_histogram(name, fam):
    """Buckets ascending by le, counts cumulative, +Inf equal to _count,
    _sum not negative (every hookd histogram measures something >= 0)."""
    buckets = [(s[1]["le"], s[2]) for s in fam["samples"] if s[0] == name + "_bucket"]
    les = [_value(le) for le, _ in buckets]
    assert les == sorted(les) and len(set(les)) == len(les), f"{name}: le {les}"
    assert les[-1] == math.inf, f"{name}: no +Inf bucket"
    counts = [c for _, c in buckets]
    assert counts == sorted(counts), f"{name}: buckets not cumulative {counts}"
    [count] = [s[2] for s in fam["samples"] if s[0] == name + "_count"]
    [total] = [s[2] for s in fam["samples"] if s[0] == name + "_sum"]
    assert counts[-1] == count, f"{name}: +Inf {counts[-1]} != _count {count}"
    assert total >= 0 and (count > 0 or total == 0), f"{name}: _sum {total} for {count}"


def value(fams, name, **labels):
    """The value of the one series of name with exactly these labels."""
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    fam = fams[name] if name in fams else fams[base]
    got = [v for n, lab, v in fam["samples"] if n == name and lab == labels]
    assert len(got) == 1, f"{name}{labels}: {fam['samples']}"
    return got[0]


def hist_count(fams, name):
    return value(fams, name + "_count")


def scrape(api, **kw):
    r = api.get("/metrics", **kw)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8", r.headers
    return parse(r.text)


# ---------------------------------------------------------------------------


@pytest.mark.store_independent("checks the test's own parser")
def test_parser_refuses_what_is_not_the_format():
    """The parser is strict enough to catch a broken exposition."""
    good = ("# HELP x_total a\n# TYPE x_total counter\nx_total{a=\"1\"} 2\n")
    assert value(parse(good), "x_total", a="1") == 2
    for bad in (good.replace("# TYPE x_total counter\n", ""),  # no TYPE
                good + 'x_total{a="1"} 3\n',  # a series twice
                good.replace('{a="1"}', '{a=1}'),  # unquoted label
                good + "y 1\n",  # sample of another family
                "# HELP h a\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
                "h_sum 1\nh_count 1\n"):  # not cumulative
        with pytest.raises(AssertionError):
            parse(bad)


def test_counts_equal_the_traffic(servers, receiver):
    """Two activities to three webhooks: one answering 200, one 400 (failed
    for good), one 503 until its two retries are spent. Test sends made at
    creation go to the same receiver and are counted nowhere."""
    s = servers.start(args=["--retry-schedule", "100ms", "--max-retries", "2",
                            "--request-timeout", "5s"])
    api = s.client()
    before = scrape(api)
    assert all(value(before, "hookd_deliveries_total", outcome=o) == 0
               for o in ("succeeded", "failed", "retried"))
    ok = make_hook(api, receiver, "/ok")["id"]
    bad = make_hook(api, receiver, "/bad")["id"]
    flaky = make_hook(api, receiver, "/flaky")["id"]
    receiver.script("/bad", [lambda req: 200 if req.is_test else 400])
    receiver.script("/flaky", [lambda req: 200 if req.is_test else 503])
    assert receiver.count(tests="only") == 3  # the three test sends went out
    cid = person(api)
    aids = ingest(api, [act(cid, "m-1"), act(cid, "m-2")])
    for aid in aids:
        wait_delivery(api, ok, aid, "succeeded")
        wait_delivery(api, bad, aid, "failed", attempts=1)
        wait_delivery(api, flaky, aid, "failed", attempts=3)

    expected = {"succeeded": 2, "failed": 4, "retried": 4}

    def settled():  # the engine counts once the store has the outcome
        f = scrape(api)
        got = {o: value(f, "hookd_deliveries_total", outcome=o) for o in expected}
        return f if got == expected else None
    fams = wait_for(settled, 5, what=lambda: scrape(api)["hookd_deliveries_total"])
    attempts = {c: value(fams, "hookd_attempts_total", **{"class": c})
                for c in ("2xx", "3xx", "4xx", "5xx", "error")}
    assert attempts == {"2xx": 2, "3xx": 0, "4xx": 2, "5xx": 6, "error": 0}, attempts
    assert hist_count(fams, "hookd_attempt_duration_seconds") == 10
    # first attempts only: one per delivery
    assert hist_count(fams, "hookd_ingest_to_attempt_seconds") == 6
    assert value(fams, "hookd_ingest_to_attempt_seconds_sum") < 6 * 5
    # every stored outcome was in one batch, each batch one commit
    assert value(fams, "hookd_store_outcome_batch_size_sum") == 10
    batches = hist_count(fams, "hookd_store_outcome_batch_size")
    assert 1 <= batches <= 10
    assert hist_count(fams, "hookd_store_outcome_commit_seconds") == batches
    assert value(fams, "hookd_in_flight") == 0
    assert value(fams, "hookd_attempts_refused_total") == 0
    assert value(fams, "hookd_deliveries_pending") == 0
    assert value(fams, "hookd_deliveries_held") == 0
    assert receiver.count() == 10  # what was counted is what was sent


def test_pending_held_and_in_flight_gauges(servers, receiver):
    """Deliveries hanging at the receiver are in flight and pending; those of
    a webhook disconnected meanwhile are held. The gauges read the store."""
    s = servers.start(args=["--request-timeout", "20s"])
    api = s.client()
    receiver.script("/hang", [lambda req: 200 if req.is_test else "hang"])
    p = make_hook(api, receiver, "/hang", activities=["act::s"])["id"]
    h = make_hook(api, receiver, "/hang", activities=["act::c"])["id"]
    cid = person(api)
    ingest(api, [act(cid, "p-1"), act(cid, "p-2"), act(cid, "h-1", "act::c"),
                 act(cid, "h-2", "act::c"), act(cid, "h-3", "act::c")])
    receiver.wait(lambda r: r.held() == 5)
    fams = wait_for(lambda: (lambda f: f if value(f, "hookd_in_flight") == 5 else None)(
        scrape(api)), 5)
    assert value(fams, "hookd_deliveries_pending") == 5
    assert value(fams, "hookd_deliveries_held") == 0
    r = api.post(f"/api/v1/webhooks/{h}/disconnect")
    assert r.status_code == 200, r.text
    fams = scrape(api)
    assert value(fams, "hookd_deliveries_pending") == 2
    assert value(fams, "hookd_deliveries_held") == 3
    assert value(fams, "hookd_in_flight") == 5  # a disconnect lets attempts finish
    assert p != h
    receiver.stop()  # the hanging attempts end now, and the stop need not wait for them
    s.stop()


@pytest.mark.store_independent("the key check and the route table, not the store")
def test_metrics_needs_a_key_unless_public(servers):
    s = servers.start()
    api = s.client()
    assert_error(api.get("/metrics", auth=False), 401, "unauthorized")
    assert_error(api.get("/metrics", key="hk_wrong" + "x" * 40), 401, "unauthorized")
    scrape(api)
    r = api.post("/api/v1/keys", {"name": "ingest", "scope": "ingest"})
    assert r.status_code == 201, r.text
    assert_error(api.get("/metrics", key=r.json()["key"]), 403, "forbidden")

    pub = servers.start(db=servers.tmp / "public.db", args=["--metrics-public"]).client()
    fams = scrape(pub, auth=False)
    assert value(fams, "hookd_deliveries_total", outcome="succeeded") == 0
    # the API itself still needs its key
    assert_error(pub.get("/api/v1/webhooks", auth=False), 401, "unauthorized")


@pytest.mark.store_independent("counts made in the API layer, not the store")
def test_requests_are_counted_by_route_pattern(servers, sink_url):
    s = servers.start()
    api = s.client()
    wid = api.create({"name": "r", "url": sink_url + "/r"})["id"]
    for _ in range(3):
        assert api.get("/api/v1/webhooks").status_code == 200
    assert api.get(f"/api/v1/webhooks/{wid}").status_code == 200
    missing = "0190f3a2-0000-7000-8000-000000000000"
    for _ in range(2):
        assert api.get(f"/api/v1/webhooks/{missing}").status_code == 404
    assert api.get(f"/api/v1/webhooks/{wid}/logs/{missing}").status_code == 404
    assert api.get(f"/api/v1/webhooks/{wid}", auth=False).status_code == 401
    assert api.request("PUT", "/api/v1/webhooks").status_code == 405
    assert api.get("/no/such/path/" + "x" * 30).status_code == 404
    scrape(api)
    fams = scrape(api)

    def n(route, status):
        return value(fams, "hookd_http_requests_total", route=route, status=str(status))
    assert n("/api/v1/webhooks", 201) == 1
    assert n("/api/v1/webhooks", 200) == 3
    assert n("/api/v1/webhooks/{id}", 200) == 1
    assert n("/api/v1/webhooks/{id}", 404) == 2
    assert n("/api/v1/webhooks/{id}", 401) == 1
    assert n("/api/v1/webhooks/{id}/logs/{delivery_id}", 404) == 1
    assert n("/api/v1/webhooks", 405) == 1
    assert n("unmatched", 404) == 1
    assert n("/metrics", 200) == 1  # the first scrape; this one is not answered yet
    assert n("/healthz", 200) >= 1  # the fixture waited for it
    routes = {lab["route"] for _, lab, _ in fams["hookd_http_requests_total"]["samples"]}
    assert not any(wid in r or missing in r or "xxx" in r for r in routes), routes
