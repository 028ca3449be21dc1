"""A worker in another language may ack with a result that is not JSON (the broker
stores it as given): the SDK must still read the job, and hand that text back."""

from __future__ import annotations

import asyncio

from gopher_client import AsyncClient, JobState
from tests.support import BrokerThread, lease_and_ack_one


async def test_a_plain_text_result_reads_as_that_text(broker: BrokerThread) -> None:
    async with AsyncClient(broker.address) as client:
        job_id = await client.submit_job("plain", {"n": 1})
        acked = await asyncio.wait_for(
            lease_and_ack_one(client, "plain", "w-plain", "done, 3 rows"), timeout=30
        )
        assert acked == job_id
        job = await client.get_job(job_id)
        assert job.state is JobState.SUCCEEDED
        assert job.result == "done, 3 rows" and job.proto.result_json == "done, 3 rows"
        assert await client.result(job_id, timeout_s=10) == "done, 3 rows"
        page = await client.list_jobs(job_type="plain")
        assert [j.result for j in page.jobs] == ["done, 3 rows"]
