"""Dashboard pages over HTTP (no browser): every page answers, escapes what jobs carry,
sends a strict CSP, honours the read-only switch, the roles and the base path, and
refuses form posts from other sites."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator

import httpx
import pytest

from gopher_client import Client
from gopher_server.auth import hash_token
from tests.support import BrokerThread

PAGES = [
    "/ui/",
    "/ui/queues",
    "/ui/jobs",
    "/ui/dlq",
    "/ui/scheduled",
    "/ui/workers",
    "/ui/schedules",
    "/ui/events",
]
HTMX_SHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"
HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]


@pytest.fixture
def http(broker: BrokerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=broker.http_url, timeout=15) as client:
        yield client


def _same_origin(broker: BrokerThread) -> dict[str, str]:
    return {"Origin": broker.http_url, "Sec-Fetch-Site": "same-origin"}


def test_every_page_answers_with_a_strict_csp(http: httpx.Client, broker: BrokerThread) -> None:
    with Client(broker.address) as client:
        job_id = client.submit_job("email", {"to": "a@b.c"}, delay_s=600)
    for path in [*PAGES, f"/ui/jobs/{job_id}", "/ui/login"]:
        response = http.get(path)
        assert response.status_code == 200, (path, response.text[:300])
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "http://" not in response.text and "https://" not in response.text, path
        assert "<script>" not in response.text  # only <script src=...> of our own
        if path != "/ui/login":  # every page says how long it took to build
            assert re.fullmatch(r"page;dur=\d+\.\d", response.headers["server-timing"]), path
    assert http.get("/ui").status_code == 307
    assert http.get("/ui/jobs/no-such-job").status_code == 404


def test_hostile_payloads_types_and_errors_are_escaped(
    http: httpx.Client, broker: BrokerThread
) -> None:
    with Client(broker.address) as client:
        ids = [client.submit_job("t", {"x": text, "y": [text]}) for text in HOSTILE]
    for job_id, text in zip(ids, HOSTILE, strict=True):
        page = http.get(f"/ui/jobs/{job_id}").text
        assert text not in page
        assert "&lt;" in page and ("&lt;script&gt;" in page or "&lt;img" in page)
    listing = http.get("/ui/jobs", params={"type": HOSTILE[0]}).text
    assert HOSTILE[0] not in listing


def test_static_assets_are_served_and_htmx_is_the_pinned_copy(http: httpx.Client) -> None:
    js = http.get("/ui/static/app.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert http.get("/ui/static/app.css").status_code == 200
    assert http.get("/ui/static/htmx-2.0.11.min.js").status_code == 200
    assert http.get("/ui/static/../http.py").status_code == 404
    assert http.get("/ui/static/nothing.js").status_code == 404


def test_form_posts_from_another_site_change_nothing(
    http: httpx.Client, broker: BrokerThread
) -> None:
    form = {"priority": "high", "next": "/ui/queues"}
    for headers in (
        {"Origin": "http://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {},  # a browser always says where a form post comes from
    ):
        response = http.post("/ui/actions/pause-queue", data=form, headers=headers)
        assert response.status_code == 403, headers
    with Client(broker.address) as client:
        assert not client.queue_stats().queues[0].paused
    done = http.post("/ui/actions/pause-queue", data=form, headers=_same_origin(broker))
    assert done.status_code == 303 and done.headers["location"].startswith("/ui/queues?msg=")
    with Client(broker.address) as client:
        assert client.queue_stats().queues[0].paused


def test_next_is_never_an_open_redirect(http: httpx.Client, broker: BrokerThread) -> None:
    for target in (
        "https://evil.example/",
        "//evil.example/ui/",
        "/ui//evil.example",
        "javascript:alert(1)",
    ):
        response = http.post(
            "/ui/actions/resume-queue",
            data={"priority": "high", "next": target},
            headers=_same_origin(broker),
        )
        assert response.headers["location"].startswith("/ui/?msg="), target


def test_read_only_switch_hides_actions_and_refuses_posts(
    broker_factory: Callable[..., BrokerThread],
) -> None:
    broker = broker_factory(http_port=0, ui_read_only=True)
    with httpx.Client(base_url=broker.http_url) as http:
        page = http.get("/ui/queues").text
        assert "read-only" in page and "pause-queue" not in page
        refused = http.post(
            "/ui/actions/pause-queue", data={"priority": "high"}, headers=_same_origin(broker)
        )
        assert refused.status_code == 403


def test_base_path_and_forwarded_prefix(broker_factory: Callable[..., BrokerThread]) -> None:
    broker = broker_factory(http_port=0, ui_base_path="/gopher")
    with httpx.Client(base_url=broker.http_url) as http:
        page = http.get("/ui/").text
        assert 'href="/gopher/ui/queues"' in page and 'src="/gopher/ui/static/app.js"' in page
        proxied = http.get("/ui/", headers={"X-Forwarded-Prefix": "/ops/queue"}).text
        assert 'href="/ops/queue/ui/jobs"' in proxied
        hostile = http.get("/ui/", headers={"X-Forwarded-Prefix": '/"><script>'}).text
        assert 'href="/gopher/ui/jobs"' in hostile


def test_login_keeps_the_token_in_a_strict_http_only_cookie(
    broker_factory: Callable[..., BrokerThread],
) -> None:
    ops, eyes = hash_token("tok-ops-0123456789"), hash_token("tok-eyes-0123456789")
    lines = f"ops admin {ops};eyes view {eyes}"
    broker = broker_factory(http_port=0, auth_tokens=lines)
    with httpx.Client(base_url=broker.http_url) as http:
        first = http.get("/ui/queues")
        assert first.status_code == 303 and first.headers["location"] == "/ui/login"
        bad = http.post("/ui/login", data={"token": "nope"}, headers=_same_origin(broker))
        assert bad.status_code == 401
        good = http.post(
            "/ui/login", data={"token": "tok-eyes-0123456789"}, headers=_same_origin(broker)
        )
        cookie = good.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/ui/" in cookie
        page = http.get("/ui/queues").text
        assert "eyes (view)" in page and "pause-queue" not in page
        refused = http.post(
            "/ui/actions/pause-queue", data={"priority": "high"}, headers=_same_origin(broker)
        )
        assert refused.status_code == 403


def test_vendored_htmx_is_the_pinned_release() -> None:
    # htmx.org 2.0.11 from `npm pack htmx.org@2.0.11`, dist/htmx.min.js, unmodified.
    from importlib import resources

    data = (resources.files("gopher_server.ui") / "static" / "htmx-2.0.11.min.js").read_bytes()
    assert hashlib.sha256(data).hexdigest() == HTMX_SHA256
