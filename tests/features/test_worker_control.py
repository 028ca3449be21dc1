"""Worker control (AdminService/ControlWorker): quiet, resume and stop one worker,
through whichever broker receives the call, with in-process workers on real brokers.

"Not delivered" is shown without sleeping: the stream writes a heartbeat each loop
turn's heartbeat interval, so once the worker has read two more heartbeats after an
event, the broker's stream loop has looked for work at least once since then.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest
import redis.asyncio as aioredis
from gopher.v1 import admin_service_pb2 as admin_pb
from gopher.v1 import worker_service_pb2 as worker_pb

from gopher_client import AsyncClient, InvalidArgument, JobState, NotFound, RequestError
from gopher_server.store.keys import Keys
from gopher_worker import Job, Registry, Worker
from tests.support import BrokerThread, until

HEARTBEAT_S = 0.2
QUIET = worker_pb.WORKER_CONTROL_ACTION_QUIET
STOP = worker_pb.WORKER_CONTROL_ACTION_STOP
RESUME = worker_pb.WORKER_CONTROL_ACTION_RESUME


class Gates:
    """A handler whose jobs run until the test opens their gate."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}

    def gate(self, job_id: str) -> asyncio.Event:
        return self.gates.setdefault(job_id, asyncio.Event())

    def registry(self) -> Registry:
        registry = Registry()

        @registry.handler("gated")
        async def gated(job: Job) -> str:
            self.started.append(job.id)
            await self.gate(job.id).wait()
            return job.id

        return registry


