"""POST /api/workers/{worker_id}:control (ControlWorker over REST) and the state that
GET /api/workers shows."""

from __future__ import annotations

import httpx

from gopher_client import AsyncClient
from tests.rest._worker import ContractWorker
from tests.support import until


async def listed_state(rest: httpx.AsyncClient) -> str | None:
    workers = (await rest.get("/api/workers")).json()["workers"]
    return str(workers[0]["state"]) if workers else None


async def test_quiet_and_resume_over_rest(rest: httpx.AsyncClient, gopher: AsyncClient) -> None:
    worker = ContractWorker(gopher, ["email"], worker_id="rest-w:1")
    try:

        async def running() -> bool:
            return await listed_state(rest) == "running"

        await until(running, what="the worker to be listed as running")
        quiet = await rest.post("/api/workers/rest-w:1:control", json={"action": "quiet"})
        assert (quiet.status_code, quiet.json()) == (200, {"state": "quiet", "connected": True})
        assert await listed_state(rest) == "quiet"
        resumed = await rest.post("/api/workers/rest-w:1:control", json={"action": "resume"})
        assert resumed.json() == {"state": "running", "connected": True}
        assert await listed_state(rest) == "running"
    finally:
        worker.close()


async def test_unknown_worker_and_bad_action_are_clear_4xx(rest: httpx.AsyncClient) -> None:
    missing = await rest.post("/api/workers/nobody:control", json={"action": "stop"})
    assert missing.status_code == 404
    assert "worker nobody is not known" in missing.json()["error"]["message"]
    bad = await rest.post("/api/workers/nobody:control", json={"action": "pause"})
    assert (bad.status_code, bad.json()["error"]["field"]) == (400, "action")
    unset = await rest.post("/api/workers/nobody:control", json={})
    assert (unset.status_code, unset.json()["error"]["field"]) == (400, "action")
