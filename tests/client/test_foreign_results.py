"""A worker in another language may ack with a result that is not JSON (the broker
stores it as given): the SDK must still read the job, and hand that text back."""

from __future__ import annotations

import asyncio

from gopher.v1 import worker_service_pb2 as worker_pb

from gopher_client import AsyncClient, JobState
from tests.support import BrokerThread


async def _ack_first(client: AsyncClient, result_json: str) -> str:
    """Lease one `plain` job over the raw protocol and ack it with `result_json`."""
    request = worker_pb.StreamJobsRequest(worker_id="w-plain", job_types=["plain"], capacity=1)
    call = client.stream_jobs(request)
    try:
        async for response in call:
            for job in response.jobs:
                ack = worker_pb.AckJobRequest(
                    job_id=job.job_id, lease_token=job.lease_token, result_json=result_json
                )
                (outcome,) = await client.ack_jobs([ack])
                assert outcome.code == worker_pb.OUTCOME_CODE_OK, outcome
                return job.job_id
    finally:
        call.cancel()
    raise AssertionError("the stream ended before a job arrived")


async def test_a_plain_text_result_reads_as_that_text(broker: BrokerThread) -> None:
    async with AsyncClient(broker.address) as client:
        job_id = await client.submit_job("plain", {"n": 1})
        acked = await asyncio.wait_for(_ack_first(client, "done, 3 rows"), timeout=30)
        assert acked == job_id
        job = await client.get_job(job_id)
        assert job.state is JobState.SUCCEEDED
        assert job.result == "done, 3 rows" and job.proto.result_json == "done, 3 rows"
        assert await client.result(job_id, timeout_s=10) == "done, 3 rows"
        page = await client.list_jobs(job_type="plain")
        assert [j.result for j in page.jobs] == ["done, 3 rows"]
