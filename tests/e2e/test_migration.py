"""A database written before schema 2 (lean rows and counters) keeps
everything when today's hookd opens it: webhooks, logs with every attempt,
stats, idempotency ids, and the deliveries still waiting go out.

fixtures/schema1.sql and schema1.json were written by the hookd of the last
schema-1 commit; fixtures/make_schema1.py says how."""

import json
import sqlite3
import time
from pathlib import Path

import pytest

from conftest import Hookd
from receiver import receiver  # noqa: F401 (a fixture)

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# A schema-1 database exists only as a SQLite file, and one test reads the
# file's counters.
pytestmark = pytest.mark.sqlite_only("opens a SQLite file written by the schema-1 hookd")


@pytest.fixture
def old(tmp_path):
    """The schema-1 database loaded into a fresh file, and hookd on it."""
    db = tmp_path / "hookd.db"
    con = sqlite3.connect(db)
    con.executescript((FIXTURES / "schema1.sql").read_text())
    con.close()
    expected = json.loads((FIXTURES / "schema1.json").read_text())
    h = Hookd(db, args=["--retry-schedule", "1h"], api_key=expected["key"])
    yield h, h.client(), expected
    h.stop()


def by_name(webhooks):
    return {w["name"]: w for w in webhooks}


# What a webhook stored before issue 12's settings reads as.
NEW_DEFAULTS = {"rate_limit": None, "max_in_flight": 16, "update_contact_from_response": False,
                "disconnected_by": None, "disconnected_reason": None}


def test_webhooks_and_open_counts_are_kept(old):
    h, api, want = old
    got = by_name(api.webhooks())
    assert set(got) == {w["name"] for w in want["webhooks"]}
    for w in want["webhooks"]:
        g = dict(got[w["name"]])
        gs, ws = g.pop("stats"), dict(w)
        ws = ws.pop("stats")
        # settings the old schema could not hold read as their defaults
        assert g == {**{k: v for k, v in w.items() if k != "stats"}, **NEW_DEFAULTS}
        # the 24 h counts depend on when the fixture was made; open and
        # skipped do not
        assert (gs["pending"], gs["skipped"]) == (ws["pending"], ws["skipped"]), w["name"]


def test_every_log_entry_and_attempt_is_kept(old):
    h, api, want = old
    for wid, entries in want["logs"].items():
        r = api.get(f"/api/v1/webhooks/{wid}/logs?limit=200")
        assert r.status_code == 200, r.text
        listed = r.json()["entries"]
        assert [e["id"] for e in listed] == [e["id"] for e in entries]
        for e in entries:
            got = api.get(f"/api/v1/webhooks/{wid}/logs/{e['id']}").json()
            assert got == e, (wid, e["id"])


def test_counters_are_computed_from_the_old_rows(old):
    h, api, want = old
    h.stop()  # read the file at rest
    con = sqlite3.connect(h.db)
    rows = con.execute("SELECT w.id, SUM(h.succeeded), SUM(h.failed), SUM(h.retried) "
                       "FROM webhook_hours h JOIN webhooks w ON w.key = h.webhook "
                       "GROUP BY w.id").fetchall()
    con.close()
    got = {wid: (s, f, r) for wid, s, f, r in rows}
    for wid, entries in want["logs"].items():
        real = [e for e in entries if e["kind"] != "test"]
        finished = [e for e in real if e["state"] in ("succeeded", "failed")]
        # a retry: every attempt but a delivery's last, and the last of one
        # still retrying
        retried = sum(e["attempts"] - (e["state"] != "retrying") for e in real
                      if e["attempts"] > 0)
        want_row = (sum(e["state"] == "succeeded" for e in finished),
                    sum(e["state"] == "failed" for e in finished), retried)
        assert got.get(wid, (0, 0, 0)) == want_row, wid


def test_old_activity_ids_still_dedupe(old):
    h, api, want = old
    acts = [{"id": "old-1", "field_id": "act::s", "contact": {"contact_id": want["contact_id"]}},
            {"id": "new-1", "field_id": "act::s", "contact": {"contact_id": want["contact_id"]}}]
    r = api.post("/api/v1/activities", {"activities": acts})
    assert r.status_code == 202, r.text
    assert r.json()["activities"] == [{"id": "old-1", "duplicate": True},
                                      {"id": "new-1", "duplicate": False}]


def test_waiting_deliveries_go_out_to_the_webhooks_url(old, receiver):
    h, api, want = old
    hooks = by_name(api.webhooks())
    down, paused = hooks["Down"], hooks["Paused"]
    # The old receiver is gone; a delivery follows its webhook's URL.
    for w in (down, paused):
        r = api.patch(f"/api/v1/webhooks/{w['id']}", {"url": receiver.url + "/new"})
        assert r.status_code == 200, r.text
    retrying = next(e for e in want["logs"][down["id"]]
                    if e["activity_id"] == "old-3" and e["state"] == "retrying")
    r = api.post(f"/api/v1/webhooks/{down['id']}/logs/{retrying['id']}/retry")
    assert r.status_code == 202, r.text
    assert api.post(f"/api/v1/webhooks/{paused['id']}/connect").status_code == 200
    got = receiver.wait_count(2, path="/new", timeout=15)
    assert sorted(g.activity_id for g in got) == ["old-3", "old-3"]
    # the receiver answered; the outcome is stored a moment later
    path = f"/api/v1/webhooks/{down['id']}/logs/{retrying['id']}"
    deadline = time.monotonic() + 10
    while (e := api.get(path).json())["state"] != "succeeded" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert e["state"] == "succeeded" and e["attempts"] == 2, e
    assert [a["status_code"] for a in e["attempts_detail"]] == [503, 200], e
    assert e["request"]["url"] == receiver.url + "/new"
    assert e["request"]["body"] == retrying["request"]["body"]
