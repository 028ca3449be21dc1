"""The adaptive prefetch policy (gopher_worker/_prefetch.py) on its own: handler times
in, jobs per slot out."""

from __future__ import annotations

from gopher_worker._prefetch import (
    LONG_JOB_S,
    MAX_CAPACITY,
    PREFETCH_SHORT,
    SHORT_JOB_S,
    WARMUP,
    Prefetch,
)


def _feed(prefetch: Prefetch, handler_s: float, times: int) -> list[bool]:
    return [prefetch.observe(handler_s) for _ in range(times)]


def test_short_handlers_raise_it_only_after_the_warmup() -> None:
    p = Prefetch(concurrency=8)
    changes = _feed(p, SHORT_JOB_S / 10, WARMUP)
    assert changes.index(True) == WARMUP - 1 and changes.count(True) == 1
    assert p.per_slot == PREFETCH_SHORT and p.capacity == 8 * PREFETCH_SHORT


def test_long_handlers_bring_it_back_and_the_gap_between_thresholds_holds_it() -> None:
    p = Prefetch(concurrency=4)
    _feed(p, 0.0, WARMUP)
    assert p.per_slot == PREFETCH_SHORT
    # Between the two thresholds nothing changes, whichever way the mean came from.
    middle = (SHORT_JOB_S + LONG_JOB_S) / 2
    _feed(p, middle, 200)
    assert SHORT_JOB_S < (p.mean_s or 0) < LONG_JOB_S and p.per_slot == PREFETCH_SHORT
    assert True in _feed(p, 10 * LONG_JOB_S, 100)
    assert p.per_slot == 1
    _feed(p, middle, 200)
    assert p.per_slot == 1


def test_one_slow_call_among_short_ones_does_not_turn_it_off() -> None:
    p = Prefetch(concurrency=4)
    _feed(p, 0.0005, WARMUP)
    p.observe(5 * LONG_JOB_S)  # a cold connection, say
    assert p.per_slot == PREFETCH_SHORT


def test_a_fixed_prefetch_ignores_handler_times() -> None:
    p = Prefetch(concurrency=4, fixed=2)
    assert not any(_feed(p, 0.0, WARMUP * 2))
    assert p.capacity == 8 and not p.adaptive


def test_the_capacity_stays_within_the_brokers_bound() -> None:
    p = Prefetch(concurrency=4000)
    _feed(p, 0.0, WARMUP)
    assert p.capacity <= MAX_CAPACITY and p.per_slot == 2
    wide = Prefetch(concurrency=MAX_CAPACITY)
    _feed(wide, 0.0, WARMUP)
    assert wide.capacity == MAX_CAPACITY
