"""Signing secrets receivers can live with (docs/api.md#signing-secrets): a secret of the
operator's choosing on create and on the unsaved test, and after
rotate-secret two signatures (new, then previous) for --rotation-overlap.

Signatures are checked the way a receiver would: with the `standardwebhooks`
npm library (tests/e2e/verify_sw.mjs, node_modules/ from `npm ci`), and
byte-exact against an independent HMAC computation (test_delivery's
expected_signature)."""

import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import assert_error
from receiver import receiver  # noqa: F401  (a fixture)
from test_delivery import FAST, act, ingest, make_hook, person, wait_delivery

ROOT = Path(__file__).resolve().parents[2]
VERIFY = Path(__file__).resolve().parent / "verify_sw.mjs"
OVERLAP_S = 5  # --rotation-overlap of the overlap test: long enough for a slow build


def secret_of(n, raw=None):
    """'whsec_' + base64 of n random bytes (or of raw)."""
    return "whsec_" + base64.b64encode(raw if raw is not None else os.urandom(n)).decode()


def verify_sw(checks):
    """[(secret, received request)] -> [True/False]: whether the
    standardwebhooks library accepts each request with that secret."""
    node = shutil.which("node")
    assert node, "node is needed to run the standardwebhooks library"
    assert (ROOT / "node_modules" / "standardwebhooks").is_dir(), \
        "node_modules/standardwebhooks is missing: run `npm ci` at the repository root"
    doc = [{"secret": s,
            "headers": {k: r.header(k) for k in
                        ("webhook-id", "webhook-timestamp", "webhook-signature")},
            "body": r.body.decode("utf-8")} for s, r in checks]
    out = subprocess.run([node, str(VERIFY)], input=json.dumps(doc), capture_output=True,
                         text=True, cwd=ROOT, timeout=30)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert len(res) == len(checks), res
    return [x["ok"] for x in res]


def one_sig(secret, req):
    """The v1 signature of req under secret, computed here with hmac alone."""
    key = base64.b64decode(secret[len("whsec_"):], validate=True)
    msg = f"{req.header('webhook-id')}.{req.header('webhook-timestamp')}.".encode() + req.body
    return "v1," + base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()


def assert_signed_by(req, *secrets):
    """req's webhook-signature is exactly one signature per secret, in order,
    space separated, and the library accepts it with each of them."""
    assert req.header("webhook-signature") == " ".join(one_sig(s, req) for s in secrets), req
    assert verify_sw([(s, req) for s in secrets]) == [True] * len(secrets), req


def assert_refused_by(req, secret):
    assert verify_sw([(secret, req)]) == [False], (secret, req)


def deliver(api, receiver, wid, path, aid):
    """Ingests activity aid for wid; returns (the request received, the log
    entry's detail)."""
    [aid] = ingest(api, [act(person(api), aid)])
    e = wait_delivery(api, wid, aid, "succeeded")
    [req] = [r for r in receiver.requests(path) if r.activity_id == aid]
    return req, e


# ---------------------------------------------------------------------------
# a secret of the operator's choosing


def test_chosen_secret_signs_every_delivery(servers, receiver):
    api = servers.start(args=FAST).client()
    chosen = secret_of(40)
    wh = make_hook(api, receiver, "/chosen", secret=chosen)
    assert wh["secret"] == chosen and wh["test"]["ok"] is True, wh
    assert api.fetch(wh["id"])["secret"] == chosen
    [t] = receiver.requests("/chosen", tests="only")
    assert_signed_by(t, chosen)
    req, e = deliver(api, receiver, wh["id"], "/chosen", "chosen-1")
    assert_signed_by(req, chosen)
    assert_refused_by(req, secret_of(40))  # the library does check
    assert e["request"]["headers"]["webhook-signature"] == req.header("webhook-signature"), e


@pytest.mark.parametrize("n", [24, 64])
def test_chosen_secret_lengths_at_the_limits(servers, receiver, n):
    api = servers.start().client()
    chosen = secret_of(n)
    wh = make_hook(api, receiver, f"/len{n}", secret=chosen)
    assert wh["secret"] == chosen and wh["test"]["ok"] is True, wh
    [t] = receiver.requests(f"/len{n}", tests="only")
    assert_signed_by(t, chosen)


BAD_SECRETS = [
    (secret_of(23), "23 bytes"),
    (secret_of(65), "65 bytes"),
    (secret_of(0, b"x" * 32)[len("whsec_"):], "no whsec_ prefix"),
    ("WHSEC_" + secret_of(32)[len("whsec_"):], "prefix in capitals"),
    ("whsec_" + "*" * 44, "not base64"),
    (secret_of(25).rstrip("="), "padding left out"),
    (secret_of(32)[:10] + " " + secret_of(32)[11:], "a space inside"),
    (secret_of(32).replace("whsec_", "whsec_\n"), "a newline inside"),
    ("whsec_", "empty"),
    (32, "not a string"),
    (None, "null"),
]


@pytest.mark.parametrize("secret,why", BAD_SECRETS, ids=[w for _, w in BAD_SECRETS])
def test_invalid_secret_refused_on_create_and_unsaved_test(mapi, receiver, secret, why):
    n = mapi.count()
    body = {"name": "bad", "url": receiver.url + "/bad", "secret": secret}
    e = assert_error(mapi.post("/api/v1/webhooks", body), 400, "invalid", "secret")
    if isinstance(secret, str):
        assert "whsec_" in e["message"] and "24 to 64" in e["message"], e
    assert mapi.count() == n
    assert_error(mapi.post("/api/v1/webhooks/test", body), 400, "invalid", "secret")
    assert receiver.count("/bad", tests=True) == 0


