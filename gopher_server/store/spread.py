"""Dispatch over the partitions of a namespace (store/partitions.py): which partitions
a stream's dispatch goes into, how its free slots are shared between them, how a
worker's leases are counted across them, and the permits that keep a limited type's
limits global (store/permits.py). One `Spread` per Store; the Store's methods call it
when the namespace has several partitions.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gopher_server.store.keys import PRIORITIES
from gopher_server.store.permits import Permits, grants_text, holder
from gopher_server.store.records import DispatchResult, DispatchTarget, Lease

if TYPE_CHECKING:
    from gopher_server.store.store import Store

# The fewest free slots a partition is offered in a cross-partition dispatch's first
# pass (fewer calls when a worker has few slots; each partition still gets its turn).
_MIN_SHARE = 4
# A worker's counts are read afresh at least this often. This broker's own count errs
# high when a lease ends without its ack here (expired, acked through another broker,
# lost at a failover); while it leaves free slots nothing else corrects it, and the
# worker would run below its capacity for good.
RECOUNT_S = 1.0
# Outcome codes that end a lease (its permit, if it had one, goes back).
ACK_ENDED = {"ok"}
NACK_ENDED = {"enqueued", "retrying", "dead"}


@dataclass
class _Gathered:
    """What one cross-partition dispatch has leased so far, and what held it back."""

    leases: list[Lease] = field(default_factory=list)
    wait_ms: int = 0
    last_wait_ms: int = 0
    rate_limited: int = 0
    limited_types: set[str] = field(default_factory=set)

    def add(self, result: DispatchResult) -> None:
        self.leases += result.leases
        self.last_wait_ms = result.wait_ms
        self.wait(result.wait_ms)
        self.rate_limited += result.rate_limited
        self.limited_types.update(result.limited_types)

    def wait(self, wait_ms: int) -> None:
        if wait_ms:
            self.wait_ms = min(self.wait_ms or wait_ms, wait_ms)


class Spread:
    """The cross-partition dispatch state of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # One cross-partition dispatch at a time per worker (all its streams on this
        # broker), so the free slots it computes from every partition's count cannot
        # be spent twice. Weak: a lock lives while a dispatch holds it.
        self._worker_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        # Per worker, its leases per partition as this broker last counted them
        # (updated by its own dispatches and acks). Dispatches size themselves from it
        # while it leaves free slots: other brokers' acks only lower the true counts,
        # so it errs towards fewer jobs, never more (a full count is read afresh).
        self.counts: dict[str, list[int]] = {}
        self._counted_at: dict[str, float] = {}  # worker -> monotonic time of its last read
        self.permits = Permits(lambda k, values: store._run("permit", *values, part=store.parts[k]))

    async def run(self, to: DispatchTarget, candidates: Sequence[int]) -> DispatchResult:
        """Dispatch to `to` from the candidate partitions until its free slots are
        taken. A worker's leases are counted per partition (its inflight set in each),
        so each call is given the capacity left after the other partitions'.

        Every candidate first gets a share of the free slots, so a type that lives in
        few partitions (a limited type at its home, a trickle beside a flood spread
        everywhere) gets its turn in every dispatch rather than whenever its partition
        happens to come first; what is left then goes to the partitions that filled
        their share."""
        if not candidates:
            return DispatchResult([], 0, 0)
        async with self.lock(to.worker_id):
            counts = await self._known_counts(to)
            free = to.capacity - sum(counts)
            got = _Gathered()
            # Strict order across partitions: every partition's high first, then
            # normal, then low. Weighted: each partition serves its own pattern, and
            # the union keeps the weights (statistically; docs/scaling.md).
            passes = (
                [(p,) for p in PRIORITIES] if self.store.settings.strict_priority else [PRIORITIES]
            )
            dry = dict.fromkeys(candidates, 0)
            capped = await self.store._limited_types()
            # A limited type's jobs live at its home: the home goes first and may fill
            # every free slot, or the type's rate is bounded by how often a dispatch
            # happens to reach its home (a flood elsewhere would cut it short).
            homes = {self.store.layout.key_partition(t) for t in to.job_types if t in capped}
            candidates = sorted(candidates, key=lambda k: k not in homes)
            # With one type there is nothing to be fair between: a partition that has
            # work takes every free slot (one script call, not one per partition).
            few = len(to.job_types) == 1
            for only in passes:
                share = free if few else max(_MIN_SHARE, -(-free // len(candidates)))
                filled: list[int] = []
                for k in candidates:
                    if free <= 0:
                        break
                    want = free if k in homes else min(free, share)
                    took = await self._dispatch_in(k, to, only, want, counts, capped, got)
                    if took < 0:  # that partition's master is away: keep what we have
                        break
                    free -= took
                    # More than asked: this broker's count of the worker's leases there
                    # was high (an expiry or another broker's ack lowered it), so the
                    # script saw more free slots. Not dry either way.
                    if took >= want:
                        filled.append(k)
                    elif not got.last_wait_ms:
                        # Short with nothing held back: its queues of these types ran
                        # dry (a hold or a breaker makes a dispatch short without that).
                        dry[k] += 1
                for k in filled:
                    if free <= 0:
                        break
                    took = await self._dispatch_in(k, to, only, free, counts, capped, got)
                    if took < 0:
                        break
                    free -= took
            for k, times in dry.items():
                if times == len(passes):
                    self.store.hints.drained(k, set(to.job_types) - got.limited_types)
            limited_types = tuple(sorted(got.limited_types))
            return DispatchResult(
                got.leases, got.wait_ms, got.rate_limited, limited_types, filled=free <= 0
            )

    def lock(self, worker_id: str) -> asyncio.Lock:
        lock = self._worker_locks.get(worker_id)
        if lock is None:
            lock = self._worker_locks[worker_id] = asyncio.Lock()
        return lock

    async def _known_counts(self, to: DispatchTarget) -> list[int]:
        """The worker's leases per partition: this broker's own count when it leaves
        free slots and was read within RECOUNT_S (it only ever errs high: acks
        elsewhere lower the truth, and this broker counts its own leases and acks),
        else a fresh read of every partition (one SCARD each), so a stream never stays
        parked on a stale count, nor runs below its capacity on one for long.

        The list is the one `count_acks` lowers, updated in place: a copy written
        back after the dispatch would undo the acks counted meanwhile, and the count
        would creep up until every dispatch was short and each full count cost a
        read of every partition, waiting on the slowest master."""
        counts = self.counts.get(to.worker_id)
        now = time.monotonic()
        fresh = now - self._counted_at.get(to.worker_id, -RECOUNT_S) < RECOUNT_S
        if counts is not None and sum(counts) < to.capacity and fresh:
            return counts
        counts = self.counts[to.worker_id] = await self.store.inflight_counts(to.worker_id)
        self._counted_at[to.worker_id] = now
        return counts

    async def _dispatch_in(
        self,
        k: int,
        to: DispatchTarget,
        only: Sequence[str],
        want: int,
        counts: list[int],
        capped: frozenset[str],
        got: _Gathered,
    ) -> int:
        """One dispatch into partition k for up to `want` jobs (with permits for the
        limited types homed elsewhere); adds what it leased to `got` and `counts`,
        returns how many, or -1 when Redis failed and this call already holds leases
        from other partitions: those are returned rather than lost with an error (a
        lease never shown to its worker waits out its TTL)."""
        try:
            lent, held_back = await self._lend(k, to.job_types, capped, want)
            grants = grants_text({t: n for t, (_, n) in lent.items()})
            args = self.store._dispatch_args(replace(to, capacity=counts[k] + want), only, grants)
            raw = await self.store._run("dispatch", args, part=self.store.parts[k])
        except (RedisConnectionError, RedisTimeoutError):
            if not got.leases:
                raise
            return -1
        result = self.store._dispatch_result(raw)
        with contextlib.suppress(RedisConnectionError, RedisTimeoutError):
            # Unsettled, the reservation lapses on its own (docs/scaling.md).
            await self._settle(k, lent, result.leases)
        counts[k] += len(result.leases)
        got.add(result)
        if held_back:
            got.wait(held_back)
            got.limited_types.update(t for t, (_, n) in lent.items() if not n)
        return len(result.leases)

    async def _lend(
        self, k: int, job_types: Sequence[str], limited: frozenset[str], free: int
    ) -> tuple[dict[str, tuple[str, int]], int]:
        """Permits from their homes for the limited types partition k may have work
        of (store/permits.py): {type: (reservation, lent)}, and the shortest wait
        until a rate-limited one may go when one lent nothing."""
        lent: dict[str, tuple[str, int]] = {}
        wait = 0
        for job_type in job_types:
            home = self.store.layout.key_partition(job_type)
            if job_type in limited and home != k and self.store.hints.may_have(k, (job_type,)):
                rid, granted, wait_ms = await self.permits.acquire(home, job_type, free)
                lent[job_type] = (rid, granted)
                if wait_ms:
                    wait = min(wait or wait_ms, wait_ms)
        return lent, wait

    async def _settle(
        self, k: int, lent: dict[str, tuple[str, int]], leases: Sequence[Lease]
    ) -> None:
        """Settle each reservation with the leases it let through."""
        for job_type, (rid, granted) in lent.items():
            if granted:
                used = [x for x in leases if x.type == job_type]
                home = self.store.layout.key_partition(job_type)
                await self.permits.settle(home, job_type, rid, granted, k, used)

    async def give_back(
        self, k: int, ids: Sequence[str], outcomes: Sequence[tuple[str, str]], ended: set[str]
    ) -> None:
        """Return the permits of off-home leases of limited types that just ended."""
        if self.store.single:
            return
        limited = await self.store._limited_types()
        by_type: dict[str, list[str]] = {}
        for job_id, (code, job_type) in zip(ids, outcomes, strict=True):
            if (
                code in ended
                and job_type in limited
                and self.store.layout.key_partition(job_type) != k
            ):
                by_type.setdefault(job_type, []).append(holder(k, job_id))
        for job_type, holders in by_type.items():
            await self.permits.release(self.store.layout.key_partition(job_type), job_type, holders)

    def count_acks(
        self, worker_id: str, ids: Sequence[str], outcomes: Sequence[tuple[str, str]]
    ) -> None:
        """Lower a worker's counts by its acks this broker ran."""
        counts = self.counts.get(worker_id)
        if counts is None:
            return
        for job_id, (code, _) in zip(ids, outcomes, strict=True):
            part = self.store.part_of(job_id)
            if code == "ok" and part is not None and counts[part.index] > 0:
                counts[part.index] -= 1

    async def extend_permits(
        self, k: int, batch: Sequence[tuple[str, int, int]], rows: Sequence[Any]
    ) -> None:
        """Extended off-home leases of limited types extend their permits."""
        if self.store.single:
            return
        limited = await self.store._limited_types()
        by_type: dict[str, list[tuple[str, int]]] = {}
        for (job_id, _, _), (code, deadline, job_type) in zip(batch, rows, strict=True):
            if (
                code == "ok"
                and job_type in limited
                and self.store.layout.key_partition(job_type) != k
            ):
                by_type.setdefault(job_type, []).append((holder(k, job_id), int(deadline)))
        for job_type, holders in by_type.items():
            await self.permits.extend(self.store.layout.key_partition(job_type), job_type, holders)
