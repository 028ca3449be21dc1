"""One open StreamJobs call, as the broker process tracks it."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from gopher_server.store.records import Lease


@dataclass(eq=False)
class StreamSession:
    """A worker's delivery stream on this broker: what it handles, and its wake-up.

    `wake` is set whenever something may have changed for it (new work of one of its
    types, a slot freed, a cancellation, shutdown); the stream loop clears it before
    each dispatch attempt, so a wake-up that races the attempt is never lost.
    """

    worker_id: str
    job_types: list[str]
    capacity: int
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled_jobs: list[str] = field(default_factory=list)
    # (job id, lease token) of the message being written: if the stream turns out to be
    # gone, these never reached the worker and go back without costing an attempt.
    undelivered: list[tuple[str, int]] = field(default_factory=list)
    # True while the stream loop is parked waiting for a wake-up (its last dispatch left
    # slots free): new work may be handed to it in the submit call itself.
    waiting: bool = False
    # Leases another call made for this stream (a hand-off, a refill), not yet written.
    handed: list[Lease] = field(default_factory=list)
    closed: bool = False
    # Event-loop time at which a held-back type (rate limit, breaker) may go again, as
    # another call's dispatch for this stream found it; None when not known. The stream
    # loop dispatches by then at the latest.
    retry_at: float | None = None
    # The stream loop's wait while it is parked, so an earlier retry_at can shorten it.
    parked: asyncio.Timeout | None = None
    # What an operator asked of the worker ("running", "quiet", "stopping"; see
    # store/worker_control.py): anything but running gets no new leases. `control_sent`
    # is the last state told to the worker; `control_changes` counts the changes the
    # hub applied, so a stored state read meanwhile cannot overwrite a newer one.
    control: str = "running"
    control_sent: str = "running"
    control_changes: int = 0

    @property
    def takes_jobs(self) -> bool:
        """False while the worker is quiet or stopping."""
        return self.control == "running"

    def set_control(self, state: str) -> None:
        """Apply a worker control change announced on the control channel."""
        self.control = state
        self.control_changes += 1
        self.wake.set()

    def take_cancellations(self) -> list[str]:
        """Job ids to tell the worker to stop, cleared once taken."""
        taken, self.cancelled_jobs = self.cancelled_jobs, []
        return taken

    def hand(self, leases: list[Lease], wait_ms: int = 0) -> bool:
        """Queue leases made for this stream by someone else and wake it, and note the
        dispatch's `wait_ms` (when a held-back type may go again); False when the stream
        has closed (the caller must give the leases back)."""
        if self.closed:
            return False
        if wait_ms > 0:
            self.retry_in(wait_ms)
        if leases:
            self.handed.extend(leases)
            self.wake.set()
        return True

    def retry_in(self, wait_ms: int) -> None:
        """Dispatch again within `wait_ms` at the latest (a parked wait is shortened)."""
        at = asyncio.get_running_loop().time() + wait_ms / 1000
        if self.retry_at is None or at < self.retry_at:
            self.retry_at = at
        if self.parked is not None and (self.parked.when() or float("inf")) > at:
            self.parked.reschedule(at)

    def take_handed(self) -> list[Lease]:
        """The handed leases to write now, cleared once taken."""
        taken, self.handed = self.handed, []
        return taken
