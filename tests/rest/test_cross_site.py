"""No state change from another site: every non-GET route of the contract refuses a
cross-site or non-JSON request before it reaches the broker (gopher_server.rest.guard).

The routes are read from the contract's bindings, so a route added later is covered too.
"""

from __future__ import annotations

import re

import httpx
import pytest

from gopher_client import AsyncClient
from gopher_server.rest._routes import Binding, discover_bindings
from gopher_server.rest.guard import SAFE_METHODS

STATE_CHANGING = [b for b in discover_bindings() if b.http_method not in SAFE_METHODS]
FORM = "application/x-www-form-urlencoded"
# Cross-site markers a browser would send, and the header set that carries each.
CROSS_SITE = {
    "evil-origin": {"Origin": "http://evil.example", "Content-Type": FORM},
    "evil-origin-json": {"Origin": "http://evil.example", "Content-Type": "application/json"},
    "null-origin": {"Origin": "null", "Content-Type": "application/json"},
    "other-port": {"Origin": "http://rest.test:9999", "Content-Type": "application/json"},
    "fetch-cross-site": {"Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"},
    "fetch-same-site": {"Sec-Fetch-Site": "same-site", "Content-Type": "application/json"},
}
NOT_JSON = {"form": FORM, "text": "text/plain", "multipart": "multipart/form-data; boundary=x"}


def _path(binding: Binding) -> str:
    """A concrete path for the binding's template, with a valid value for each variable."""
    return re.sub(
        r"\{([^}=]+)[^}]*\}",
        lambda m: "high" if m.group(1) == "priority" else "x1",
        binding.template.template,
    )


def _ids(binding: Binding) -> str:
    return f"{binding.http_method} {binding.template.template}"


def test_the_contract_has_state_changing_routes() -> None:
    # Guards against a discovery bug silently emptying the parametrized lists below.
    routes = {(b.http_method, b.template.template) for b in STATE_CHANGING}
    assert ("POST", "/api/queues/{priority}:pause") in routes
    assert ("DELETE", "/api/dlq") in routes and ("PUT", "/api/rate-limits/{type}") in routes


@pytest.mark.parametrize("binding", STATE_CHANGING, ids=_ids)
@pytest.mark.parametrize("marker", sorted(CROSS_SITE))
async def test_cross_site_is_a_json_403(
    offline: httpx.AsyncClient, binding: Binding, marker: str
) -> None:
    # The offline broker answers nothing: a 403 (not a 503) proves the call never left.
    response = await offline.request(
        binding.http_method, _path(binding), content=b"", headers=CROSS_SITE[marker]
    )
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "cross_site_request"


@pytest.mark.parametrize("binding", STATE_CHANGING, ids=_ids)
@pytest.mark.parametrize("kind", [*sorted(NOT_JSON), "none"])
async def test_non_json_is_a_json_415(
    offline: httpx.AsyncClient, binding: Binding, kind: str
) -> None:
    headers = {"Content-Type": NOT_JSON[kind]} if kind in NOT_JSON else {}
    request = offline.build_request(binding.http_method, _path(binding), content=b"")
    for name, value in headers.items():
        request.headers[name] = value
    if kind == "none":
        del request.headers["content-type"]  # the fixture's default
    response = await offline.send(request)
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize("binding", STATE_CHANGING, ids=_ids)
async def test_same_origin_json_reaches_the_broker(
    offline: httpx.AsyncClient, binding: Binding
) -> None:
    # The broker's own pages (same host, or a proxy's forwarded host) pass the guard.
    for headers in (
        {"Origin": "http://rest.test", "Sec-Fetch-Site": "same-origin"},
        {"Origin": "https://queues.example.com", "X-Forwarded-Host": "queues.example.com"},
        {},
    ):
        response = await offline.request(
            binding.http_method, _path(binding), content=b"", headers=headers
        )
        assert response.status_code not in (403, 415), (headers, response.text)


async def test_a_form_posted_from_another_site_pauses_nothing(
    rest: httpx.AsyncClient, gopher: AsyncClient
) -> None:
    # The reported attack, against a real broker without auth.
    response = await rest.post(
        "/api/queues/high:pause",
        content=b"",
        headers={"Origin": "http://evil.example", "Content-Type": FORM},
    )
    assert response.status_code == 403
    stats = (await rest.get("/api/queues")).json()
    assert {q["priority"]: q["paused"] for q in stats["queues"]}["high"] is False
    submitted = await rest.post(
        "/api/jobs", content=b'{"type": "e"}', headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert submitted.status_code == 403
    assert (await rest.get("/api/jobs")).json().get("jobs", []) == []
    # The same call from the broker's own origin works.
    allowed = await rest.post("/api/queues/high:pause", headers={"Origin": "http://rest.test"})
    assert allowed.status_code == 200
