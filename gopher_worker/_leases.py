"""Lease extension: while handlers run, leases are pushed out in one batched call, so a
long job is never recovered from a live worker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from gopher.v1 import worker_service_pb2 as pb

from gopher_client import GopherError
from gopher_worker._clock import Clock
from gopher_worker._running import Running

log = logging.getLogger(__name__)
# How often leases are checked; a lease is extended once half of its TTL has passed,
# so TTLs down to about 1 s are safe.
CHECK_INTERVAL_S = 0.25

# Sends one batch of extensions; one outcome per request, in order.
Extend = Callable[[Sequence[pb.ExtendLeaseRequest]], Awaitable[list[pb.Outcome]]]
# Told of a delivery whose lease the broker refused to extend, with the reason.
OnLost = Callable[[Running, str], None]


class LeaseKeeper:
    """Extends the leases of `running` (the worker's deliveries, by job id) through
    `extend`, reading time from `clock`; a refused extension means the lease was lost
    and `on_lost` stops that delivery rather than let it run the job twice."""

    def __init__(
        self,
        running: dict[str, Running],
        clock: Clock,
        extend: Extend,
        on_lost: OnLost,
        interval_s: float = CHECK_INTERVAL_S,
    ) -> None:
        self._running = running
        self._clock = clock
        self._extend = extend
        self._on_lost = on_lost
        self._interval_s = interval_s

    def due(self) -> list[Running]:
        """Deliveries past half of their lease TTL, by the clock."""
        now_ms = self._clock.now_ms()
        return [
            r for r in self._running.values() if r.deadline_ms - now_ms < r.lease.lease_ttl_ms // 2
        ]

    async def extend_due(self) -> int:
        """One pass: extend every due lease in one call; return how many were sent.
        A broker that cannot be reached is retried on the next pass."""
        due = self.due()
        if not due:
            return 0
        requests = [
            pb.ExtendLeaseRequest(job_id=r.lease.job_id, lease_token=r.lease.lease_token)
            for r in due
        ]
        try:
            outcomes = await self._extend(requests)
        except GopherError as exc:
            log.warning("could not extend %d lease(s): %s", len(requests), exc)
            return 0
        for run, outcome in zip(due, outcomes, strict=True):
            if outcome.code == pb.OUTCOME_CODE_OK:
                run.deadline_ms = outcome.lease_deadline_unix_ms
            elif self._running.get(run.lease.job_id) is run:
                self._on_lost(run, outcome.message)
        return len(requests)

    async def run(self) -> None:
        """Extend due leases forever; only cancellation ends it."""
        while True:
            await asyncio.sleep(self._interval_s)
            await self.extend_due()
