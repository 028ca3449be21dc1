"""The SDK returns typed jobs and waits for results: `Job`, `JobState`, `result()`,
`submit_job(wait=True)`, against a real broker and worker."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gopher.v1 import job_pb2

from gopher_client import (
    AsyncClient,
    Client,
    GroupSubmission,
    Job,
    JobCancelled,
    JobFailed,
    JobState,
    Priority,
    Submission,
    WaitTimeout,
    submit_request,
)
from gopher_worker import Job as WorkerJob
from gopher_worker import PermanentError, Registry, Worker
from tests.support import BrokerThread


def test_enums_cover_the_contract_and_print_as_words() -> None:
    assert {m.value for m in JobState} == set(job_pb2.JobState.values())
    assert {m.value for m in Priority} == set(job_pb2.Priority.values())
    for member in JobState:
        assert job_pb2.JobState.Name(member.value) == f"JOB_STATE_{member.name}"
        assert str(member) == member.name.lower()
    assert str(JobState.SUCCEEDED) == "succeeded" and f"{Priority.HIGH}" == "high"
    assert JobState.DEAD.is_final and not JobState.RETRYING.is_final


@pytest.fixture
async def worker(broker: BrokerThread) -> AsyncIterator[Worker]:
    registry = Registry()
    release = asyncio.Event()

    @registry.handler("resize")
    async def resize(job: WorkerJob) -> dict[str, Any]:
        return {"width": job.payload["width"] // 2, "ok": True}

    @registry.handler("flaky")
    async def flaky(job: WorkerJob) -> None:
        if job.attempt == 1:
            raise OSError("disk full")
        raise PermanentError("bad input")

    @registry.handler("slow")
    async def slow(job: WorkerJob) -> None:
        await release.wait()

    worker = Worker(registry, broker.address, concurrency=4)
    await worker.start()
    yield worker
    release.set()
    await worker.stop()


async def test_a_succeeded_job_is_typed(broker: BrokerThread, worker: Worker) -> None:
    async with AsyncClient(broker.address) as client:
        job_id = await client.submit_job("resize", {"width": 640}, priority="high")
        assert await client.result(job_id, timeout_s=30) == {"width": 320, "ok": True}
        job = await client.get_job(job_id)
    assert isinstance(job, Job) and job.id == job_id and job.type == "resize"
    assert job.state is JobState.SUCCEEDED and str(job.state) == "succeeded"
    assert job.priority is Priority.HIGH and str(job.priority) == "high"
    assert job.payload == {"width": 640} and job.result == {"width": 320, "ok": True}
    assert job.created_at is not None and job.created_at.tzinfo is dt.UTC
    assert job.finished_at is not None and job.started_at is not None
    assert job.created_at <= job.started_at <= job.finished_at
    assert [str(t.to_state) for t in job.history] == ["enqueued", "active", "succeeded"]
    assert job.proto.id == job_id and job.proto.state == job_pb2.JOB_STATE_SUCCEEDED


async def test_a_dead_job_raises_job_failed_with_its_last_error(
    broker: BrokerThread, worker: Worker
) -> None:
    async with AsyncClient(broker.address) as client:
        job_id = await client.submit_job("flaky", {}, retries=3)
        with pytest.raises(JobFailed) as failed:
            await client.result(job_id, timeout_s=30)
    job, error = failed.value.job, failed.value.error
    assert job.state is JobState.DEAD and job.attempt == 2
    assert error is not None and (error.error_type, error.message) == (
        "PermanentError",
        "bad input",
    )
    assert "bad input" in error.traceback and error.time is not None
    assert [(e.attempt, e.error_type) for e in job.errors] == [
        (1, "OSError"),
        (2, "PermanentError"),
    ]
    assert "bad input" in str(failed.value)
    with Client(broker.address) as blocking:
        dead = blocking.list_dead_jobs()
    assert [(j.id, j.state, str(j.last_error)) for j in dead.jobs] == [
        (job_id, JobState.DEAD, "PermanentError: bad input")
    ]
    assert dead.next_page_token == ""


async def test_submissions_are_typed(broker: BrokerThread) -> None:
    async with AsyncClient(broker.address) as client:
        group = await client.submit_group(
            [submit_request("resize", {"width": 8}), submit_request("resize", {"width": 4})],
            idempotency_key="g-typed",
        )
        again = await client.submit_group([submit_request("resize")], idempotency_key="g-typed")
        listed = await client.get_group(group.group_id)
    assert isinstance(group, GroupSubmission) and not group.duplicate
    assert group.job_ids == listed.member_ids and len(group.job_ids) == 2
    assert [str(m.state) for m in group.members] == ["enqueued", "enqueued"]
    assert again.duplicate and again.group_id == group.group_id
    with Client(broker.address) as blocking:
        first = blocking.submit(submit_request("resize", idempotency_key="k-1"))
        repeat = blocking.submit(submit_request("resize", idempotency_key="k-1"))
    assert isinstance(first, Submission) and first.state is JobState.ENQUEUED
    assert not first.duplicate and repeat.duplicate and repeat.job_id == first.job_id
    assert first.proto.job_id == first.job_id


async def test_cancelled_and_unfinished_jobs(broker: BrokerThread, worker: Worker) -> None:
    async with AsyncClient(broker.address) as client:
        later = await client.submit_job("resize", {"width": 2}, delay_s=3600)
        with pytest.raises(WaitTimeout) as timed_out:
            await client.result(later, timeout_s=0.3)
        assert isinstance(timed_out.value, TimeoutError) and timed_out.value.job_id == later
        await client.cancel_job(later)
        with pytest.raises(JobCancelled) as cancelled:
            await client.result(later, timeout_s=10)
        assert cancelled.value.job.state is JobState.CANCELLED


async def test_list_jobs_pages_typed_jobs(broker: BrokerThread) -> None:
    async with AsyncClient(broker.address) as client:
        ids = [await client.submit_job("nobody", {"n": n}, priority="low") for n in range(3)]
        page = await client.list_jobs(job_type="nobody", page_size=2)
        assert len(page.jobs) == 2 and page.next_page_token
        rest = await client.list_jobs(job_type="nobody", page_token=page.next_page_token)
    jobs = page.jobs + rest.jobs
    assert sorted(j.id for j in jobs) == sorted(ids)
    assert all(j.state is JobState.ENQUEUED and j.priority is Priority.LOW for j in jobs)
    assert sorted(j.payload["n"] for j in jobs) == [0, 1, 2]


async def test_the_blocking_client_waits_too(broker: BrokerThread, worker: Worker) -> None:
    def run() -> tuple[Any, Job]:
        with Client(broker.address) as client:
            value = client.submit_job("resize", {"width": 100}, wait=True, wait_timeout_s=30)
            job_id = client.submit_job("flaky", {}, retries=1)
            with pytest.raises(JobFailed):
                client.result(job_id, timeout_s=30)
            with pytest.raises(WaitTimeout):
                client.result(client.submit_job("resize", {"width": 1}, delay_s=60), 0.3)
            return value, client.wait_for(job_id, timeout_s=10)

    value, dead = await asyncio.to_thread(run)
    assert value == {"width": 50, "ok": True}
    assert dead.state is JobState.DEAD and dead.last_error is not None
