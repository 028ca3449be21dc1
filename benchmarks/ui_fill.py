"""Fill a namespace for the `ui` scenario through the contract, the fastest real ways.

- Queued: SubmitJobs batches, a few in flight, spread evenly over `QUEUED_TYPES` and
  the three priorities (no worker handles these types, so they stay queued).
- Dead, retrying and succeeded: submitted the same way, then delivered to one
  protocol-level worker (a StreamJobs stream) that answers in NackJobs / AckJobs
  batches: dead jobs fail with non_retryable and one of several error texts, retrying
  jobs fail with a retry a day out, succeeded jobs are acked.
- Scheduled: SubmitJobs with a run time a day out.
Every record is what the broker itself writes; nothing touches Redis directly.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from google.protobuf.timestamp_pb2 import Timestamp
from gopher.v1 import job_pb2
from gopher.v1 import job_service_pb2 as jobs_pb
from gopher.v1 import worker_service_pb2 as workers_pb

from benchmarks.config import Sizes
from gopher_client import AsyncClient

QUEUED_TYPES = ("bench.ui.email", "bench.ui.resize", "bench.ui.report", "bench.ui.sync")
DEAD_TYPES = ("bench.ui.charge", "bench.ui.webhook", "bench.ui.import")
RETRY_TYPE = "bench.ui.flaky"
DONE_TYPE = "bench.ui.quick"
PRIORITIES = (job_pb2.PRIORITY_HIGH, job_pb2.PRIORITY_NORMAL, job_pb2.PRIORITY_LOW)
COMMON_ERROR = "timed out"  # in about half of the dead jobs' errors
RARE_ERROR = "quota exceeded"  # in one dead job of RARE_EVERY
RARE_EVERY = 997
READ_TIMEOUT_S = 60.0
MAX_BATCH = 1_000  # the broker's default batch limit (--max-batch)


@dataclass(frozen=True)
class Filled:
    """What the fill made, for building the pages' queries."""

    queued_types: tuple[str, ...]
    dead_types: tuple[str, ...]
    per_list: int  # queued jobs in each (priority, type) ready list
    dead: int
    sample_queued: str
    sample_dead: str
    fill_s: float
    queued_fill_s: float
    dead_fill_s: float


def dead_error(i: int) -> tuple[str, str]:
    """(error type, message) of the i-th dead job: four kinds of failure with varied
    hosts and numbers, so a text filter has something real to sift."""
    if i % RARE_EVERY == 0:
        return "OSError", f"disk quota exceeded on /var/spool/import-{i % 5} (job {i})"
    kind = i % 4
    if kind in (0, 1):
        return "TimeoutError", f"upstream api-{i % 17}.example.com timed out after {i % 5000} ms"
    if kind == 2:
        return "ConnectionError", f"connection refused by db-{i % 7}.internal:5432"
    return "ValueError", f"invalid record {i}: field 'amount' must be positive"


async def submit_all(
    client: AsyncClient, requests: Sequence[jobs_pb.SubmitJobRequest], in_flight: int
) -> list[str]:
    """Submit `requests` in MAX_BATCH batches, `in_flight` at a time; ids in order."""
    batches = [list(requests[i : i + MAX_BATCH]) for i in range(0, len(requests), MAX_BATCH)]
    ids: list[list[str]] = [[] for _ in batches]
    todo = list(range(len(batches)))

    async def sender() -> None:
        while todo:
            n = todo.pop()
            ids[n] = await client.submit_jobs(batches[n])

    await asyncio.gather(*(sender() for _ in range(in_flight)))
    return [job_id for batch in ids for job_id in batch]


def _requests(
    n: int, kind: Callable[[int], tuple[str, int]], retries: int, run_at: Timestamp | None = None
) -> list[jobs_pb.SubmitJobRequest]:
    out = []
    for i in range(n):
        job_type, priority = kind(i)
        request = jobs_pb.SubmitJobRequest(
            type=job_type,
            payload_json=f'{{"n":{i},"account":"acct-{i % 9973}"}}',
            priority=priority,  # type: ignore[arg-type]
            retries=retries,
        )
        if run_at is not None:
            request.run_at.CopyFrom(run_at)
        out.append(request)
    return out


