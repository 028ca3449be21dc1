"""The job store: every state change of a job, each one atomic Lua script.

Only this package talks to Redis. It knows nothing of gRPC: callers pass plain
records and get plain records back. Time comes from the injected clock.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from gopher_server.clock import Clock
from gopher_server.errors import TooLarge
from gopher_server.store import contracts as c
from gopher_server.store._text import text
from gopher_server.store._text import texts as texts_of
from gopher_server.store.hints import Hints
from gopher_server.store.job_hash import PayloadChunking
from gopher_server.store.keys import PRIORITIES, Keys
from gopher_server.store.partitions import Layout
from gopher_server.store.pubsub import PubSub, PubSubLike
from gopher_server.store.records import (
    DispatchResult,
    DispatchTarget,
    GroupSubmitResult,
    JobRecord,
    Lease,
    NackItem,
    NewGroup,
    NewJob,
    SubmitResult,
)
from gopher_server.store.schema import decode_job, job_history
from gopher_server.store.scripts import Scripts
from gopher_server.store.spread import ACK_ENDED, NACK_ENDED, Spread

# Reply readers, built once from the scripts' declared reply shapes.
_SUBMITTED = c.row_reader(c.SUBMITTED)
_CODE_TYPE = c.row_reader(c.CODE_TYPE)
_ID_STATE = c.row_reader(c.ID_STATE)
_EXTENDED = c.row_reader(c.CONTRACT["extend"].reply.fields)
_LEASES = c.row_reader(c.LEASE_FIELDS)
_PACK = {name: contract.pack for name, contract in c.CONTRACT.items()}
# How long the set of rate-limited types (which decides where their jobs go) is reused.
_LIMITED_TTL_S = 2.0
T = TypeVar("T")


class ScriptRunner(Protocol):
    """Runs a named script with KEYS and ARGV (store/scripts.py, store/cluster.py)."""

    async def run(self, name: str, keys: list[str], args: list[Any]) -> Any: ...

    async def read(self, key: str, *command: Any) -> Any: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Partition:
    """One partition of the namespace: its keys and what every script call passes."""

    index: int
    keys: Keys
    script_keys: list[str]
    prefixes: list[str]
    ctl: str
    group_prefix: str

    @classmethod
    def of(cls, index: int, keys: Keys) -> Partition:
        return cls(
            index,
            keys,
            c.common_keys(keys),
            keys.script_prefixes(),
            keys.control_channel(),
            keys.group(""),
        )


@dataclass(frozen=True)
class StoreSettings:
    """Store policy knobs, all durations in ms."""

    default_lease_ms: int = 30_000
    finished_retention_ms: int = 7 * 24 * 3600 * 1000
    idempotency_ttl_ms: int = 24 * 3600 * 1000
    history_cap: int = 100
    # Most distinct job types the namespace may know (0: no cap); bounds every per-type
    # key and label set.
    max_job_types: int = 10_000
    # Approximate most entries kept in the global events feed (0: no feed).
    events_max_len: int = 10_000
    # A worker that let a lease expire (presumed hung) or handed a job back (draining)
    # gets no new jobs for this long, unless it answers or reconnects meanwhile.
    hold_ms: int = 60_000
    # A stream heartbeat younger than this means the stream is alive (3 heartbeats).
    stream_fresh_ms: int = 15_000
    backoff_base_ms: int = 1_000
    backoff_factor: float = 2.0
    backoff_max_ms: int = 3_600_000
    # Weighted mode serves priorities in this pattern; strict mode ignores it.
    priority_pattern: tuple[str, ...] = ("high", "normal", "high", "low", "normal", "high")
    strict_priority: bool = False
    # How long payloads are split to keep job hashes compact; the broker reads it from
    # Redis' configuration at start (see store/job_hash.py).
    chunking: PayloadChunking = field(default_factory=PayloadChunking)


class Store:
    """Atomic job transitions over one Redis namespace, split into `layout.count`
    partitions (store/partitions.py). Every script runs inside one partition; calls
    that concern several (a batch of acks, a release, the periodic components) run
    one script per partition concerned, concurrently."""

    def __init__(
        self,
        redis: Redis,
        clock: Clock,
        keys: Keys | None = None,
        settings: StoreSettings | None = None,
        *,
        layout: Layout | None = None,
        scripts: ScriptRunner | None = None,
        pubsub: Callable[[], PubSubLike] | None = None,
        cluster: bool = False,
    ) -> None:
        self.redis = redis
        self.clock = clock
        self.layout = layout or Layout((keys or Keys()).prefix, 1)
        # The control slot's keys: worker registry, schedules, limits, the layout.
        self.keys = self.layout.control
        self.settings = settings or StoreSettings()
        self.parts = [Partition.of(k, self.layout.keys_of(k)) for k in range(self.layout.count)]
        self.single = self.layout.count == 1
        self.cluster = cluster
        self._scripts: ScriptRunner = scripts or Scripts(redis)
        self._pubsub = pubsub
        self._common_for: StoreSettings | None = None
        self._common_tail: list[list[Any]] = []
        self.hints = Hints(self.layout.count)
        self.spread = Spread(self)
        self._turn = random.randrange(self.layout.count)
        self._limited: frozenset[str] = frozenset()
        self._limited_at = -_LIMITED_TTL_S
        # Called with the workers whose slots an ack or nack freed; the broker wakes its
        # streams of those workers without waiting for the pub/sub announcement.
        self.slots_freed: Callable[[Sequence[str]], None] = lambda worker_ids: None

    async def close(self) -> None:
        """Close the store's own connections (the Redis client is the caller's)."""
        await self._scripts.aclose()

    async def ping(self) -> bool:
        """Whether Redis answers now (health and readiness); never raises."""
        try:
            return bool(await self.redis.ping())
        except Exception:
            return False

    def pubsub(self) -> PubSubLike:
        """A pub/sub connection to the same server (the hub's wake-ups and watches);
        on a cluster, one sharded subscription per master."""
        return self._pubsub() if self._pubsub is not None else PubSub(self.redis)

    async def publish(self, channel: str, message: str) -> None:
        """Publish a control message from the broker (sharded on a cluster)."""
        if self.cluster:
            await self.redis.execute_command("SPUBLISH", channel, message)
        else:
            await self.redis.publish(channel, message)

    # -- partitions ------------------------------------------------------------------
    def part_of(self, job_id: str) -> Partition | None:
        """The partition holding `job_id`, or None for an id none can hold."""
        if self.single:
            return self.parts[0]
        index = self.layout.partition_of(job_id)
        return None if index is None else self.parts[index]

    def job_keys(self, job_id: str) -> Keys:
        """The keys of the partition `job_id` belongs to (the first for a foreign id,
        where it will simply not be found)."""
        part = self.part_of(job_id)
        return (part or self.parts[0]).keys

    def job_channel(self, job_id: str) -> str:
        """The channel announcing a job's state changes (WatchJob)."""
        return self.job_keys(job_id).job_channel(job_id)

    async def each_part(self, call: Callable[[Partition], Awaitable[T]]) -> list[T]:
        """`call` for every partition, concurrently; results in partition order."""
        if self.single:
            return [await call(self.parts[0])]
        return list(await asyncio.gather(*(call(part) for part in self.parts)))

    def _by_part(self, ids: Sequence[str]) -> dict[int, list[int]]:
        """Positions of `ids` grouped by partition index (-1: no partition)."""
        groups: dict[int, list[int]] = {}
        for i, job_id in enumerate(ids):
            part = self.part_of(job_id)
            groups.setdefault(-1 if part is None else part.index, []).append(i)
        return groups

    async def _scatter(
        self,
        ids: Sequence[str],
        items: Sequence[T],
        call: Callable[[Partition, list[T]], Awaitable[list[Any]]],
        missing: Any,
    ) -> list[Any]:
        """Run `call` once per partition with the items whose ids it holds, and put
        the per-item answers back in the items' order (`missing` for foreign ids)."""
        if self.single:
            return await call(self.parts[0], list(items))
        groups = self._by_part(ids)
        out: list[Any] = [missing] * len(items)
        pending = [(k, pos) for k, pos in groups.items() if k >= 0]
        answers = await asyncio.gather(
            *(call(self.parts[k], [items[i] for i in pos]) for k, pos in pending)
        )
        for (_, pos), answer in zip(pending, answers, strict=True):
            for i, value in zip(pos, answer, strict=True):
                out[i] = value
        return out

    def _common_argv(self, part: Partition, now: int) -> list[Any]:
        """The ARGV head every script takes (contracts.COMMON_ARGV), in that order."""
        s = self.settings
        if s is not self._common_for:  # built once per settings object
            # The feed's cap is shared out: P partitions keep about as much as one did.
            count = self.layout.count
            feed_cap = -(-s.events_max_len // count) if s.events_max_len > 0 else 0
            self._common_tail = [
                [
                    s.history_cap,
                    p.ctl,
                    feed_cap,
                    s.idempotency_ttl_ms,
                    s.chunking.chunk_bytes,
                    s.chunking.max_chunks,
                    p.group_prefix,
                    s.finished_retention_ms,
                ]
                for p in self.parts
            ]
            self._common_for = s
        return [*part.prefixes, now, *self._common_tail[part.index]]

    async def _run(self, name: str, *values: Any, part: Partition | None = None) -> Any:
        """Run script `name` in `part` (default: the first partition) with its own
        arguments `values`, packed as its contract (store/contracts.py) declares."""
        part = part or self.parts[0]
        argv = self._common_argv(part, self.clock.now_ms())
        argv += _PACK[name](*values)
        return await self._scripts.run(name, part.script_keys, argv)

    # -- submit --------------------------------------------------------------------
    async def submit(self, jobs: Sequence[NewJob]) -> list[SubmitResult]:
        """Write a batch of validated jobs atomically; duplicates (same idempotency key
        within its TTL) return the earlier job instead. Follow-ups are stored with
        their parent and submitted by its outcome. With several partitions, the batch
        is atomic per partition it lands in (see `_place`)."""
        return (await self._submit(jobs, None))[0]

    async def submit_and_dispatch(
        self, jobs: Sequence[NewJob], to: DispatchTarget
    ) -> tuple[list[SubmitResult], DispatchResult]:
        """`submit`, then in the same call `dispatch` to a waiting stream: new work
        reaches an idle worker without a second round trip (with several partitions,
        a second call into the partition the jobs went to)."""
        results, dispatched = await self._submit(jobs, to)
        assert dispatched is not None
        return results, dispatched

    async def _run_creating(self, name: str, *values: Any, part: Partition | None = None) -> Any:
        """Run a script that creates jobs; its TYPE_LIMIT error becomes TooLarge."""
        try:
            return await self._run(name, *values, part=part)
        except ResponseError as exc:
            message = str(exc)
            if "TYPE_LIMIT" in message:
                raise TooLarge(message.split("TYPE_LIMIT", 1)[1].strip(), "type") from None
            raise

    async def _submit(
        self, jobs: Sequence[NewJob], to: DispatchTarget | None
    ) -> tuple[list[SubmitResult], DispatchResult | None]:
        if self.single:
            handoff = None if to is None else self._dispatch_args(to)
            raw = await self._run_creating("submit", jobs, self.settings.max_job_types, handoff)
            dispatched = None
            if to is not None:
                raw, dispatched = raw[0], self._dispatch_result(raw[1])
            return [SubmitResult(*row) for row in _SUBMITTED(raw)], dispatched
        placed = await self._place(jobs)
        if to is not None and len(placed) == 1 and to.worker_id in self.spread.counts:
            ((k, batch),) = placed.items()
            return await self._submit_handing_off(k, [job for _, job in batch], to)
        results: list[SubmitResult | None] = [None] * len(jobs)

        async def write(k: int, batch: list[tuple[int, NewJob]]) -> None:
            part = self.parts[k]
            raw = await self._run_creating(
                "submit", [j for _, j in batch], self.settings.max_job_types, None, part=part
            )
            for (i, _), row in zip(batch, _SUBMITTED(raw), strict=True):
                results[i] = SubmitResult(*row)
            for _, job in batch:
                self.hints.mark(k, job.type)

        await asyncio.gather(*(write(k, batch) for k, batch in placed.items()))
        dispatched = None if to is None else await self.spread.run(to, list(placed))
        return [r for r in results if r is not None], dispatched

    async def _submit_handing_off(
        self, k: int, jobs: list[NewJob], to: DispatchTarget
    ) -> tuple[list[SubmitResult], DispatchResult]:
        """Submit into partition k and, in the same script, dispatch to the parked
        stream `to` (the one-partition hand-off), sized from the stream's counts."""
        async with self.spread.lock(to.worker_id):
            counts = self.spread.counts[to.worker_id]
            capacity = counts[k] + max(0, to.capacity - sum(counts))
            handoff = self._dispatch_args(replace(to, capacity=capacity))
            raw = await self._run_creating(
                "submit", jobs, self.settings.max_job_types, handoff, part=self.parts[k]
            )
            dispatched = self._dispatch_result(raw[1])
            counts[k] += len(dispatched.leases)
        for job in jobs:
            self.hints.mark(k, job.type)
        return [SubmitResult(*row) for row in _SUBMITTED(raw[0])], dispatched

    async def _place(self, jobs: Sequence[NewJob]) -> dict[int, list[tuple[int, NewJob]]]:
        """Which partition each job goes to, with its id (and its follow-ups' ids)
        naming it: a job of a rate-limited type goes to the type's home, where its
        limits are kept exactly; a job with an idempotency key goes where its key
        hashes, so repeats meet the first; any other job goes where its (random) id
        hashes. A batch is therefore atomic per partition it lands in, and written
        with one script per partition, concurrently."""
        limited = await self._limited_types()
        placed: dict[int, list[tuple[int, NewJob]]] = {}
        for i, job in enumerate(jobs):
            if job.type in limited:
                k = self.layout.key_partition(job.type)
            elif job.idempotency_key:
                k = self.layout.key_partition(job.idempotency_key)
            else:
                k = self.layout.partition_of(job.id) or 0
            placed.setdefault(k, []).append((i, self._in_partition(job, k)))
        return placed

    def _in_partition(self, job: NewJob, k: int) -> NewJob:
        """`job` with ids that name partition k, its follow-ups' too (follow-ups are
        created by their parent's outcome, in the parent's partition)."""
        return replace(
            job,
            id=self.layout.job_id(k, job.id),
            on_success=tuple(self._in_partition(f, k) for f in job.on_success),
            on_failure=tuple(self._in_partition(f, k) for f in job.on_failure),
        )

    async def _limited_types(self) -> frozenset[str]:
        """Job types with a rate limit or concurrency cap (the control slot's copy),
        re-read at most every couple of seconds."""
        now = time.monotonic()
        if now - self._limited_at >= _LIMITED_TTL_S:
            self._limited = frozenset(texts_of(await self.redis.hkeys(self.keys.rate_limits())))
            self._limited_at = now
        return self._limited

    def limits_changed(self) -> None:
        """The set of limited types changed on this broker: re-read it on next use."""
        self._limited_at = -_LIMITED_TTL_S

    async def submit_group(self, group: NewGroup) -> GroupSubmitResult:
        """Write a validated group and its members atomically (see lua/_groups.lua). A
        repeat of its idempotency key within the TTL returns the earlier group. With
        several partitions the group and all its members live in one: its key's, or
        the next in turn."""
        part = self.parts[0]
        if not self.single:
            if group.idempotency_key:
                k = self.layout.key_partition(group.idempotency_key)
            else:
                k = self._turn = (self._turn + 1) % self.layout.count
            part = self.parts[k]
            group = replace(
                group,
                id=self.layout.job_id(k, group.id),
                members=tuple(self._in_partition(m, k) for m in group.members),
                on_complete=tuple(self._in_partition(f, k) for f in group.on_complete),
                on_success=tuple(self._in_partition(f, k) for f in group.on_success),
                on_failure=tuple(self._in_partition(f, k) for f in group.on_failure),
            )
        keys = part.keys
        key = keys.group_idempotency(group.idempotency_key) if group.idempotency_key else ""
        raw = await self._run_creating(
            "submit_group",
            group.id,
            key,
            group.idempotency_key,
            group.on_complete,
            group.on_success,
            group.on_failure,
            group.trace,
            self.settings.max_job_types,
            group.members,
            part=part,
        )
        members = [SubmitResult(*row) for row in _SUBMITTED(raw[2:])]
        for m in group.members:
            self.hints.mark(part.index, m.type)
        return GroupSubmitResult(raw[0], members, bool(int(raw[1])))

    # -- dispatch and outcomes --------------------------------------------------------
    async def dispatch(
        self, worker_id: str, session_id: str, capacity: int, job_types: Sequence[str]
    ) -> DispatchResult:
        """Lease up to the worker's free slots of ready jobs of its types, by priority;
        with several partitions, from those that may have work for it (store/hints.py)."""
        to = DispatchTarget(worker_id, session_id, capacity, tuple(job_types))
        if self.single:
            return self._dispatch_result(await self._run("dispatch", self._dispatch_args(to)))
        return await self.spread.run(to, self.hints.candidates(to.job_types))

    async def refresh_hints(self) -> set[str]:
        """Read every partition's ready-type sets into the hints; return the types newly
        hinted anywhere (components/work_summary.py)."""
        replies = await self.read_many(
            [
                ("SMEMBERS", part.keys.ready_types(priority))
                for part in self.parts
                for priority in PRIORITIES
            ]
        )
        new: set[str] = set()
        width = len(PRIORITIES)
        for part in self.parts:
            types = set().union(*replies[part.index * width : (part.index + 1) * width])
            new |= self.hints.add(part.index, texts_of(types))
        return new

    async def read_many(self, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Read-only commands, each (name, key, *args), sent together on the scripts'
        own auto-pipelined connections (one write per master this turn): much cheaper
        in broker CPU than a redis-py cluster pipeline."""
        return list(await asyncio.gather(*(self._scripts.read(c[1], *c) for c in commands)))

    async def inflight_counts(self, worker_id: str) -> list[int]:
        """The worker's leased jobs in each partition, in partition order: one SCARD
        per partition, all sent in the same turn on the scripts' own connections."""
        replies = await self.read_many([("SCARD", p.keys.inflight(worker_id)) for p in self.parts])
        return [int(n) for n in replies]

    def _dispatch_args(
        self, to: DispatchTarget, only: Sequence[str] = PRIORITIES, grants: str = ""
    ) -> tuple[Any, ...]:
        """The DISPATCH tail's values, in contracts.DISPATCH_TAIL's order. In strict
        order the pattern is the priorities the call may serve (`only`); `grants` are
        the permits lent for limited types whose home is elsewhere."""
        s = self.settings
        pattern = only if s.strict_priority else s.priority_pattern
        return (
            to.worker_id,
            to.session_id,
            to.capacity,
            s.default_lease_ms,
            s.strict_priority,
            ",".join(pattern),
            grants,
            to.job_types,
        )

    @staticmethod
    def _dispatch_result(raw: list[Any]) -> DispatchResult:
        rows, wait_ms, limited, limited_types = raw
        leases = [Lease(*row) for row in _LEASES(rows)]
        return DispatchResult(leases, int(wait_ms), int(limited), tuple(limited_types))

    async def ack(self, items: Sequence[tuple[str, int, str]]) -> list[str]:
        """Complete (job id, token, result JSON) items; one code per item:
        'ok', 'stale' or 'missing'."""
        return [code for code, _ in await self.ack_detailed(items)]

    async def ack_detailed(self, items: Sequence[tuple[str, int, str]]) -> list[tuple[str, str]]:
        """Like `ack`, with each job's type: (code, type) per item."""
        return (await self._ack(items, None))[0]

    async def ack_for_worker(
        self, items: Sequence[tuple[str, int, str]], worker_id: str
    ) -> list[tuple[str, str]]:
        """`ack_detailed` for one worker's own acks; with several partitions its
        counts drop by what it acked, so its next dispatch (the stream's, woken by
        the caller) is sized without reading every partition (store/spread.py)."""
        outcomes = (await self._ack(items, None))[0]
        if not self.single:
            self.spread.count_acks(worker_id, [it[0] for it in items], outcomes)
        return outcomes

    async def ack_and_dispatch(
        self, items: Sequence[tuple[str, int, str]], to: DispatchTarget
    ) -> tuple[list[tuple[str, str]], DispatchResult]:
        """`ack_detailed`, then in the same call `dispatch` to the acking worker's
        stream: the freed slots are refilled without another round trip."""
        outcomes, dispatched = await self._ack(items, to)
        assert dispatched is not None
        return outcomes, dispatched

    async def _ack(
        self, items: Sequence[tuple[str, int, str]], to: DispatchTarget | None
    ) -> tuple[list[tuple[str, str]], DispatchResult | None]:
        retention = self.settings.finished_retention_ms
        if not self.single:
            # The refill is a dispatch over every partition that may have work, not a
            # refill inside the ack's script: that kept a stream in the partition it
            # acked in, serving its low jobs while others held high ones.
            outcomes = await self._scatter(
                [it[0] for it in items],
                items,
                lambda part, batch: self._ack_in(part, batch),
                ("missing", ""),
            )
            if to is None:
                return outcomes, None
            self.spread.count_acks(to.worker_id, [it[0] for it in items], outcomes)
            return outcomes, await self.spread.run(to, self.hints.candidates(to.job_types))
        if to is None:
            return self._outcomes(await self._run("ack", retention, items, None), len(items)), None
        raw = await self._run("ack", retention, items, self._dispatch_args(to))
        return self._outcomes(raw[0], len(items)), self._dispatch_result(raw[1])

    async def _ack_in(
        self, part: Partition, batch: list[tuple[str, int, str]]
    ) -> list[tuple[str, str]]:
        raw = await self._run("ack", self.settings.finished_retention_ms, batch, None, part=part)
        outcomes = self._outcomes(raw, len(batch))
        await self.spread.give_back(part.index, [it[0] for it in batch], outcomes, ACK_ENDED)
        return outcomes

    async def nack(self, items: Sequence[NackItem]) -> list[str]:
        """Record failed or handed-back deliveries; one code per item: 'enqueued',
        'retrying', 'dead', 'stale' or 'missing'."""
        return [code for code, _ in await self.nack_detailed(items)]

    async def nack_detailed(self, items: Sequence[NackItem]) -> list[tuple[str, str]]:
        """Like `nack`, with each job's type: (code, type) per item."""
        records = [
            (
                it.job_id,
                it.token,
                it.error_type,
                it.message,
                it.traceback,
                it.non_retryable,
                -1 if it.retry_after_ms is None else it.retry_after_ms,
                it.handback,
                random.random(),
                it.draining,
            )
            for it in items
        ]
        return await self._scatter(
            [it.job_id for it in items], records, self._nack_in, ("missing", "")
        )

    async def _nack_in(self, part: Partition, records: list[Any]) -> list[tuple[str, str]]:
        s = self.settings
        raw = await self._run(
            "nack",
            s.backoff_base_ms,
            s.backoff_factor,
            s.backoff_max_ms,
            s.hold_ms,
            records,
            part=part,
        )
        self.hints.unknown(part.index)  # handed back or retried at once: ready again
        outcomes = self._outcomes(raw, len(records))
        await self.spread.give_back(part.index, [r[0] for r in records], outcomes, NACK_ENDED)
        return outcomes

    def _outcomes(self, raw: list[str], n: int) -> list[tuple[str, str]]:
        """The (code, type) pairs of an ack or nack reply; the worker ids after them
        go to `slots_freed`."""
        if len(raw) > 2 * n:
            self.slots_freed(raw[2 * n :])
        return _CODE_TYPE(raw[: 2 * n])

    async def extend(self, items: Sequence[tuple[str, int, int]]) -> list[tuple[str, int]]:
        """Extend (job id, token, ttl ms or 0) leases; (code, new deadline ms) each."""

        async def extend_in(part: Partition, batch: list[tuple[str, int, int]]) -> list[Any]:
            raw = await self._run("extend", self.settings.default_lease_ms, batch, part=part)
            rows = _EXTENDED(raw)
            await self.spread.extend_permits(part.index, batch, rows)
            return [(code, deadline) for code, deadline, _ in rows]

        return await self._scatter([it[0] for it in items], items, extend_in, ("missing", 0))

    async def release(self, worker_id: str, session_id: str) -> list[tuple[str, str]]:
        """Recover the jobs leased through one closed stream; (job id, new state) each."""
        self.spread.counts.pop(worker_id, None)  # its next dispatch counts afresh

        async def release_in(part: Partition) -> list[tuple[str, str]]:
            released = _ID_STATE(await self._run("release", worker_id, session_id, part=part))
            if released:
                self.hints.unknown(part.index)
            return released

        return [pair for pairs in await self.each_part(release_in) for pair in pairs]

    async def expire_leases(self, limit: int = 1000) -> list[tuple[str, str]]:
        """Recover jobs whose lease deadline passed; (job id, new state) each. Their
        workers get no new jobs for `hold_ms` unless they answer meanwhile."""
        s = self.settings

        async def expire_in(part: Partition) -> list[tuple[str, str]]:
            streams = part.keys.worker_streams("")
            raw = await self._run("expire", limit, s.hold_ms, streams, s.stream_fresh_ms, part=part)
            if raw:
                self.hints.unknown(part.index)
            return _ID_STATE(raw)

        return [pair for pairs in await self.each_part(expire_in) for pair in pairs]

    async def promote_due(self, limit: int = 1000) -> int:
        """Move due scheduled and retrying jobs to their ready lists; return how many."""

        async def promote_in(part: Partition) -> int:
            moved = int(await self._run("promote", limit, part=part))
            if moved:
                self.hints.unknown(part.index)
            return moved

        return sum(await self.each_part(promote_in))

    async def cancel(self, job_id: str) -> tuple[str, bool]:
        """Cancel a job; return (state after the call, whether this call cancelled it).
        The state is 'missing' for an unknown job."""
        part = self.part_of(job_id)
        if part is None:
            return "missing", False
        retention = self.settings.finished_retention_ms
        state, done = await self._run("cancel", job_id, retention, part=part)
        return state, bool(int(done))

    async def run_now(self, job_id: str) -> tuple[str, bool]:
        """Make a scheduled or retrying job ready at once; return (state after the call,
        whether this call moved it). The state is 'missing' for an unknown job."""
        part = self.part_of(job_id)
        if part is None:
            return "missing", False
        state, moved = await self._run("run_now", job_id, part=part)
        if int(moved):
            self.hints.unknown(part.index)
        return text(state), bool(int(moved))

    async def watch_job(self, job_id: str) -> bool:
        """Mark a job watched, so its transitions publish on its job channel from now
        on (subscribe to the channel first, read the job after); False for an unknown
        job. Unwatched jobs publish nothing: a command saved per transition."""
        part = self.part_of(job_id)
        if part is None:
            return False
        return bool(int(await self._run("watch", job_id, part=part)))

    async def requeue_dead(self, job_ids: Sequence[str]) -> int:
        """Requeue dead jobs with attempts reset; return how many moved."""

        async def requeue_in(part: Partition, ids: list[str]) -> list[int]:
            moved = int(await self._run("requeue_dead", ids, part=part))
            if moved:
                self.hints.unknown(part.index)
            return [moved] + [0] * (len(ids) - 1)

        return sum(await self._scatter(job_ids, job_ids, requeue_in, 0))

    async def trim_finished(self, keep: int, batch: int = 1000) -> int:
        """Delete the oldest finished jobs beyond `keep` (shared out over the
        partitions), at most `batch` per partition per call; return how many."""
        share = -(-keep // self.layout.count)

        async def trim_in(part: Partition) -> int:
            return int(await self._run("trim_finished", share, batch, part=part))

        return sum(await self.each_part(trim_in))

    async def prune_holds(self) -> int:
        """Forget the holds of workers that are gone (no live stream) and holds whose
        time is over; return how many were removed."""
        fresh = self.settings.stream_fresh_ms

        async def prune_in(part: Partition) -> int:
            streams = part.keys.worker_streams("")
            return int(await self._run("prune_holds", streams, fresh, part=part))

        return sum(await self.each_part(prune_in))

    async def purge_dead(self, job_ids: Sequence[str]) -> int:
        """Delete dead jobs; return how many were deleted."""

        async def purge_in(part: Partition, ids: list[str]) -> list[int]:
            purged = int(await self._run("purge_dead", ids, part=part))
            return [purged] + [0] * (len(ids) - 1)

        return sum(await self._scatter(job_ids, job_ids, purge_in, 0))

    # -- reads -------------------------------------------------------------------------
    async def get_job(self, job_id: str, with_history: bool = True) -> JobRecord | None:
        """The job's stored fields and history, or None if it does not exist."""
        if self.part_of(job_id) is None:
            return None
        keys = self.job_keys(job_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.job(job_id))
            if with_history:  # only a job from before the history moved into its hash
                pipe.lrange(keys.history(job_id), 0, -1)
            replies = await pipe.execute()
        fields = replies[0]
        if not fields:
            return None
        if not with_history:
            return decode_job(job_id, fields)
        history = job_history(fields, replies[1], self.settings.history_cap)
        return decode_job(job_id, fields, *history)

    async def get_jobs(self, job_ids: Sequence[str], with_history: bool = False) -> list[JobRecord]:
        """Records of the given jobs that still exist, in order, in one round trip."""
        job_ids = [j for j in job_ids if self.part_of(j) is not None]
        if not job_ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                keys = self.job_keys(job_id)
                pipe.hgetall(keys.job(job_id))
                if with_history:
                    pipe.lrange(keys.history(job_id), 0, -1)
            replies = await pipe.execute()
        step = 2 if with_history else 1
        records = []
        for job_id, i in zip(job_ids, range(0, len(replies), step), strict=True):
            fields = replies[i]
            if not fields:
                continue
            if with_history:
                history = job_history(fields, replies[i + 1], self.settings.history_cap)
                records.append(decode_job(job_id, fields, *history))
            else:
                records.append(decode_job(job_id, fields))
        return records
