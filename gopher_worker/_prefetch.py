"""How many jobs per execution slot the broker may lease to this worker ahead of time.

Without a buffer a slot that finishes a job idles for one round trip (the ack goes
out, the broker leases the next job into the freed slot, the lease comes back): for a
job of a millisecond or two that round trip is as long as the job, and a third or
more of the worker's time goes to waiting. A prefetched job hides it, at a price: it
waits here for a slot instead of running on another worker that may be idle. That
price is small while jobs are short (it waits for a few short jobs) and large when
they are long, so the default adapts to what this worker's handlers take: a buffer
of PREFETCH_SHORT jobs per slot while the recent handler time is under SHORT_JOB_S,
none once it rises past LONG_JOB_S (the gap between the two keeps a workload near
one threshold from flapping). A fixed prefetch turns adapting off.
"""

from __future__ import annotations

# Jobs per slot leased while handlers are short. With 2 workers x 16 slots, 8 drained
# no-op jobs about 30% faster than 4 and one-Redis-call jobs about 10% faster (nine
# alternating runs, docs/benchmarks.md); a prefetched job then waits behind at most 7
# short jobs, under 35 ms.
PREFETCH_SHORT = 8
# Mean handler time under which prefetching pays, and over which it stops again.
SHORT_JOB_S = 0.005
LONG_JOB_S = 0.010
# Weight of the newest handler time in the moving mean: about the last 20 jobs count.
ALPHA = 0.05
# Handler times seen before the first change: one slow first call (a cold cache, a
# connection being opened) must not decide alone.
WARMUP = 20
# The broker's bound on one stream's capacity.
MAX_CAPACITY = 10_000


class Prefetch:
    """The worker's prefetch: fixed when given, else adapting to handler times."""

    def __init__(self, concurrency: int, fixed: int | None = None) -> None:
        self.concurrency = concurrency
        self.fixed = fixed
        self.adaptive = fixed is None
        self.per_slot = fixed or 1
        self.mean_s: float | None = None
        self._seen = 0

    @property
    def capacity(self) -> int:
        """Jobs the broker may lease to this worker at once."""
        return self.concurrency * self.per_slot

    def observe(self, handler_s: float) -> bool:
        """Account one finished handler's time; True when the capacity changed."""
        if not self.adaptive:
            return False
        self._seen += 1
        if self.mean_s is None:
            self.mean_s = handler_s
        else:
            self.mean_s += ALPHA * (handler_s - self.mean_s)
        if self._seen < WARMUP:
            return False
        wanted = self.per_slot
        if self.mean_s < SHORT_JOB_S:
            wanted = max(1, min(PREFETCH_SHORT, MAX_CAPACITY // self.concurrency))
        elif self.mean_s > LONG_JOB_S:
            wanted = 1
        changed = wanted != self.per_slot
        self.per_slot = wanted
        return changed
