"""WatchJob follows a job through its job channel: the broker marks the job watched
(store.watch_job) before reading it, so the transitions that follow are published,
and the watch moves without waiting for its periodic re-read."""

from __future__ import annotations

import asyncio

import pytest

from gopher_client import AsyncClient, JobState
from gopher_server.services import jobs as job_service
from tests.support import BrokerThread, lease_and_ack_one, until


async def test_a_watch_moves_on_published_transitions_alone(
    broker: BrokerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No periodic re-read within the test's time: only the job channel moves the watch.
    monkeypatch.setattr(job_service, "WATCH_RESYNC_S", 3600.0)
    async with AsyncClient(broker.address) as client:
        job_id = await client.submit_job("watched", {})
        seen: list[JobState] = []

        async def watch() -> None:
            async for job in client.watch_job(job_id):
                seen.append(job.state)

        task = asyncio.create_task(watch())
        try:

            async def started() -> bool:
                return seen == [JobState.ENQUEUED]

            await until(started, 10, "the watch's first record")
            assert (
                await asyncio.wait_for(lease_and_ack_one(client, "watched", "w-watch"), 30)
                == job_id
            )
            await asyncio.wait_for(task, 20)  # ends at the final state
        finally:
            task.cancel()
        assert seen[0] is JobState.ENQUEUED and seen[-1] is JobState.SUCCEEDED
