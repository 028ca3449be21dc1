"""Sends circuit breaker changes to the brokers, latest state per type, retrying
through outages so the brokers' view converges on the worker's."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from gopher.v1 import worker_service_pb2 as pb

from gopher_client import GopherError

log = logging.getLogger(__name__)
_STATES = {
    "closed": pb.CIRCUIT_STATE_CLOSED,
    "open": pb.CIRCUIT_STATE_OPEN,
    "half_open": pb.CIRCUIT_STATE_HALF_OPEN,
}


# Sends one report to a broker (the client's ReportCircuit call).
Send = Callable[[pb.ReportCircuitRequest], Awaitable[object]]


class CircuitReporter:
    """Queues (type -> latest change) and sends them through `send` from one task."""

    def __init__(self, send: Send, worker_id: str) -> None:
        self._send = send
        self._worker_id = worker_id
        self._pending: dict[str, tuple[str, int]] = {}
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def report(self, job_type: str, state: str, hold_until_ms: int) -> None:
        """Record a change; only the latest per type is sent."""
        self._pending[job_type] = (state, hold_until_ms)
        self._ready.set()

    def start(self) -> None:
        """Start the sending task."""
        self._task = asyncio.create_task(self._run(), name="gopher-circuits")

    async def stop(self) -> None:
        """Stop sending. Safe before start and twice."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        delay = 0.1
        while True:
            await self._ready.wait()
            self._ready.clear()
            batch, self._pending = self._pending, {}
            for job_type, (state, until) in batch.items():
                request = pb.ReportCircuitRequest(
                    worker_id=self._worker_id,
                    job_type=job_type,
                    state=_STATES[state],
                    hold_until_unix_ms=until,
                )
                try:
                    await self._send(request)
                    delay = 0.1
                except GopherError as exc:
                    log.warning(
                        "could not report circuit %s=%s: %s; retrying", job_type, state, exc
                    )
                    self._pending.setdefault(job_type, (state, until))
                    self._ready.set()
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
