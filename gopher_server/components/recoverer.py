"""Recovers jobs whose lease expired: their worker died or hung."""

from __future__ import annotations

import logging

from gopher_server.components.base import PeriodicComponent
from gopher_server.observability.metrics import BrokerMetrics
from gopher_server.store.store import Store

log = logging.getLogger(__name__)
BATCH = 1000


class LeaseRecoverer(PeriodicComponent):
    """Requeues (or dead-letters) jobs past their lease deadline."""

    name = "lease-recoverer"

    def __init__(
        self, store: Store, interval_s: float, metrics: BrokerMetrics | None = None
    ) -> None:
        super().__init__(interval_s)
        self.store = store
        self.metrics = metrics
        self.recovered = 0

    async def _tick(self) -> bool:
        recovered = await self.store.expire_leases(BATCH)
        for job_id, state in recovered:
            log.info("lease of job %s expired; job is now %s", job_id, state)
        self.recovered += len(recovered)
        if self.metrics is not None and recovered:
            self.metrics.leases_expired.inc(len(recovered))
        return len(recovered) >= BATCH
