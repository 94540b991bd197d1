"""The frame's non-JSON answers: the operator page (docs/web.md) at / and its
files under /assets/, their caching (ETag, If-None-Match → 304), and the
headers every answer carries (CSP, nosniff, no referrer).  What the page does
in a browser is tested by tests/web/ (Playwright)."""

import re

import pytest
import requests

from conftest import TIMEOUT, assert_error

CSP_DIRECTIVES = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
}


def csp(r):
    value = r.headers.get("Content-Security-Policy", "")
    out = {}
    for part in value.split(";"):
        name, _, rest = part.strip().partition(" ")
        if name:
            out[name] = rest.strip()
    return out


def assert_common_headers(r):
    assert csp(r) == CSP_DIRECTIVES, r.headers
    assert r.headers.get("X-Content-Type-Options") == "nosniff"
    assert r.headers.get("Referrer-Policy") == "no-referrer"


def get(server, path, **headers):
    return requests.get(server.url + path, headers=headers, timeout=TIMEOUT)


def page_assets(html):
    """Every /assets/ URL the page names (script, style, icon)."""
    return sorted(set(re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)))


def test_page_is_public_html_with_strict_headers(mapi, module_server):
    r = get(module_server, "/")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.headers["Cache-Control"] == "no-cache"
    assert re.fullmatch(r'"[0-9a-f]{32}"', r.headers["ETag"])
    assert_common_headers(r)
    assert r.text.lstrip().lower().startswith("<!doctype html>")
    # Nothing from another origin: every script, style and link is local.
    assert not re.search(r'(?:src|href)="(?:https?:)?//', r.text)


def test_page_ignores_a_wrong_key(module_server):
    r = get(module_server, "/", Authorization="Bearer wrong-key-wrong-key")
    assert r.status_code == 200


@pytest.mark.parametrize("ext,ctype", [
    (".js", "text/javascript; charset=utf-8"),
    (".css", "text/css; charset=utf-8"),
    (".svg", "image/svg+xml"),
])
def test_assets_the_page_names_are_served(module_server, ext, ctype):
    html = get(module_server, "/").text
    named = [a for a in page_assets(html) if a.endswith(ext)]
    assert named, f"the page names no {ext} asset: {page_assets(html)}"
    for path in named:
        r = get(module_server, path)
        assert r.status_code == 200, path
        assert r.headers["Content-Type"] == ctype, path
        assert r.headers["Cache-Control"] == "no-cache", path
        assert re.fullmatch(r'"[0-9a-f]{32}"', r.headers["ETag"]), path
        assert_common_headers(r)
        assert r.content


def test_etag_revalidation(module_server):
    first = get(module_server, "/")
    etag = first.headers["ETag"]
    for inm in (etag, f"W/{etag}", f'"other", {etag}', f'W/"x",  W/{etag} ', "*"):
        r = get(module_server, "/", **{"If-None-Match": inm})
        assert r.status_code == 304, inm
        assert r.content == b"", inm
        assert r.headers["ETag"] == etag
        assert r.headers["Cache-Control"] == "no-cache"
        assert_common_headers(r)
    for inm in ('"other"', etag[:-2] + '"', "W/", ""):
        r = get(module_server, "/", **{"If-None-Match": inm})
        assert r.status_code == 200, inm
        assert r.content == first.content


def test_assets_have_distinct_etags(module_server):
    html = get(module_server, "/").text
    tags = {get(module_server, a).headers["ETag"] for a in page_assets(html)}
    assert len(tags) == len(page_assets(html))


@pytest.mark.parametrize("path", [
    "/assets/no-such-file.js", "/assets/", "/assets", "/assets/index.html/x",
    "/assets/.hidden", "/index.html", "/favicon.ico",
])
def test_unknown_page_paths_are_json_404(module_server, path):
    r = get(module_server, path)
    assert_error(r, 404, "not_found", None)
    assert_common_headers(r)
    assert r.headers["Cache-Control"] == "no-store"


def test_page_answers_get_only(module_server):
    r = requests.post(module_server.url + "/", timeout=TIMEOUT)
    assert_error(r, 405, "method_not_allowed", None)


def test_json_answers_stay_uncached(mapi):
    r = mapi.get("/api/v1/webhooks")
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Content-Type"] == "application/json"
    assert "ETag" not in r.headers
    assert_common_headers(r)
    # An If-None-Match never turns a JSON answer into a 304.
    r = mapi.get("/api/v1/webhooks", headers={"If-None-Match": "*"})
    assert r.status_code == 200


def test_api_still_needs_a_key(module_server):
    r = get(module_server, "/api/v1/webhooks")
    assert_error(r, 401, "unauthorized", None)
    assert_common_headers(r)
