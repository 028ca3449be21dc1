"""Stand-ins for the broker and the clock, for unit tests of the worker's parts: each
records what it was sent and answers as a broker would, so a test can drive one part
(lease extension, outcome batching, the stream) without a network or real time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from gopher.v1 import job_pb2
from gopher.v1 import worker_service_pb2 as pb

from gopher_client import ConnectionFailed
from gopher_worker._running import Running


@dataclass
class FakeClock:
    """Wall time that moves only when a test says so."""

    ms: int = 1_000_000

    def now_ms(self) -> int:
        return self.ms

    def advance(self, ms: int) -> None:
        self.ms += ms


def delivery(job_id: str, deadline_ms: int, ttl_ms: int = 10_000, token: int = 1) -> Running:
    """A delivery as the worker holds it."""
    lease = job_pb2.LeasedJob(
        job_id=job_id,
        type="t",
        lease_token=token,
        lease_ttl_ms=ttl_ms,
        lease_deadline_unix_ms=deadline_ms,
    )
    return Running(lease, deadline_ms)


@dataclass
class FakeBroker:
    """Answers batch calls: OK for everything unless told otherwise, failing the next
    `outages` calls as an unreachable broker would."""

    clock: FakeClock
    ttl_ms: int = 10_000
    lost: set[str] = field(default_factory=set)  # job ids whose lease is gone
    outages: int = 0
    calls: list[tuple[str, list[str]]] = field(default_factory=list)
    worker_ids: list[str] = field(default_factory=list)
    capacities: list[int] = field(default_factory=list)

    def _answer(self, kind: str, job_ids: list[str]) -> list[pb.Outcome]:
        self.calls.append((kind, job_ids))
        if self.outages:
            self.outages -= 1
            raise ConnectionFailed("broker unreachable")
        return [
            pb.Outcome(job_id=j, code=pb.OUTCOME_CODE_STALE_LEASE, message="lease lost")
            if j in self.lost
            else pb.Outcome(
                job_id=j,
                code=pb.OUTCOME_CODE_OK,
                lease_deadline_unix_ms=self.clock.now_ms() + self.ttl_ms,
            )
            for j in job_ids
        ]

    async def extend_leases(self, leases: Sequence[pb.ExtendLeaseRequest]) -> list[pb.Outcome]:
        return self._answer("extend", [r.job_id for r in leases])

    async def ack_jobs(
        self, acks: Sequence[pb.AckJobRequest], worker_id: str = "", capacity: int = 0
    ) -> list[pb.Outcome]:
        self.worker_ids.append(worker_id)
        self.capacities.append(capacity)
        return self._answer("ack", [r.job_id for r in acks])

    async def nack_jobs(self, nacks: Sequence[pb.NackJobRequest]) -> list[pb.Outcome]:
        return self._answer("nack", [r.job_id for r in nacks])


class FakeStream:
    """One StreamJobs call: yields what a test feeds it, then ends or breaks as the test
    says; records being cancelled, as grpc.aio's call does."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[pb.StreamJobsResponse | BaseException | None] = asyncio.Queue()
        self.cancelled = False

    def send(self, message: pb.StreamJobsResponse) -> None:
        self._queue.put_nowait(message)

    def end(self) -> None:
        self._queue.put_nowait(None)

    def fail(self, exc: BaseException) -> None:
        self._queue.put_nowait(exc)

    def cancel(self) -> bool:
        self.cancelled = True
        return True

    def __aiter__(self) -> AsyncIterator[pb.StreamJobsResponse]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[pb.StreamJobsResponse]:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
