"""Circuit breaker state machine, driven by a fake clock."""

from __future__ import annotations

from gopher_worker._breaker import CLOSED, HALF_OPEN, OPEN, BreakerPolicy, CircuitBreaker
from gopher_worker._hooks import CANCELLED, FAILED, SUCCEEDED
from gopher_worker._job import Job


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def job(job_type: str = "email") -> Job:
    return Job("id", job_type, {}, 1, 3, "normal", 0)


def make(**policy: float) -> tuple[CircuitBreaker, Clock, list[tuple[str, str, int]]]:
    clock = Clock()
    changes: list[tuple[str, str, int]] = []
    breaker = CircuitBreaker(
        BreakerPolicy(**policy),  # type: ignore[arg-type]
        lambda t, s, u: changes.append((t, s, u)),
        clock,
    )
    return breaker, clock, changes


def test_opens_on_failure_ratio_after_min_calls() -> None:
    breaker, _, changes = make(failure_ratio=0.5, min_calls=4, cooldown_s=30)
    for outcome in (SUCCEEDED, FAILED, SUCCEEDED):
        breaker.on_finish(job(), outcome, 0.1, None)
    assert breaker.state("email") == CLOSED  # 1/3 failed, and below min_calls
    breaker.on_finish(job(), FAILED, 0.1, None)
    assert breaker.state("email") == OPEN  # 2/4 = 50%
    assert changes == [("email", OPEN, 1_030_000)]


def test_opens_on_failure_count_and_types_are_independent() -> None:
    breaker, _, _ = make(failure_count=3, min_calls=100)
    for _ in range(3):
        breaker.on_finish(job("a"), FAILED, 0.1, None)
    breaker.on_finish(job("b"), FAILED, 0.1, None)
    assert breaker.state("a") == OPEN and breaker.state("b") == CLOSED
    assert not breaker.admit("a") and breaker.admit("b")


def test_window_forgets_old_failures() -> None:
    breaker, clock, _ = make(failure_count=2, window_s=10)
    breaker.on_finish(job(), FAILED, 0.1, None)
    clock.t += 11
    breaker.on_finish(job(), FAILED, 0.1, None)
    assert breaker.state("email") == CLOSED


def test_half_open_probe_closes_or_reopens() -> None:
    breaker, clock, changes = make(failure_count=1, cooldown_s=30, probe_timeout_s=300)
    breaker.on_finish(job(), FAILED, 0.1, None)
    assert not breaker.admit("email")
    clock.t += 30
    assert breaker.admit("email")  # the probe
    assert breaker.state("email") == HALF_OPEN
    assert not breaker.admit("email")  # only one probe at a time
    breaker.on_finish(job(), FAILED, 0.1, None)
    assert breaker.state("email") == OPEN
    clock.t += 30
    assert breaker.admit("email")
    breaker.on_finish(job(), SUCCEEDED, 0.1, None)
    assert breaker.state("email") == CLOSED
    assert [s for _, s, _ in changes] == [OPEN, HALF_OPEN, OPEN, HALF_OPEN, CLOSED]


def test_cancellations_do_not_count() -> None:
    breaker, _, _ = make(failure_count=1)
    breaker.on_finish(job(), CANCELLED, 0.1, None)
    assert breaker.state("email") == CLOSED


def test_memory_is_bounded_by_the_window_not_the_job_rate() -> None:
    breaker, clock, _ = make(window_s=10, min_calls=10**9)
    for i in range(50_000):
        clock.t += 0.001  # 1,000 jobs per second for 50 s
        breaker.on_finish(job(), FAILED if i % 2 else SUCCEEDED, 0.0, None)
    state = breaker._types["email"]
    assert len(state.buckets) <= 11
    assert 9_000 <= state.calls <= 10_000 and state.failures == state.calls // 2