class ObservedWorker(Worker):
    """A real Worker that also counts the stream messages it read (heartbeats too)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.messages = 0
        self.delivered: list[str] = []

    def on_response(self, response: worker_pb.StreamJobsResponse) -> None:
        self.messages += 1
        self.delivered += [lease.job_id for lease in response.jobs]
        super().on_response(response)

    async def read_two_more_heartbeats(self) -> None:
        seen = self.messages

        async def read() -> bool:
            return self.messages >= seen + 2

        await until(read, what="two more stream messages")


@pytest.fixture
def gates() -> Gates:
    return Gates()


@pytest.fixture
async def workers() -> AsyncIterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        await worker.stop()


async def control(
    client: AsyncClient, worker_id: str, action: int
) -> admin_pb.ControlWorkerResponse:
    request = admin_pb.ControlWorkerRequest(worker_id=worker_id, action=action)  # type: ignore[arg-type]
    response: admin_pb.ControlWorkerResponse = await client.call(
        client.admin.ControlWorker, request
    )
    return response


async def listed_state(client: AsyncClient, worker_id: str) -> int:
    response = await client.call(client.admin.ListWorkers, admin_pb.ListWorkersRequest())
    (info,) = [w for w in response.workers if w.worker_id == worker_id]
    return int(info.state)


async def state_is(worker: Worker, state: str) -> None:
    async def reached() -> bool:
        return worker.state == state

    await until(reached, what=f"worker {worker.worker_id} {state}")


async def job_state(client: AsyncClient, job_id: str, state: JobState) -> None:
    async def reached() -> bool:
        return (await client.get_job(job_id)).state == state

    await until(reached, what=f"job {job_id} {state}")


async def start_worker(
    workers: list[Worker], gates: Gates, address: str, worker_id: str, **options: Any
) -> ObservedWorker:
    worker = ObservedWorker(gates.registry(), address, worker_id=worker_id, **options)
    workers.append(worker)
    await worker.start()
    await asyncio.wait_for(worker.connected.wait(), 10)
    return worker


async def test_quiet_finishes_running_gives_back_prefetched_and_resume_takes_jobs_again(
    broker_factory: Callable[..., BrokerThread], gates: Gates, workers: list[Worker]
) -> None:
    broker = broker_factory(heartbeat_interval_s=HEARTBEAT_S)
    worker = await start_worker(workers, gates, broker.address, "w1", concurrency=1, prefetch=2)
    async with AsyncClient(broker.address) as client:
        running = await client.submit_job("gated", {})
        await until(lambda: asyncio.sleep(0, running in gates.started), what="first job running")
        prefetched = await client.submit_job("gated", {})
        await job_state(client, prefetched, JobState.ACTIVE)  # leased, waiting for a slot

        answer = await control(client, "w1", QUIET)
        assert answer.state == admin_pb.WORKER_STATE_QUIET and answer.connected
        await state_is(worker, "quiet")
        # The prefetched job went back unrun, its attempt not counted.
        await job_state(client, prefetched, JobState.ENQUEUED)
        assert (await client.get_job(prefetched)).attempt == 0
        assert await listed_state(client, "w1") == admin_pb.WORKER_STATE_QUIET

        # The running job finishes and is acked; its freed slot takes nothing.
        gates.gate(running).set()
        await job_state(client, running, JobState.SUCCEEDED)
        await worker.read_two_more_heartbeats()
        assert (await client.get_job(prefetched)).state == JobState.ENQUEUED
        assert worker.delivered.count(prefetched) == 1

        gates.gate(prefetched).set()
        answer = await control(client, "w1", RESUME)
        assert answer.state == admin_pb.WORKER_STATE_RUNNING
        await job_state(client, prefetched, JobState.SUCCEEDED)
        assert worker.state == "running"
        assert await listed_state(client, "w1") == admin_pb.WORKER_STATE_RUNNING


async def test_a_submit_to_a_quiet_idle_worker_waits_for_resume(
    broker_factory: Callable[..., BrokerThread], gates: Gates, workers: list[Worker]
) -> None:
    broker = broker_factory(heartbeat_interval_s=HEARTBEAT_S)
    worker = await start_worker(workers, gates, broker.address, "idle")
    async with AsyncClient(broker.address) as client:
        await control(client, "idle", QUIET)
        await state_is(worker, "quiet")
        job_id = await client.submit_job("gated", {})  # no hand-off to the parked stream
        await worker.read_two_more_heartbeats()
        assert (await client.get_job(job_id)).state == JobState.ENQUEUED
        assert job_id not in worker.delivered
        gates.gate(job_id).set()
        await control(client, "idle", RESUME)
        await job_state(client, job_id, JobState.SUCCEEDED)


async def test_control_sent_to_one_broker_reaches_a_worker_streaming_from_another(
    broker_factory: Callable[..., BrokerThread], gates: Gates, workers: list[Worker]
) -> None:
    holder = broker_factory(heartbeat_interval_s=HEARTBEAT_S)
    other = broker_factory(heartbeat_interval_s=HEARTBEAT_S)
    worker = await start_worker(workers, gates, holder.address, "far")
    async with AsyncClient(other.address) as client:
        answer = await control(client, "far", QUIET)
        assert answer.connected
        await state_is(worker, "quiet")
        assert await listed_state(client, "far") == admin_pb.WORKER_STATE_QUIET
        job_id = await client.submit_job("gated", {})
        await worker.read_two_more_heartbeats()
        assert (await client.get_job(job_id)).state == JobState.ENQUEUED
        gates.gate(job_id).set()
        await control(client, "far", RESUME)
        await state_is(worker, "running")
        await job_state(client, job_id, JobState.SUCCEEDED)


async def test_stop_drains_the_worker_and_ends_it(
    broker_factory: Callable[..., BrokerThread], gates: Gates, workers: list[Worker]
) -> None:
    broker = broker_factory(heartbeat_interval_s=HEARTBEAT_S)
    worker = await start_worker(workers, gates, broker.address, "leaving", concurrency=1)
    async with AsyncClient(broker.address) as client:
        running = await client.submit_job("gated", {})
        await until(lambda: asyncio.sleep(0, running in gates.started), what="job running")
        answer = await control(client, "leaving", STOP)
        assert answer.state == admin_pb.WORKER_STATE_STOPPING
        await state_is(worker, "stopping")
        assert await listed_state(client, "leaving") == admin_pb.WORKER_STATE_STOPPING
        with pytest.raises(RequestError) as refused:
            await control(client, "leaving", RESUME)
        assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION
        assert "cannot be undone" in refused.value.message
        assert not worker.done.is_set()  # still running its job
        gates.gate(running).set()
        await asyncio.wait_for(worker.done.wait(), 20)
        job = await client.get_job(running)
        assert job.state == JobState.SUCCEEDED and job.attempt == 1


async def test_a_worker_quieted_while_away_is_quiet_when_it_connects(
    broker_factory: Callable[..., BrokerThread], gates: Gates, workers: list[Worker]
) -> None:
    first = broker_factory(heartbeat_interval_s=HEARTBEAT_S)
    second = broker_factory(heartbeat_interval_s=HEARTBEAT_S)
    worker = await start_worker(workers, gates, first.address, "away")
    await worker.stop()
    async with AsyncClient(second.address) as client:

        async def no_stream() -> bool:
            response = await client.call(client.admin.ListWorkers, admin_pb.ListWorkersRequest())
            return all(w.streams == 0 for w in response.workers)

        await until(no_stream, what="the worker's stream closed")
        answer = await control(client, "away", QUIET)
        assert answer.state == admin_pb.WORKER_STATE_QUIET and not answer.connected
        job_id = await client.submit_job("gated", {})
        back = await start_worker(workers, gates, second.address, "away")
        await state_is(back, "quiet")
        await back.read_two_more_heartbeats()
        assert (await client.get_job(job_id)).state == JobState.ENQUEUED
        gates.gate(job_id).set()
        await control(client, "away", RESUME)
        await job_state(client, job_id, JobState.SUCCEEDED)


async def test_unknown_worker_and_bad_action_are_refused(
    broker_factory: Callable[..., BrokerThread],
) -> None:
    broker = broker_factory()
    async with AsyncClient(broker.address) as client:
        with pytest.raises(NotFound) as missing:
            await control(client, "nobody", QUIET)
        assert "worker nobody is not known" in missing.value.message
        with pytest.raises(InvalidArgument) as bad:
            await control(client, "nobody", 0)
        assert bad.value.field == "action"
        assert "action must be QUIET, STOP or RESUME" in bad.value.message


async def test_a_broker_restart_keeps_the_worker_quiet_on_the_broker_it_moves_to(
    broker_factory: Callable[..., BrokerThread], gates: Gates, workers: list[Worker]
) -> None:
    first = broker_factory(heartbeat_interval_s=HEARTBEAT_S)
    second = broker_factory(heartbeat_interval_s=HEARTBEAT_S)
    worker = await start_worker(
        workers, gates, f"{first.address},{second.address}", "mover", concurrency=2
    )
    hub = first.broker._hub if first.broker is not None else None
    assert hub is not None
    # pick_first: the worker streams from the first broker it lists while that answers.
    assert [s.worker_id for s in hub.sessions()] == ["mover"]
    async with AsyncClient(second.address) as client:
        await control(client, "mover", QUIET)
        await state_is(worker, "quiet")
        job_id = await client.submit_job("gated", {})
        await worker.read_two_more_heartbeats()
        first.stop()  # ends its streams without releasing anything; the worker moves on
        # Every message from now on comes from the second broker, which must not lease
        # the waiting job in its first dispatch for the new stream.
        await worker.read_two_more_heartbeats()
        assert worker.state == "quiet"
        assert (await client.get_job(job_id)).state == JobState.ENQUEUED
        assert job_id not in worker.delivered
        gates.gate(job_id).set()
        await control(client, "mover", RESUME)
        await job_state(client, job_id, JobState.SUCCEEDED)


async def test_a_lost_control_message_is_made_good_at_the_next_heartbeat(
    broker_factory: Callable[..., BrokerThread],
    gates: Gates,
    workers: list[Worker],
    aredis: aioredis.Redis,
) -> None:
    broker = broker_factory(heartbeat_interval_s=HEARTBEAT_S)
    worker = await start_worker(workers, gates, broker.address, "deaf")
    # The stored state changes with no announcement, as if the hub had missed it.
    await aredis.hset(Keys().worker_control(), "deaf", "quiet")
    await state_is(worker, "quiet")
    await aredis.hdel(Keys().worker_control(), "deaf")
    await state_is(worker, "running")
