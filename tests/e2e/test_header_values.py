"""What a custom header's value turns into on the wire (docs/api.md#webhook-settings,
docs/payload.md#headers): found by tests/fuzz/fuzz_url_header.c, which sends every accepted
header through libcurl and looks at the request it wrote.

libcurl drops a header line whose value is blank ("X-Empty: "), so a header
with an empty or all-blank value, which the contract allows, was accepted,
shown in the webhook, and never sent.
"""
from receiver import receiver  # noqa: F401  (a fixture)


def test_empty_and_blank_header_values_are_sent(api, receiver):
    headers = [{"key": "X-Empty", "value": ""},
               {"key": "X-Blank", "value": "  \t "},
               {"key": "X-Set", "value": "v"}]
    r = api.post("/api/v1/webhooks", {"name": "blank", "url": receiver.url + "/blank",
                                      "headers": headers})
    assert r.status_code == 201, r.text
    assert r.json()["headers"] == headers, r.json()
    # the test payload sent on creation carries each header once
    [req] = receiver.requests("/blank", tests="only")
    assert req.header_all("X-Empty") == [""], req
    # HTTP trims blanks around a value: an all-blank one arrives empty
    assert req.header_all("X-Blank") == [""], req
    assert req.header_all("X-Set") == ["v"], req
    # and so does the unsaved test send
    r = api.post("/api/v1/webhooks/test", {"name": "t", "url": receiver.url + "/unsaved",
                                           "headers": headers})
    assert r.status_code == 200 and r.json()["ok"] is True, r.text
    [req] = receiver.requests("/unsaved", tests="only")
    assert req.header_all("X-Empty") == [""] and req.header_all("X-Blank") == [""], req
