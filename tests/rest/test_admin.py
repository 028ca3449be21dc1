"""Admin routes end to end: queues, dead letter queue, workers, schedules, rate limits."""

from __future__ import annotations

import httpx

from gopher_client import AsyncClient
from tests.rest._worker import ContractWorker, make_dead
from tests.support import until


async def test_queue_stats_and_pause_resume(rest: httpx.AsyncClient) -> None:
    await rest.post("/api/jobs", json={"type": "email", "priority": "low"})
    stats = (await rest.get("/api/queues")).json()
    by_priority = {q["priority"]: q for q in stats["queues"]}
    assert list(by_priority) == ["high", "normal", "low"]
    assert by_priority["low"]["depth"] == 1
    assert by_priority["low"]["depth_by_type"] == {"email": 1}
    assert by_priority["high"]["depth"] == 0 and by_priority["high"]["paused"] is False
    assert {"scheduled", "retrying", "active", "dead", "finished"} <= set(stats)

    paused = await rest.post("/api/queues/low:pause")
    assert (paused.status_code, paused.json()) == (200, {})
    by_priority = {q["priority"]: q for q in (await rest.get("/api/queues")).json()["queues"]}
    assert by_priority["low"]["paused"] is True and by_priority["high"]["paused"] is False
    assert (await rest.post("/api/queues/low:resume")).status_code == 200
    by_priority = {q["priority"]: q for q in (await rest.get("/api/queues")).json()["queues"]}
    assert by_priority["low"]["paused"] is False


async def test_dead_letter_queue_list_requeue_and_purge(
    rest: httpx.AsyncClient, gopher: AsyncClient
) -> None:
    (one,) = await make_dead(gopher, "thumb")
    # Paused, the low queue keeps requeued jobs where the test can see them.
    assert (await rest.post("/api/queues/low:pause")).status_code == 200
    listed = (await rest.get("/api/dlq")).json()
    assert [job["id"] for job in listed["jobs"]] == [one]
    assert listed["jobs"][0]["state"] == "dead"
    assert listed["jobs"][0]["errors"][0]["message"] == "boom"

    requeued = await rest.post(f"/api/dlq/{one}:requeue")
    assert (requeued.status_code, requeued.json()) == (200, {"state": "enqueued"})
    assert (await rest.get(f"/api/jobs/{one}")).json()["state"] == "enqueued"
    missing = await rest.post(f"/api/dlq/{one}:requeue")
    assert missing.status_code == 404
    await rest.delete(f"/api/jobs/{one}")

    await rest.post("/api/queues/low:resume")
    await make_dead(gopher, "resize", 2)
    await make_dead(gopher, "crop", 1)
    await rest.post("/api/queues/low:pause")
    by_type = await rest.get("/api/dlq", params={"type": "crop"})
    assert len(by_type.json()["jobs"]) == 1
    bulk = await rest.post("/api/dlq:requeue", json={"type": "resize"})
    assert bulk.json() == {"requeued": 2}
    refused = await rest.post("/api/dlq:requeue", json={})
    assert (refused.status_code, refused.json()["error"]["field"]) == (400, "all")

    purged = await rest.delete("/api/dlq", params={"type": "crop"})
    assert purged.json() == {"purged": 1}
    assert (await rest.get("/api/dlq")).json()["jobs"] == []


async def test_workers_are_listed_while_connected(
    rest: httpx.AsyncClient, gopher: AsyncClient
) -> None:
    assert (await rest.get("/api/workers")).json() == {"workers": []}
    worker = ContractWorker(gopher, ["email", "sms"], worker_id="rest-w")
    try:

        async def listed() -> list[dict[str, object]]:
            workers: list[dict[str, object]] = (await rest.get("/api/workers")).json()["workers"]
            return workers

        (seen,) = await until(listed, what="the worker to be listed")
        assert seen["worker_id"] == "rest-w"
        assert seen["job_types"] == ["email", "sms"]
        assert seen["capacity"] == 1 and seen["hostname"] == "test-host"
        assert isinstance(seen["last_heartbeat"], str)
    finally:
        worker.close()


async def test_schedules_crud(rest: httpx.AsyncClient) -> None:
    schedule = {
        "name": "nightly",
        "cron": "0 3 * * *",
        "timezone": "Europe/Paris",
        "job": {"type": "report", "payload": {"kind": "daily"}, "priority": "low", "retries": 1},
    }
    created = await rest.post("/api/schedules", json=schedule)
    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "nightly" and body["paused"] is False
    assert body["job"] == {**schedule["job"]}  # type: ignore[dict-item]
    assert body["next_run_at"].endswith("Z")

    assert [s["name"] for s in (await rest.get("/api/schedules")).json()["schedules"]] == [
        "nightly"
    ]
    assert (await rest.get("/api/schedules/nightly")).json()["cron"] == "0 3 * * *"
    assert (await rest.post("/api/schedules/nightly:pause")).json()["paused"] is True
    assert (await rest.post("/api/schedules/nightly:resume")).json()["paused"] is False
    bad = await rest.post("/api/schedules", json={**schedule, "cron": "whenever"})
    assert (bad.status_code, bad.json()["error"]["field"]) == (400, "schedule.cron")

    assert (await rest.delete("/api/schedules/nightly")).json() == {}
    assert (await rest.get("/api/schedules/nightly")).status_code == 404
    assert (await rest.post("/api/schedules/nightly:pause")).status_code == 404


async def test_rate_limits(rest: httpx.AsyncClient) -> None:
    put = await rest.put("/api/rate-limits/email", json={"rate_per_s": 5, "max_concurrency": 2})
    assert put.status_code == 200
    assert put.json() == {"type": "email", "rate_per_s": 5.0, "burst": 5, "max_concurrency": 2}
    listed = (await rest.get("/api/rate-limits")).json()["rate_limits"]
    assert [limit["type"] for limit in listed] == ["email"]
    in_body = await rest.put("/api/rate-limits/email", json={"type": "sms"})
    assert (in_body.status_code, in_body.json()["error"]["field"]) == (400, "type")
    assert (await rest.delete("/api/rate-limits/email")).json() == {}
    assert (await rest.get("/api/rate-limits")).json() == {"rate_limits": []}


async def test_events_feed(rest: httpx.AsyncClient) -> None:
    job_id = (await rest.post("/api/jobs", json={"type": "email"})).json()["job_id"]
    await rest.delete(f"/api/jobs/{job_id}")
    feed = (await rest.get("/api/events", params={"limit": 10})).json()
    mine = [event for event in feed["events"] if event["job_id"] == job_id]
    assert [event["to_state"] for event in mine][-1] == "cancelled"
    assert all(event["type"] == "email" and event["time"].endswith("Z") for event in mine)
    later = (await rest.get("/api/events", params={"after_id": feed["last_id"]})).json()
    assert later["events"] == [] and later["truncated"] is False
