"""Per-type circuit breaker: when a job type keeps failing (a downstream is down),
stop taking that type for a cool-down instead of burning every job's retries, then let
one probe decide whether to resume.

States: CLOSED (normal) -> OPEN after `failure_ratio` of at least `min_calls` runs (or
`failure_count` failures) within `window_s` -> HALF_OPEN when the cool-down ends and a
job arrives (that job is the probe) -> CLOSED if it succeeds, OPEN again if it fails.
While OPEN or HALF_OPEN the brokers send this worker no jobs of the type; none is
failed and no attempt is consumed.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gopher_worker._hooks import FAILED, SUCCEEDED, JobHook
from gopher_worker._job import Job

log = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
STATE_VALUES = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


@dataclass(frozen=True)
class BreakerPolicy:
    """When a type's breaker opens, and for how long."""

    failure_ratio: float = 0.5
    min_calls: int = 20
    failure_count: int | None = None  # open after this many failures in the window, any ratio
    window_s: float = 60.0
    cooldown_s: float = 30.0
    probe_timeout_s: float = 300.0  # a probe that never reports back frees the type then


@dataclass
class _TypeState:
    state: str = CLOSED
    until: float = 0.0  # wall-clock seconds: end of cool-down (OPEN) or probe deadline
    # Outcomes counted per whole second: [second, calls, failures]. Memory is bounded
    # by the window in seconds, not by the job rate.
    buckets: deque[list[int]] = field(default_factory=deque)
    calls: int = 0  # totals over `buckets`, kept in step so checks are O(1)
    failures: int = 0

    def add(self, now: float, failed: bool, window_s: float) -> None:
        second = int(now)
        if self.buckets and self.buckets[-1][0] == second:
            bucket = self.buckets[-1]
        else:
            bucket = [second, 0, 0]
            self.buckets.append(bucket)
        bucket[1] += 1
        bucket[2] += failed
        self.calls += 1
        self.failures += failed
        while self.buckets[0][0] <= now - window_s:
            _, calls, failures = self.buckets.popleft()
            self.calls -= calls
            self.failures -= failures

    def forget(self) -> None:
        self.buckets.clear()
        self.calls = self.failures = 0


# (job type, new state, hold-until Unix ms) -> None; reports to the brokers.
Listener = Callable[[str, str, int], None]


class CircuitBreaker(JobHook, Collector):
    """Tracks outcomes per job type and decides whether the type may run."""

    def __init__(
        self, policy: BreakerPolicy, listener: Listener, clock: Callable[[], float] = time.time
    ) -> None:
        self.policy = policy
        self._listener = listener
        self._clock = clock
        self._types: dict[str, _TypeState] = {}

    def state(self, job_type: str) -> str:
        """The breaker state of a type."""
        return self._types.get(job_type, _TypeState()).state

    def admit(self, job_type: str) -> bool:
        """Whether a newly delivered job of this type may run now. The first job after
        the cool-down becomes the half-open probe; others are handed back."""
        st = self._types.setdefault(job_type, _TypeState())
        now = self._clock()
        if st.state == CLOSED:
            return True
        if st.state == OPEN and now >= st.until:
            self._change(job_type, st, HALF_OPEN, now + self.policy.probe_timeout_s)
            return True
        if st.state == HALF_OPEN and now >= st.until:  # the probe never came back
            self._change(job_type, st, HALF_OPEN, now + self.policy.probe_timeout_s)
            return True
        return False

    def on_finish(
        self, job: Job, outcome: str, duration_s: float, error: BaseException | None
    ) -> None:
        if outcome not in (SUCCEEDED, FAILED):
            return  # cancellations and handbacks say nothing about the downstream
        failed = outcome == FAILED
        st = self._types.setdefault(job.type, _TypeState())
        now = self._clock()
        if st.state == HALF_OPEN:
            if failed:
                self._change(job.type, st, OPEN, now + self.policy.cooldown_s)
            else:
                st.forget()
                self._change(job.type, st, CLOSED, 0)
            return
        if st.state != CLOSED:
            return
        st.add(now, failed, self.policy.window_s)
        p = self.policy
        calls, failures = st.calls, st.failures
        by_count = p.failure_count is not None and failures >= p.failure_count
        by_ratio = calls >= p.min_calls and failures >= p.failure_ratio * calls
        if by_count or by_ratio:
            st.forget()
            self._change(job.type, st, OPEN, now + p.cooldown_s)

    def _change(self, job_type: str, st: _TypeState, state: str, until: float) -> None:
        if st.state != state:
            log.warning(
                "circuit for %s: %s -> %s",
                job_type,
                st.state,
                state,
                extra={"type": job_type, "circuit": state},
            )
        st.state, st.until = state, until
        self._listener(job_type, state, int(until * 1000))

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "gopher_circuit_state",
            "Circuit breaker state per type: 0 closed, 1 half-open, 2 open",
            labels=["type"],
        )
        for job_type, st in sorted(self._types.items()):
            gauge.add_metric([job_type], STATE_VALUES[st.state])
        yield gauge
