"""Error rows the shim answers itself, before (or instead of) calling the broker."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

JSON = {"Content-Type": "application/json"}


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "field"}
    return error


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"type": "email", ', None),
        (b"[]", None),
        (b'{"type": "email", "payload": [1]}', "payload"),
        (b'{"type": "email", "payload": "hi"}', "payload"),
        (b'{"type": "email", "priority": "urgent"}', "priority"),
        (b'{"type": "email", "retries": 99999999999}', "retries"),
        (b'{"type": 7}', "type"),
        (b'{"type": "email", "colour": "red"}', "colour"),
    ],
)
async def test_bad_bodies_are_400_naming_the_field(
    offline: httpx.AsyncClient, body: bytes, field: str | None
) -> None:
    response = await offline.post("/api/jobs", content=body, headers=JSON)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_argument"
    assert error["field"] == field


async def test_bad_path_and_query_values_are_400(offline: httpx.AsyncClient) -> None:
    response = await offline.post("/api/queues/urgent:pause")
    assert response.status_code == 400 and error_of(response)["field"] == "priority"
    response = await offline.get("/api/jobs", params={"state": "sleeping"})
    assert response.status_code == 400 and error_of(response)["field"] == "state"
    response = await offline.get("/api/jobs", params={"colour": "red"})
    assert response.status_code == 400 and error_of(response)["field"] == "colour"


async def test_body_over_the_limit_is_413(offline: httpx.AsyncClient) -> None:
    body = b'{"type": "email", "payload": {"x": "' + b"a" * 5000 + b'"}}'
    response = await offline.post("/api/jobs", content=body, headers=JSON)
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"

    async def chunks() -> Any:  # no Content-Length: the limit holds while streaming
        for _ in range(10):
            yield b" " * 1000

    response = await offline.post("/api/jobs", content=chunks(), headers=JSON)
    assert response.status_code == 413


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
async def test_non_json_bodies_are_415(offline: httpx.AsyncClient, content_type: str) -> None:
    response = await offline.post(
        "/api/jobs", content=b'{"type": "e"}', headers={"Content-Type": content_type}
    )
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


async def test_wrong_method_is_405_with_allow(offline: httpx.AsyncClient) -> None:
    response = await offline.put("/api/jobs", json={})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST, GET"
    assert error_of(response)["code"] == "method_not_allowed"
    response = await offline.get("/api/jobs:batch")
    assert (response.status_code, response.headers["allow"]) == (405, "POST")
    response = await offline.post("/api/openapi.json")
    assert (response.status_code, response.headers["allow"]) == (405, "GET")


async def test_unknown_paths_are_404(offline: httpx.AsyncClient) -> None:
    for path in ("/api/nothing", "/api/jobs/", "/api/jobs/a/b", "/"):
        response = await offline.get(path)
        assert response.status_code == 404, path
        assert error_of(response)["code"] == "not_found"


async def test_broker_down_is_503(offline: httpx.AsyncClient) -> None:
    response = await offline.get("/api/queues")
    assert response.status_code == 503
    assert error_of(response)["code"] == "unavailable"


async def test_openapi_and_docs_pages(offline: httpx.AsyncClient) -> None:
    response = await offline.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.json()["paths"]["/api/jobs"]["post"]["operationId"] == "SubmitJob"
    page = await offline.get("/api/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'fetch("openapi.json")' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from a CDN
