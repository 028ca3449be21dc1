"""The partition layout: balanced tags, ids that name their partition, and the count
every broker of a namespace agrees on (stored once, refused when it differs)."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from gopher_server.store.namespace import LayoutMismatch, resolve_layout
from gopher_server.store.partitions import SLOTS, Layout, slot_of


@pytest.mark.parametrize("count", [2, 3, 6, 12, 16, 24])
def test_each_partitions_slot_falls_in_its_own_share_of_the_slot_range(count: int) -> None:
    layout = Layout("gopher", count)
    for k, tag in enumerate(layout.tags):
        assert k * SLOTS // count <= slot_of(tag) < (k + 1) * SLOTS // count
    assert layout.tags == Layout("gopher", count).tags  # every broker computes the same


@pytest.mark.parametrize("masters", [1, 2, 3, 4, 6])
def test_twelve_partitions_spread_evenly_over_evenly_allocated_masters(masters: int) -> None:
    layout = Layout("gopher", 12)
    owner = [slot_of(tag) * masters // SLOTS for tag in layout.tags]
    assert sorted(owner.count(m) for m in range(masters)) == [12 // masters] * masters


def test_ids_name_their_partition() -> None:
    layout = Layout("gopher", 6)
    for raw in ("job-1", "3f2b9c1e-5b7a-4a3e-9c1d-0e8f7a6b5c4d", "x"):
        home = layout.partition_of(raw)
        assert home is not None
        assert layout.job_id(home, raw) == raw  # placed where it hashes: unchanged
        elsewhere = (home + 1) % 6
        assert layout.partition_of(layout.job_id(elsewhere, raw)) == elsewhere
    assert layout.partition_of("p6-x") is None  # names a partition it does not have
    assert Layout("gopher", 1).partition_of("p3-x") == 0


async def test_the_count_is_stored_once_and_a_different_one_is_refused(
    aredis: aioredis.Redis,
) -> None:
    assert (await resolve_layout(aredis, "ns", 0, 1)).count == 1
    assert await aredis.exists("{ns}:layout") == 0  # one partition writes nothing
    assert (await resolve_layout(aredis, "ns", 4, 1)).count == 4
    assert (await resolve_layout(aredis, "ns", 0, 12)).count == 4  # the stored count wins
    with pytest.raises(LayoutMismatch, match="has 4 partition"):
        await resolve_layout(aredis, "ns", 2, 1)


async def test_bad_or_unsafe_counts_are_refused_and_write_nothing(
    aredis: aioredis.Redis,
) -> None:
    for bad in (-1, 10_000):
        with pytest.raises(LayoutMismatch, match="between 1 and"):
            await resolve_layout(aredis, "ns", bad, 1)
    await aredis.zadd("{old}:leases", {"j": 1})  # a one-partition namespace with jobs
    with pytest.raises(LayoutMismatch, match="already holds jobs"):
        await resolve_layout(aredis, "old", 4, 1)
    assert sorted(await aredis.keys("*")) == ["{old}:leases"]
