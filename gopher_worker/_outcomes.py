"""Batches acks and nacks: whatever finished while the last call was in flight goes
out in the next one, so a busy worker sends one call per batch, not per job."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Protocol

from gopher.v1 import worker_service_pb2 as pb

from gopher_client import GopherError
from gopher_worker._clock import Clock, SystemClock

log = logging.getLogger(__name__)
MAX_BATCH = 500
BATCH_YIELDS = 2


class OutcomeSink(Protocol):
    """Where batches go: the broker client's batch calls (AsyncClient has them)."""

    async def ack_jobs(
        self, acks: Sequence[pb.AckJobRequest], worker_id: str = "", capacity: int = 0
    ) -> list[pb.Outcome]:
        """Complete deliveries; one outcome per ack, in order."""
        ...

    async def nack_jobs(self, nacks: Sequence[pb.NackJobRequest]) -> list[pb.Outcome]:
        """Fail or hand back deliveries; one outcome per nack, in order."""
        ...


class OutcomeBatcher:
    """Sends outcomes in batches, retrying through broker outages until each job's
    lease deadline (after which the broker has recovered the job anyway)."""

    def __init__(
        self, client: OutcomeSink, worker_id: str = "", clock: Clock | None = None
    ) -> None:
        self._client = client
        self._clock: Clock = clock or SystemClock()
        # Sent with acks so the broker holding this worker's stream refills the freed
        # slots in the same call.
        self._worker_id = worker_id
        # The worker's capacity, told with every ack when its prefetch adapts (0: the
        # capacity its stream opened with stays).
        self.capacity = 0
        self._acks: list[tuple[pb.AckJobRequest, int]] = []
        self._nacks: list[tuple[pb.NackJobRequest, int]] = []
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self.stale = 0  # outcomes refused because the lease was lost

    def ack(self, request: pb.AckJobRequest, deadline_ms: int) -> None:
        """Queue a success for the next batch."""
        self._acks.append((request, deadline_ms))
        self._kick()

    def nack(self, request: pb.NackJobRequest, deadline_ms: int) -> None:
        """Queue a failure or handback for the next batch."""
        self._nacks.append((request, deadline_ms))
        self._kick()

    def _kick(self) -> None:
        self._idle.clear()
        self._ready.set()

    def start(self) -> None:
        """Start the sending task."""
        self._task = asyncio.create_task(self._run(), name="gopher-outcomes")

    async def flush(self, timeout_s: float) -> bool:
        """Wait until everything queued was sent (or given up); False on timeout."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
            return True
        except TimeoutError:
            return False

    async def stop(self) -> None:
        """Stop sending. Safe before start and twice."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        delay = 0.05
        while True:
            await self._ready.wait()
            # Let handlers that are already runnable finish first, so one call carries
            # every outcome of this event-loop pass instead of just the first one.
            for _ in range(BATCH_YIELDS):
                await asyncio.sleep(0)
            self._ready.clear()
            acks, self._acks = self._acks[:MAX_BATCH], self._acks[MAX_BATCH:]
            nacks, self._nacks = self._nacks[:MAX_BATCH], self._nacks[MAX_BATCH:]
            try:
                await asyncio.gather(self._send_acks(acks), self._send_nacks(nacks))
                delay = 0.05
            except GopherError as exc:
                log.warning(
                    "could not report %d outcome(s): %s; retrying", len(acks) + len(nacks), exc
                )
                self._requeue(acks, nacks)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            if self._acks or self._nacks:
                self._ready.set()
            else:
                self._idle.set()

    def _requeue(
        self, acks: list[tuple[pb.AckJobRequest, int]], nacks: list[tuple[pb.NackJobRequest, int]]
    ) -> None:
        now = self._clock.now_ms()
        live_acks = [a for a in acks if a[1] > now]
        live_nacks = [n for n in nacks if n[1] > now]
        dropped = len(acks) + len(nacks) - len(live_acks) - len(live_nacks)
        if dropped:
            log.warning(
                "dropped %d outcome(s) whose lease expired; the broker re-runs those jobs", dropped
            )
        self._acks = live_acks + self._acks
        self._nacks = live_nacks + self._nacks

    async def _send_acks(self, acks: list[tuple[pb.AckJobRequest, int]]) -> None:
        if acks:
            outcomes = await self._client.ack_jobs(
                [a for a, _ in acks], self._worker_id, self.capacity
            )
            self._count_stale(outcomes)

    async def _send_nacks(self, nacks: list[tuple[pb.NackJobRequest, int]]) -> None:
        if nacks:
            outcomes = await self._client.nack_jobs([n for n, _ in nacks])
            self._count_stale(outcomes)

    def _count_stale(self, outcomes: list[pb.Outcome]) -> None:
        for outcome in outcomes:
            if outcome.code != pb.OUTCOME_CODE_OK:
                self.stale += 1
                log.info("outcome for job %s refused: %s", outcome.job_id, outcome.message)
