"""Priority selection: weighted 3:2:1 share under a full backlog, strict order, no
starvation of low work, paused priorities skipped until resumed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis.asyncio as aioredis

from gopher_server.config import weighted_pattern
from gopher_server.store import admin
from gopher_server.store.store import Store, StoreSettings
from tests.conftest import FakeClock
from tests.store.helpers import submit_many

TARGET = {"high": 3 / 6, "normal": 2 / 6, "low": 1 / 6}
TOLERANCE = 0.05


async def drain_one_at_a_time(store: Store, count: int, types: list[str]) -> list[str]:
    """Dispatch `count` jobs with capacity 1, acking each; return their priorities."""
    served: list[str] = []
    for _ in range(count):
        result = await store.dispatch("w1", "s1", 1, types)
        if not result.leases:
            break
        (lease,) = result.leases
        assert await store.ack([(lease.job_id, lease.token, "{}")]) == ["ok"]
        served.append(lease.priority)
    return served


def shares(window: list[str]) -> dict[str, float]:
    return {p: window.count(p) / len(window) for p in TARGET}


def assert_weighted(served: list[str], window: int) -> None:
    """Every run of `window` consecutive dispatches is within TOLERANCE of 3:2:1."""
    for start in range(len(served) - window + 1):
        got = shares(served[start : start + window])
        for priority, want in TARGET.items():
            assert abs(got[priority] - want) <= TOLERANCE, (start, window, got)


@pytest.fixture
async def backlog(store: Store) -> Store:
    """700 ready jobs of each priority, submitted low first so order cannot help."""
    for priority in ("low", "normal", "high"):
        await submit_many(store, 700, priority, priority=priority)
    return store


@pytest.mark.one_partition
async def test_weighted_dispatch_serves_3_2_1_in_every_window(backlog: Store) -> None:
    # 1200 dispatches leave every priority some backlog, so every window of 600 (and of
    # 60, 120, 30) must show the configured share.
    served = await drain_one_at_a_time(backlog, 1200, ["email"])
    assert len(served) == 1200
    for window in (600, 120, 60, 30):
        assert_weighted(served, window)
    assert shares(served[:600]) == {"high": 0.5, "normal": 200 / 600, "low": 100 / 600}


@pytest.mark.one_partition
async def test_weighted_share_holds_for_batched_dispatch(backlog: Store) -> None:
    served: list[str] = []
    for _ in range(60):
        result = await backlog.dispatch("w1", "s1", 10, ["email"])
        assert len(result.leases) == 10
        served += [lease.priority for lease in result.leases]
        await backlog.ack([(lease.job_id, lease.token, "{}") for lease in result.leases])
    assert_weighted(served, 60)


async def test_strict_priority_drains_high_then_normal_then_low(
    aredis: aioredis.Redis, clock: FakeClock, make_store: Callable[..., Store]
) -> None:
    store = make_store(StoreSettings(strict_priority=True))
    for priority in ("low", "normal", "high"):
        await submit_many(store, 20, priority, priority=priority)
    served = await drain_one_at_a_time(store, 60, ["email"])
    assert served == ["high"] * 20 + ["normal"] * 20 + ["low"] * 20


@pytest.mark.one_partition
async def test_low_is_served_under_steep_weights_when_high_is_empty(
    aredis: aioredis.Redis, clock: FakeClock, make_store: Callable[..., Store]
) -> None:
    pattern = weighted_pattern({"high": 10, "normal": 5, "low": 1})
    store = make_store(StoreSettings(priority_pattern=pattern))
    await submit_many(store, 300, "normal", priority="normal")
    await submit_many(store, 300, "low", priority="low")
    served = await drain_one_at_a_time(store, 160, ["email"])
    for start in range(0, 160, len(pattern)):
        assert "low" in served[start : start + len(pattern)], start
    assert served.count("low") == 10


@pytest.mark.one_partition
async def test_default_weights_serve_low_one_in_six_when_high_is_empty(store: Store) -> None:
    await submit_many(store, 300, "normal", priority="normal")
    await submit_many(store, 300, "low", priority="low")
    served = await drain_one_at_a_time(store, 120, ["email"])
    assert served.count("low") == 20
    assert all("low" in served[s : s + 6] for s in range(0, 120, 6))


@pytest.mark.one_partition
async def test_a_priority_alone_is_served_whatever_the_pattern_says(store: Store) -> None:
    await submit_many(store, 30, "low", priority="low")
    assert await drain_one_at_a_time(store, 40, ["email"]) == ["low"] * 30


@pytest.mark.one_partition
async def test_paused_priority_is_skipped_and_resumes(backlog: Store) -> None:
    await admin.set_paused(backlog, "high", True)
    assert await backlog.redis.smembers(backlog.keys.paused()) == {"high"}
    paused_run = await drain_one_at_a_time(backlog, 60, ["email"])
    assert "high" not in paused_run and len(paused_run) == 60
    await admin.set_paused(backlog, "normal", True)
    assert set(await drain_one_at_a_time(backlog, 10, ["email"])) == {"low"}
    await admin.set_paused(backlog, "low", True)
    assert (await backlog.dispatch("w1", "s1", 5, ["email"])).leases == []
    for priority in ("high", "normal", "low"):
        await admin.set_paused(backlog, priority, False)
    resumed = await drain_one_at_a_time(backlog, 60, ["email"])
    assert_weighted(resumed, 60)
    assert len(await backlog.redis.lrange(backlog.keys.ready("high", "email"), 0, -1)) == 670
