"""Chains end to end: a job's follow-ups run on other workers and see its outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from gopher_client import AsyncClient, InvalidArgument, JobState, LimitExceeded, submit_request
from gopher_worker import Job, PermanentError, Registry, Worker
from tests.support import BrokerThread


async def test_video_then_notify_on_two_workers(
    broker_factory: Callable[..., BrokerThread],
) -> None:
    brokers = [broker_factory(), broker_factory()]
    seen: dict[str, dict[str, Any]] = {}

    videos = Registry()

    @videos.handler("video.process")
    async def process(job: Job) -> dict[str, Any]:
        if job.payload.get("corrupt"):
            raise PermanentError("cannot decode frame 7")
        return {"url": f"https://cdn/{job.payload['name']}.mp4", "frames": 240}

    notices = Registry()

    @notices.handler("notify")
    async def notify(job: Job) -> str:
        seen[job.id] = job.payload
        return "sent"

    @notices.handler("alert")
    async def alert(job: Job) -> None:
        seen[job.id] = job.payload

    # Each worker on its own broker: the follow-up crosses workers and brokers.
    workers = [
        Worker(videos, brokers[0].address, concurrency=2, worker_id="video-worker"),
        Worker(notices, brokers[1].address, concurrency=2, worker_id="notify-worker"),
    ]
    for worker in workers:
        await worker.start()
    try:
        async with AsyncClient(brokers[0].address) as client:
            ok_id = await client.submit_job(
                "video.process",
                {"name": "cat"},
                on_success=[submit_request("notify", {"user": "u1"})],
                on_failure=[submit_request("alert", {"team": "video"})],
            )
            bad_id = await client.submit_job(
                "video.process",
                {"name": "dog", "corrupt": True},
                on_success=[submit_request("notify", {"user": "u2"})],
                on_failure=[submit_request("alert", {"team": "video"})],
            )
            ok = await asyncio.wait_for(client.wait_for(ok_id), 10)
            bad = await asyncio.wait_for(client.wait_for(bad_id), 10)
            assert ok.state == JobState.SUCCEEDED
            assert bad.state == JobState.DEAD
            (ok_child_id,) = (await client.get_job(ok_id)).follow_up_ids
            (bad_child_id,) = (await client.get_job(bad_id)).follow_up_ids
            ok_child = await asyncio.wait_for(client.wait_for(ok_child_id), 10)
            bad_child = await asyncio.wait_for(client.wait_for(bad_child_id), 10)
    finally:
        for worker in workers:
            await worker.drain(1)

    assert ok_child.type == "notify" and ok_child.parent_id == ok_id
    assert ok_child.state == JobState.SUCCEEDED and ok_child.result_json == '"sent"'
    assert seen[ok_child_id] == {
        "parent": {
            "id": ok_id,
            "type": "video.process",
            "state": "succeeded",
            "result": {"url": "https://cdn/cat.mp4", "frames": 240},
        },
        "user": "u1",
    }
    assert bad_child.type == "alert" and bad_child.parent_id == bad_id
    assert seen[bad_child_id]["parent"] == {
        "id": bad_id,
        "type": "video.process",
        "state": "dead",
        "error": "PermanentError: cannot decode frame 7",
    }
    assert workers[0].completed == 1 and workers[1].completed == 2


async def test_follow_ups_are_validated_at_submit(broker: BrokerThread) -> None:
    async with AsyncClient(broker.address) as client:
        bad_type = submit_request("notify!", {})
        with pytest.raises(InvalidArgument) as caught:
            await client.submit_job("video", {}, on_success=[bad_type])
        assert caught.value.field == "on_success[0].type"

        reserved = submit_request("notify", {"parent": 1})
        with pytest.raises(InvalidArgument) as caught:
            await client.submit_job("video", {}, on_failure=[reserved])
        assert caught.value.field == "on_failure[0].payload_json"

        chain = submit_request("step")
        for _ in range(6):
            chain = submit_request("step", on_success=[chain])
        with pytest.raises(InvalidArgument) as caught:
            await client.submit_job("video", {}, on_success=[chain])
        assert "deeper than 5 levels" in str(caught.value)

        wide = [submit_request("notify") for _ in range(101)]
        with pytest.raises(LimitExceeded):
            await client.submit_job("video", {}, on_success=wide)
        # Nothing was written by any of the refused submits.
        assert (await client.list_jobs()).jobs == []
