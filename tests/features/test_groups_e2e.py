"""Groups end to end: members fan out over workers and brokers, and the follow-ups run
once, on another worker, with every member's outcome; GetGroup shows the progress."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import gopher_client
from gopher_client import (
    AsyncClient,
    Group,
    GroupState,
    InvalidArgument,
    JobState,
    LimitExceeded,
    NotFound,
    submit_request,
)
from gopher_worker import Job, PermanentError, Registry, Worker
from tests.support import BrokerThread, until


async def test_fan_out_then_one_follow_up_with_every_result(
    broker_factory: Callable[..., BrokerThread],
) -> None:
    brokers = [broker_factory(http_port=0), broker_factory()]
    seen: dict[str, dict[str, Any]] = {}

    thumbs = Registry()

    @thumbs.handler("thumb")
    async def thumb(job: Job) -> dict[str, Any]:
        if job.payload.get("corrupt"):
            raise PermanentError("bad frame")
        return {"size": job.payload["size"]}

    reports = Registry()

    @reports.handler("report")
    async def report(job: Job) -> str:
        seen[job.id] = job.payload
        return "ok"

    @reports.handler("alert")
    async def alert(job: Job) -> None:
        seen[job.id] = job.payload

    workers = [
        Worker(thumbs, brokers[0].address, concurrency=3, worker_id="thumb-worker"),
        Worker(reports, brokers[1].address, concurrency=2, worker_id="report-worker"),
    ]
    for worker in workers:
        await worker.start()
    try:
        async with AsyncClient(brokers[1].address) as client:
            sizes = [64, 128, 256]
            ok = await client.submit_group(
                [submit_request("thumb", {"size": s}) for s in sizes],
                on_complete=[submit_request("report", {"video": "cat"})],
                on_failure=[submit_request("alert", {"team": "video"})],
            )
            bad = await client.submit_group(
                [submit_request("thumb", {"size": 1}), submit_request("thumb", {"corrupt": 1})],
                on_success=[submit_request("report", {"video": "dog"})],
                on_failure=[submit_request("alert", {"team": "video"})],
            )
            assert len(ok.members) == 3 and not ok.duplicate

            async def finished(group_id: str) -> Group:
                await until(
                    lambda: _group_done(client, group_id), timeout_s=10, what=f"group {group_id}"
                )
                return await client.get_group(group_id)

            ok_group, bad_group = await finished(ok.group_id), await finished(bad.group_id)
            (report_id,) = ok_group.follow_up_ids
            (alert_id,) = bad_group.follow_up_ids
            report_job = await asyncio.wait_for(client.wait_for(report_id), 10)
            alert_job = await asyncio.wait_for(client.wait_for(alert_id), 10)

            # The same group over REST, on the other broker.
            async with httpx.AsyncClient(base_url=brokers[0].http_url) as rest:
                answer = await rest.get(f"/api/groups/{ok.group_id}")
                missing = await rest.get("/api/groups/nope")
    finally:
        for worker in workers:
            await worker.drain(1)

    member_ids = [m.job_id for m in ok.members]
    assert ok_group.state is GroupState.SUCCEEDED and str(ok_group.state) == "succeeded"
    assert list(ok_group.member_ids) == member_ids
    assert ok_group.counts == {JobState.SUCCEEDED: 3}
    assert report_job.state == JobState.SUCCEEDED
    assert report_job.parent_group_id == ok.group_id
    assert seen[report_id] == {
        "group": {
            "id": ok.group_id,
            "state": "succeeded",
            "members": [
                {"id": i, "type": "thumb", "state": "succeeded", "result": {"size": s}}
                for i, s in zip(member_ids, sizes, strict=True)
            ],
        },
        "video": "cat",
    }
    member = await _job(brokers[1], member_ids[0])
    assert member.group_id == ok.group_id

    assert bad_group.state is GroupState.FAILED
    assert alert_job.parent_group_id == bad.group_id
    assert [m["state"] for m in seen[alert_id]["group"]["members"]] == ["succeeded", "dead"]
    assert seen[alert_id]["group"]["members"][1]["error"] == "PermanentError: bad frame"

    assert answer.status_code == 200
    body = answer.json()
    assert body["state"] == "succeeded" and body["member_ids"] == member_ids
    assert body["counts"] == [{"state": "succeeded", "count": 3}]
    assert body["follow_up_ids"] == [report_id]
    assert missing.status_code == 404


async def _group_done(client: AsyncClient, group_id: str) -> bool:
    return (await client.get_group(group_id)).is_final


async def _job(broker: BrokerThread, job_id: str) -> gopher_client.Job:
    async with AsyncClient(broker.address) as client:
        return await client.get_job(job_id)


async def test_groups_are_validated_at_submit_and_write_nothing(broker: BrokerThread) -> None:
    async with AsyncClient(broker.address) as client:
        with pytest.raises(InvalidArgument) as caught:
            await client.submit_group([])
        assert caught.value.field == "jobs"

        keyed = submit_request("thumb", idempotency_key="k1")
        with pytest.raises(InvalidArgument) as caught:
            await client.submit_group([submit_request("thumb"), keyed])
        assert caught.value.field == "jobs[1].idempotency_key"

        with pytest.raises(InvalidArgument) as caught:
            await client.submit_group(
                [submit_request("thumb")], on_complete=[submit_request("r", {"group": 1})]
            )
        assert caught.value.field == "on_complete[0].payload_json"
        assert "group's outcome" in str(caught.value)

        with pytest.raises(InvalidArgument) as caught:
            await client.submit_group([submit_request("thumb!")])
        assert caught.value.field == "jobs[0].type"

        wide = [submit_request("notify") for _ in range(101)]
        with pytest.raises(LimitExceeded):
            await client.submit_group([submit_request("thumb")], on_success=wide)

        with pytest.raises(NotFound):
            await client.get_group("no-such-group")
        assert (await client.list_jobs()).jobs == []

        first = await client.submit_group([submit_request("thumb")], idempotency_key="batch-1")
        again = await client.submit_group([submit_request("thumb")], idempotency_key="batch-1")
        assert again.duplicate and again.group_id == first.group_id
        assert [m.job_id for m in again.members] == [m.job_id for m in first.members]
        assert len((await client.list_jobs()).jobs) == 1
