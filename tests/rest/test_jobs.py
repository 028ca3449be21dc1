"""Job routes end to end: the shim over a real broker on a real Redis."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx

from gopher_client import AsyncClient, JobState, Priority
from tests.rest._worker import ContractWorker

DOCUMENTED = {
    "type": "email",
    "payload": {
        "to": "user@example.com",
        "subject": "Welcome!",
        "body": "Thank you for signing up.",
    },
    "priority": "high",
    "retries": 3,
}


async def test_the_documented_call_works_verbatim(
    rest: httpx.AsyncClient, gopher: AsyncClient
) -> None:
    # A worker once registered the type (it need not be live now), so no warning.
    worker = ContractWorker(gopher, ["email"])
    await worker.call.read()
    worker.call.cancel()
    response = await rest.post("/api/jobs", json=DOCUMENTED)
    assert response.status_code == 201
    body = response.json()
    assert uuid.UUID(body["job_id"]).version == 4
    assert body["status"] == "enqueued"
    assert set(body) == {"job_id", "status"}  # exactly the documented answer
    job = await gopher.get_job(body["job_id"])
    assert (job.type, job.priority, job.retries) == ("email", Priority.HIGH, 3)
    assert job.state == JobState.ENQUEUED


async def test_a_type_no_worker_registered_is_accepted_with_a_warning(
    rest: httpx.AsyncClient, gopher: AsyncClient
) -> None:
    response = await rest.post("/api/jobs", json={"type": "emial"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "enqueued"
    (warning,) = body["warnings"]
    assert "'emial'" in warning and "no worker" in warning
    assert (await gopher.get_job(body["job_id"])).state == JobState.ENQUEUED
    batch = await rest.post(
        "/api/jobs:batch", json={"jobs": [{"type": "emial"}, {"type": "emial", "retries": 1}]}
    )
    assert [len(r["warnings"]) for r in batch.json()["results"]] == [1, 1]


async def test_delayed_and_idempotent_submits(rest: httpx.AsyncClient) -> None:
    delayed = await rest.post("/api/jobs", json={"type": "report", "delay_s": 3600})
    assert (delayed.status_code, delayed.json()["status"]) == (201, "scheduled")
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    at = await rest.post("/api/jobs", json={"type": "report", "run_at": later})
    assert (at.status_code, at.json()["status"]) == (201, "scheduled")
    first = await rest.post("/api/jobs", json={"type": "report", "idempotency_key": "k-1"})
    again = await rest.post("/api/jobs", json={"type": "report", "idempotency_key": "k-1"})
    assert again.json()["job_id"] == first.json()["job_id"]
    assert again.json()["duplicate"] is True


async def test_get_job_shows_state_attempts_result_errors_and_times(
    rest: httpx.AsyncClient, gopher: AsyncClient
) -> None:
    job_id = (await rest.post("/api/jobs", json={"type": "resize", "retries": 2})).json()["job_id"]
    worker = ContractWorker(gopher, ["resize"])
    try:
        await worker.fail(await worker.next_job(), final=False)
        await worker.ack(await worker.next_job(), '{"width": 640}')
    finally:
        worker.close()
    response = await rest.get(f"/api/jobs/{job_id}")
    assert response.status_code == 200
    job = response.json()
    assert job["id"] == job_id and job["state"] == "succeeded"
    assert job["attempt"] == 2 and job["retries"] == 2
    assert job["result"] == {"width": 640}
    assert job["payload"] == {}
    assert [(e["attempt"], e["error_type"], e["message"]) for e in job["errors"]] == [
        (1, "ValueError", "boom")
    ]
    for stamp in ("created_at", "run_at", "started_at", "finished_at"):
        assert job[stamp].endswith("Z"), stamp
    states = [event["to_state"] for event in job["events"]]
    assert "from_state" not in job["events"][0]  # the submit event: from "unset"
    assert states[-1] == "succeeded" and "retrying" in states


async def test_list_jobs_filters_and_pages(rest: httpx.AsyncClient) -> None:
    wanted = set()
    for n in range(5):
        body = {"type": "alpha", "priority": "high", "payload": {"n": n}}
        wanted.add((await rest.post("/api/jobs", json=body)).json()["job_id"])
    await rest.post("/api/jobs", json={"type": "alpha", "priority": "low"})
    await rest.post("/api/jobs", json={"type": "beta", "priority": "high"})
    seen: list[str] = []
    token = ""
    for _ in range(10):  # bounded: 5 jobs in pages of 2 take 3 pages
        params: dict[str, str | int] = {
            "type": "alpha",
            "priority": "high",
            "state": "enqueued",
            "page_size": 2,
        }
        page = await rest.get("/api/jobs", params={**params, "page_token": token})
        assert page.status_code == 200
        jobs = page.json()["jobs"]
        assert len(jobs) <= 2
        assert all(j["type"] == "alpha" and j["priority"] == "high" for j in jobs)
        seen.extend(j["id"] for j in jobs)
        token = page.json()["next_page_token"]
        if not token:
            break
    assert sorted(seen) == sorted(wanted)
    everything = await rest.get("/api/jobs")
    assert len(everything.json()["jobs"]) == 7


async def test_cancel_job(rest: httpx.AsyncClient) -> None:
    job_id = (await rest.post("/api/jobs", json={"type": "email"})).json()["job_id"]
    first = await rest.delete(f"/api/jobs/{job_id}")
    assert first.status_code == 200
    assert first.json() == {"state": "cancelled", "cancelled": True}
    second = await rest.delete(f"/api/jobs/{job_id}")
    assert second.json() == {"state": "cancelled", "cancelled": False}
    assert (await rest.get(f"/api/jobs/{job_id}")).json()["state"] == "cancelled"


async def test_batch_submit_is_all_or_nothing(rest: httpx.AsyncClient) -> None:
    jobs = [{"type": "email", "payload": {"n": 1}}, {"type": "sms", "priority": "low"}]
    response = await rest.post("/api/jobs:batch", json={"jobs": jobs})
    assert response.status_code == 201
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["enqueued", "enqueued"]
    bad = await rest.post("/api/jobs:batch", json={"jobs": [{"type": "ok"}, {"type": ""}]})
    assert bad.status_code == 400
    assert bad.json()["error"]["field"] == "jobs[1].type"
    listed = (await rest.get("/api/jobs")).json()["jobs"]
    assert sorted(j["id"] for j in listed) == sorted(r["job_id"] for r in results)


async def test_unknown_job_is_404(rest: httpx.AsyncClient) -> None:
    for response in (await rest.get("/api/jobs/no-such-job"), await rest.delete("/api/jobs/nope")):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