async def fail_and_finish(client: AsyncClient, dead: int, retrying: int, done: int) -> None:
    """Deliver every job of DEAD_TYPES, RETRY_TYPE and DONE_TYPE to one stream and
    answer in batches until `dead + retrying + done` jobs are answered."""
    request = workers_pb.StreamJobsRequest(
        worker_id="bench-ui-filler",
        job_types=[*DEAD_TYPES, RETRY_TYPE, DONE_TYPE],
        capacity=5_000,
        hostname="bench",
        pid=os.getpid(),
    )
    call = client.stream_jobs(request)
    answered, failed = 0, 0
    try:
        while answered < dead + retrying + done:
            response = await asyncio.wait_for(call.read(), READ_TIMEOUT_S)
            if response is None or not hasattr(response, "jobs"):
                raise RuntimeError("the filler's job stream ended early")
            nacks, acks = [], []
            for job in response.jobs:
                if job.type == DONE_TYPE:
                    acks.append(
                        workers_pb.AckJobRequest(job_id=job.job_id, lease_token=job.lease_token)
                    )
                    continue
                nack = workers_pb.NackJobRequest(job_id=job.job_id, lease_token=job.lease_token)
                if job.type == RETRY_TYPE:
                    nack.error_type, nack.error_message = "TimeoutError", "flaky upstream"
                    nack.retry_after_s = 86_400.0
                else:
                    nack.error_type, nack.error_message = dead_error(failed)
                    nack.traceback = f"Traceback (most recent call last):\n  {nack.error_type}"
                    nack.non_retryable = True
                    failed += 1
                nacks.append(nack)
            for start in range(0, len(nacks), MAX_BATCH):
                outcomes = await client.nack_jobs(nacks[start : start + MAX_BATCH])
                bad = [o for o in outcomes if o.code != workers_pb.OUTCOME_CODE_OK]
                if bad:
                    raise RuntimeError(f"{len(bad)} nacks refused, e.g. {bad[0]}")
            for start in range(0, len(acks), MAX_BATCH):
                await client.ack_jobs(acks[start : start + MAX_BATCH])
            answered += len(nacks) + len(acks)
    finally:
        call.cancel()


async def fill(address: str, sizes: Sizes) -> Filled:
    """Fill the namespace behind `address`; see the module docstring."""
    started = time.perf_counter()
    day_out = Timestamp()
    day_out.FromDatetime(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    async with AsyncClient(address) as client:
        failing = [
            *_requests(
                sizes.ui_dead_jobs,
                lambda i: (DEAD_TYPES[i % 3], PRIORITIES[(i // 3) % 3]),
                retries=0,
            ),
            *_requests(sizes.ui_retrying_jobs, lambda i: (RETRY_TYPE, PRIORITIES[i % 3]), 3),
            *_requests(sizes.ui_succeeded_jobs, lambda i: (DONE_TYPE, PRIORITIES[i % 3]), 0),
        ]
        dead_ids = await submit_all(client, failing[: sizes.ui_dead_jobs], sizes.bulk_in_flight)
        await submit_all(client, failing[sizes.ui_dead_jobs :], sizes.bulk_in_flight)
        await fail_and_finish(
            client, sizes.ui_dead_jobs, sizes.ui_retrying_jobs, sizes.ui_succeeded_jobs
        )
        dead_done = time.perf_counter()
        scheduled = _requests(
            sizes.ui_scheduled_jobs, lambda i: (QUEUED_TYPES[i % 4], PRIORITIES[i % 3]), 3, day_out
        )
        await submit_all(client, scheduled, sizes.bulk_in_flight)
        queued_started = time.perf_counter()
        queued = _requests(
            sizes.ui_queued_jobs,
            lambda i: (QUEUED_TYPES[i % 4], PRIORITIES[(i // 4) % 3]),
            retries=3,
        )
        queued_ids = await submit_all(client, queued, sizes.bulk_in_flight)
    ended = time.perf_counter()
    return Filled(
        queued_types=QUEUED_TYPES,
        dead_types=DEAD_TYPES,
        per_list=sizes.ui_queued_jobs // (len(QUEUED_TYPES) * len(PRIORITIES)),
        dead=sizes.ui_dead_jobs,
        sample_queued=queued_ids[len(queued_ids) // 2],
        sample_dead=dead_ids[len(dead_ids) // 2],
        fill_s=round(ended - started, 1),
        queued_fill_s=round(ended - queued_started, 1),
        dead_fill_s=round(dead_done - started, 1),
    )
