"""The contract's dashboard RPCs end to end over REST: throughput history, caller, bulk
cancel, run now, id-prefix lookup and the DLQ's error and id filters."""

from __future__ import annotations

import httpx

from gopher_client import AsyncClient
from tests.rest._worker import ContractWorker, make_dead


async def test_throughput_counts_outcomes_per_minute_and_type(
    rest: httpx.AsyncClient, gopher: AsyncClient
) -> None:
    await make_dead(gopher, "crop", 2)
    job_id = await gopher.submit_job("thumb", {}, priority="low")
    worker = ContractWorker(gopher, ["thumb"], "w-thumb")
    try:
        job = await worker.next_job()
        assert job.job_id == job_id
        await worker.ack(job, "{}")
    finally:
        worker.close()
    body = (await rest.get("/api/throughput", params={"minutes": 5})).json()
    assert len(body["minutes"]) == 5
    totals = {k: sum(int(m.get(k, 0)) for m in body["minutes"]) for k in ("succeeded", "dead")}
    assert totals == {"succeeded": 1, "dead": 2}
    last = body["minutes"][-1]
    assert last["succeeded_by_type"] == {"thumb": "1"} or last["succeeded_by_type"] == {"thumb": 1}
    only_crop = (await rest.get("/api/throughput", params={"type": "crop"})).json()
    assert len(only_crop["minutes"]) == 60
    assert sum(int(m.get("succeeded", 0)) for m in only_crop["minutes"]) == 0
    bad = await rest.get("/api/throughput", params={"minutes": 61})
    assert (bad.status_code, bad.json()["error"]["field"]) == (400, "minutes")


async def test_caller_without_auth_is_anonymous_with_every_right(rest: httpx.AsyncClient) -> None:
    body = (await rest.get("/api/caller")).json()
    assert body["name"] == "anonymous" and body["can_admin"] is True
    assert "view" in body["roles"]


async def test_cancel_jobs_by_filter_and_by_ids(rest: httpx.AsyncClient) -> None:
    await rest.post("/api/queues/low:pause")
    ids = [
        (await rest.post("/api/jobs", json={"type": t, "priority": "low"})).json()["job_id"]
        for t in ("a", "a", "a", "b")
    ]
    refused = await rest.post("/api/jobs:cancel", json={})
    assert (refused.status_code, refused.json()["error"]["field"]) == (400, "all")
    first = (await rest.post("/api/jobs:cancel", json={"type": "a", "limit": 2})).json()
    assert first == {"cancelled": "2", "more": True} or first == {"cancelled": 2, "more": True}
    rest_of_a = (await rest.post("/api/jobs:cancel", json={"type": "a"})).json()
    assert int(rest_of_a["cancelled"]) == 1 and not rest_of_a.get("more")
    states = [(await rest.get(f"/api/jobs/{i}")).json()["state"] for i in ids]
    assert states == ["cancelled", "cancelled", "cancelled", "enqueued"]
    by_id = (await rest.post("/api/jobs:cancel", json={"job_ids": [ids[3]]})).json()
    assert int(by_id["cancelled"]) == 1


async def test_run_now_moves_a_scheduled_job_and_refuses_others(rest: httpx.AsyncClient) -> None:
    await rest.post("/api/queues/normal:pause")
    later = (await rest.post("/api/jobs", json={"type": "e", "delay_s": 3600})).json()["job_id"]
    assert (await rest.get(f"/api/jobs/{later}")).json()["state"] == "scheduled"
    ran = await rest.post(f"/api/jobs/{later}:run")
    assert (ran.status_code, ran.json()) == (200, {"state": "enqueued"})
    job = (await rest.get(f"/api/jobs/{later}")).json()
    assert job["state"] == "enqueued"
    again = await rest.post(f"/api/jobs/{later}:run")
    assert again.status_code == 409 and "enqueued" in again.json()["error"]["message"]
    assert (await rest.post("/api/jobs/nope:run")).status_code == 404


async def test_list_jobs_by_id_prefix(rest: httpx.AsyncClient) -> None:
    await rest.post("/api/queues/normal:pause")
    ids = [(await rest.post("/api/jobs", json={"type": "e"})).json()["job_id"] for _ in range(5)]
    target = ids[2]
    found = (await rest.get("/api/jobs", params={"id_prefix": target[:8]})).json()["jobs"]
    assert target in [j["id"] for j in found]
    assert all(j["id"].startswith(target[:8]) for j in found)
    exact = (await rest.get("/api/jobs", params={"id_prefix": target})).json()["jobs"]
    assert [j["id"] for j in exact] == [target]
    none = (await rest.get("/api/jobs", params={"id_prefix": "zzzz"})).json()
    assert none.get("jobs", []) == []
    bad = await rest.get("/api/jobs", params={"id_prefix": "x" * 65})
    assert (bad.status_code, bad.json()["error"]["field"]) == (400, "id_prefix")


async def test_dlq_filters_by_error_text_and_purges_chosen_ids(
    rest: httpx.AsyncClient, gopher: AsyncClient
) -> None:
    dead = await make_dead(gopher, "resize", 3)  # every error is "ValueError: boom"
    await rest.post("/api/queues/low:pause")
    assert len((await rest.get("/api/dlq", params={"error_contains": "BOOM"})).json()["jobs"]) == 3
    assert (await rest.get("/api/dlq", params={"error_contains": "nothing"})).json().get(
        "jobs", []
    ) == []
    purged = await rest.request("DELETE", "/api/dlq", params={"job_ids": dead[0]})
    assert int(purged.json()["purged"]) == 1
    none = await rest.post("/api/dlq:requeue", json={"error_contains": "not there"})
    assert int(none.json().get("requeued", 0)) == 0
    moved = await rest.post("/api/dlq:requeue", json={"error_contains": "boom"})
    assert int(moved.json()["requeued"]) == 2
    assert (await rest.get(f"/api/jobs/{dead[1]}")).json()["state"] == "enqueued"
