"""An answer cut short after its status line (docs/decisions.md, Delivery):
the status decides the attempt, as for any answer, and the log shows it as
an answer (status_code, error null), not as a transport failure. Retrying a
2xx whose body was cut would send the receiver, which has acted on the
request, the same message again.

The receiver's "cut" action sends the status line and a Content-Length 100
bytes longer than the body it sends, then ends the connection: with a reset
or an orderly close."""

import time

from receiver import receiver  # noqa: F401  (a fixture)
from test_delivery import FAST, act, detail, ingest, logs, make_hook, person, wait_delivery


def test_a_cut_answer_is_judged_by_its_status(servers, receiver):
    s = servers.start(args=FAST)
    api = s.client()
    # the test send on create, then the delivery's two attempts
    receiver.script("/cut", [("cut", 200, b"partial", True), ("cut", 503, b"busy", True),
                             ("cut", 200, b"partial", True)])
    wh = make_hook(api, receiver, "/cut")
    assert wh["test"] == {"ok": True, "status_code": 200, "error": None}, wh["test"]
    [t] = logs(api, wh["id"], kind="test")
    t = detail(api, wh["id"], t["id"])
    assert (t["state"], t["status_code"], t["error"]) == ("succeeded", 200, None), t
    assert t["response"]["body"] == "partial", t

    [aid] = ingest(api, [act(person(api), "cut-1")])
    e = wait_delivery(api, wh["id"], aid, "succeeded")
    # the 503 was retried, the 200 was not: one request more than the
    # attempts would be a duplicate
    assert e["attempts"] == 2, e
    first, second = e["attempts_detail"]
    assert (first["status_code"], first["error"], first["response_body"]) == (503, None, "busy")
    assert (second["status_code"], second["error"]) == (200, None), second
    assert (e["status_code"], e["error"], e["response"]["body"]) == (200, None, "partial"), e
    time.sleep(0.6)  # past the retry schedule (200 ms, 400 ms): nothing more is sent
    assert receiver.count("/cut") == 2

    # A test send whose answer ends with an orderly close, cut short.
    receiver.script("/cut", ("cut", 200, b"half", False))
    r = api.post(f"/api/v1/webhooks/{wh['id']}/test")
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["ok"], got["status_code"], got["error"], got["response_body"]) == (
        True, 200, None, "half"), got
    tests = logs(api, wh["id"], kind="test")
    assert len(tests) == 2, tests
    assert (tests[0]["state"], tests[0]["status_code"], tests[0]["error"]) == (
        "succeeded", 200, None), tests[0]