def test_patch_does_not_take_a_secret(mapi, receiver):
    wh = make_hook(mapi, receiver, "/patch")
    e = assert_error(mapi.patch(f"/api/v1/webhooks/{wh['id']}", {"secret": secret_of(32)}),
                     400, "invalid", "secret")
    assert "rotate-secret" in e["message"], e
    assert mapi.fetch(wh["id"])["secret"] == wh["secret"]


# ---------------------------------------------------------------------------
# the unsaved test


def test_unsaved_test_signs_with_the_given_secret(mapi, receiver):
    chosen = secret_of(48)
    r = mapi.post("/api/v1/webhooks/test",
                  {"name": "u", "url": receiver.url + "/u-given", "secret": chosen})
    assert r.status_code == 200 and r.json()["ok"] is True, r.text
    assert "secret" not in r.json(), "a given secret is not echoed"
    [req] = receiver.requests("/u-given", tests="only")
    assert_signed_by(req, chosen)


def test_unsaved_test_without_secret_answers_the_one_it_used(mapi, receiver):
    n = mapi.count()
    r = mapi.post("/api/v1/webhooks/test", {"name": "u", "url": receiver.url + "/u-new"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert set(got) == {"ok", "status_code", "response_body", "duration_ms", "error",
                        "secret"}, got
    assert got["ok"] is True, got
    assert len(base64.b64decode(got["secret"][len("whsec_"):], validate=True)) == 32, got
    [req] = receiver.requests("/u-new", tests="only")
    assert_signed_by(req, got["secret"])
    assert mapi.count() == n, "the unsaved test stores nothing"
    # The receiver set up with it now takes the webhook created with it.
    wh = make_hook(mapi, receiver, "/u-new", secret=got["secret"])
    assert wh["secret"] == got["secret"] and wh["test"]["ok"] is True, wh
    assert_signed_by(receiver.requests("/u-new", tests="only")[-1], got["secret"])
    # Two unsaved tests without a secret are not signed alike.
    r2 = mapi.post("/api/v1/webhooks/test", {"name": "u", "url": receiver.url + "/u-new"})
    assert r2.json()["secret"] != got["secret"], r2.text


# ---------------------------------------------------------------------------
# rotation


def test_rotation_signs_with_both_secrets_for_the_overlap_then_new_only(servers, receiver):
    api = servers.start(args=FAST + ["--rotation-overlap", f"{OVERLAP_S}s"]).client()
    wh = make_hook(api, receiver, "/rot")
    old = wh["secret"]
    req, _ = deliver(api, receiver, wh["id"], "/rot", "before")
    assert_signed_by(req, old)  # never rotated: one signature

    r = api.post(f"/api/v1/webhooks/{wh['id']}/rotate-secret")
    assert r.status_code == 200, r.text
    rotated = time.time()
    new = r.json()["secret"]
    assert new != old

    # Inside the overlap: new then previous; each verifies on its own.
    req, e = deliver(api, receiver, wh["id"], "/rot", "inside")
    assert req.time < rotated + OVERLAP_S - 0.5, "delivered too late to test the overlap"
    assert len(req.header("webhook-signature").split(" ")) == 2, req
    assert_signed_by(req, new, old)
    assert e["request"]["headers"]["webhook-signature"] == req.header("webhook-signature"), e
    t = api.post(f"/api/v1/webhooks/{wh['id']}/test")
    assert t.status_code == 200 and t.json()["ok"] is True, t.text
    assert_signed_by(receiver.requests("/rot", tests="only")[-1], new, old)

    # After it: the new secret only; the old one no longer verifies.
    time.sleep(max(0.0, rotated + OVERLAP_S + 0.5 - time.time()))
    req, e = deliver(api, receiver, wh["id"], "/rot", "after")
    assert_signed_by(req, new)
    assert_refused_by(req, old)
    assert e["request"]["headers"]["webhook-signature"] == req.header("webhook-signature"), e
    t = api.post(f"/api/v1/webhooks/{wh['id']}/test")
    assert t.status_code == 200 and t.json()["ok"] is True, t.text
    last = receiver.requests("/rot", tests="only")[-1]
    assert_signed_by(last, new)
    assert_refused_by(last, old)


def test_rotation_survives_a_restart_and_a_second_rotation(servers, receiver):
    s = servers.start(args=FAST)  # the default overlap: 24 h
    api = s.client()
    wh = make_hook(api, receiver, "/rr")
    first = wh["secret"]
    second = api.post(f"/api/v1/webhooks/{wh['id']}/rotate-secret").json()["secret"]
    # The previous secret and the rotation time are stored, not kept in memory.
    api = servers.restart(s, args=FAST).client()
    req, _ = deliver(api, receiver, wh["id"], "/rr", "restarted")
    assert_signed_by(req, second, first)
    # A second rotation keeps only the secret it replaced.
    third = api.post(f"/api/v1/webhooks/{wh['id']}/rotate-secret").json()["secret"]
    req, _ = deliver(api, receiver, wh["id"], "/rr", "twice")
    assert_signed_by(req, third, second)
    assert_refused_by(req, first)
    assert "secret_prev" not in api.fetch(wh["id"]), "the previous secret is not answered"
