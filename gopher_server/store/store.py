"""The job store: every state change of a job, each one atomic Lua script.

Only this package talks to Redis. It knows nothing of gRPC: callers pass plain
records and get plain records back. Time comes from the injected clock.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from gopher_server.clock import Clock
from gopher_server.errors import TooLarge
from gopher_server.store import contracts as c
from gopher_server.store._text import text
from gopher_server.store.job_hash import PayloadChunking
from gopher_server.store.keys import Keys
from gopher_server.store.pubsub import PubSub
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
from gopher_server.store.schema import decode_event, decode_job
from gopher_server.store.scripts import Scripts

# Reply readers, built once from the scripts' declared reply shapes.
_SUBMITTED = c.row_reader(c.SUBMITTED)
_CODE_TYPE = c.row_reader(c.CODE_TYPE)
_ID_STATE = c.row_reader(c.ID_STATE)
_EXTENDED = c.row_reader(c.CONTRACT["extend"].reply.fields)
_LEASES = c.row_reader(c.LEASE_FIELDS)
_PACK = {name: contract.pack for name, contract in c.CONTRACT.items()}


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
    """Atomic job transitions over one Redis namespace."""

    def __init__(
        self,
        redis: Redis,
        clock: Clock,
        keys: Keys | None = None,
        settings: StoreSettings | None = None,
    ) -> None:
        self.redis = redis
        self.clock = clock
        self.keys = keys or Keys()
        self.settings = settings or StoreSettings()
        self._scripts = Scripts(redis)
        self._script_keys = c.common_keys(self.keys)
        self._prefixes = self.keys.script_prefixes()
        self._ctl = self.keys.control_channel()
        self._group_prefix = self.keys.group("")
        self._common_for: StoreSettings | None = None
        self._common_tail: list[Any] = []
        # Called with the workers whose slots an ack or nack freed; the broker wakes its
        # streams of those workers without waiting for the pub/sub announcement.
        self.slots_freed: Callable[[Sequence[str]], None] = lambda worker_ids: None

    async def close(self) -> None:
        """Close the store's own connection (the Redis client is the caller's)."""
        await self._scripts.aclose()

    async def ping(self) -> bool:
        """Whether Redis answers now (health and readiness); never raises."""
        try:
            return bool(await self.redis.ping())
        except Exception:
            return False

    def pubsub(self) -> PubSub:
        """A pub/sub connection to the same server (the hub's wake-ups and watches)."""
        return PubSub(self.redis)

    def _common_argv(self, now: int) -> list[Any]:
        """The ARGV head every script takes (contracts.COMMON_ARGV), in that order."""
        s = self.settings
        if s is not self._common_for:  # built once per settings object
            self._common_tail = [
                s.history_cap,
                self._ctl,
                s.events_max_len,
                s.idempotency_ttl_ms,
                s.chunking.chunk_bytes,
                s.chunking.max_chunks,
                self._group_prefix,
                s.finished_retention_ms,
            ]
            self._common_for = s
        return [*self._prefixes, now, *self._common_tail]

    async def _run(self, name: str, *values: Any) -> Any:
        """Run script `name` with its own arguments `values`, packed as its contract
        (store/contracts.py) declares them."""
        argv = self._common_argv(self.clock.now_ms())
        argv += _PACK[name](*values)
        return await self._scripts.run(name, self._script_keys, argv)

    # -- submit --------------------------------------------------------------------
    async def submit(self, jobs: Sequence[NewJob]) -> list[SubmitResult]:
        """Write a batch of validated jobs atomically; duplicates (same idempotency key
        within its TTL) return the earlier job instead. Follow-ups are stored with
        their parent and submitted by its outcome."""
        return (await self._submit(jobs, None))[0]

    async def submit_and_dispatch(
        self, jobs: Sequence[NewJob], to: DispatchTarget
    ) -> tuple[list[SubmitResult], DispatchResult]:
        """`submit`, then in the same call `dispatch` to a waiting stream: new work
        reaches an idle worker without a second round trip."""
        results, dispatched = await self._submit(jobs, to)
        assert dispatched is not None
        return results, dispatched

    async def _run_creating(self, name: str, *values: Any) -> Any:
        """Run a script that creates jobs; its TYPE_LIMIT error becomes TooLarge."""
        try:
            return await self._run(name, *values)
        except ResponseError as exc:
            message = str(exc)
            if "TYPE_LIMIT" in message:
                raise TooLarge(message.split("TYPE_LIMIT", 1)[1].strip(), "type") from None
            raise

    async def _submit(
        self, jobs: Sequence[NewJob], to: DispatchTarget | None
    ) -> tuple[list[SubmitResult], DispatchResult | None]:
        handoff = None if to is None else self._dispatch_args(to)
        raw = await self._run_creating("submit", jobs, self.settings.max_job_types, handoff)
        dispatched = None
        if to is not None:
            raw, dispatched = raw[0], self._dispatch_result(raw[1])
        return [SubmitResult(*row) for row in _SUBMITTED(raw)], dispatched

    async def submit_group(self, group: NewGroup) -> GroupSubmitResult:
        """Write a validated group and its members atomically (see lua/_groups.lua). A
        repeat of its idempotency key within the TTL returns the earlier group."""
        key = self.keys.group_idempotency(group.idempotency_key) if group.idempotency_key else ""
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
        )
        members = [SubmitResult(*row) for row in _SUBMITTED(raw[2:])]
        return GroupSubmitResult(raw[0], members, bool(int(raw[1])))

    # -- dispatch and outcomes --------------------------------------------------------
    async def dispatch(
        self, worker_id: str, session_id: str, capacity: int, job_types: Sequence[str]
    ) -> DispatchResult:
        """Lease up to the worker's free slots of ready jobs of its types, by priority."""
        to = DispatchTarget(worker_id, session_id, capacity, tuple(job_types))
        return self._dispatch_result(await self._run("dispatch", self._dispatch_args(to)))

    def _dispatch_args(self, to: DispatchTarget) -> tuple[Any, ...]:
        """The DISPATCH tail's values, in contracts.DISPATCH_TAIL's order."""
        s = self.settings
        return (
            to.worker_id,
            to.session_id,
            to.capacity,
            s.default_lease_ms,
            s.strict_priority,
            ",".join(s.priority_pattern),
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
        if to is None:
            return self._outcomes(await self._run("ack", retention, items, None), len(items)), None
        raw = await self._run("ack", retention, items, self._dispatch_args(to))
        return self._outcomes(raw[0], len(items)), self._dispatch_result(raw[1])

    async def nack(self, items: Sequence[NackItem]) -> list[str]:
        """Record failed or handed-back deliveries; one code per item: 'enqueued',
        'retrying', 'dead', 'stale' or 'missing'."""
        return [code for code, _ in await self.nack_detailed(items)]

    async def nack_detailed(self, items: Sequence[NackItem]) -> list[tuple[str, str]]:
        """Like `nack`, with each job's type: (code, type) per item."""
        s = self.settings
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
        raw = await self._run(
            "nack", s.backoff_base_ms, s.backoff_factor, s.backoff_max_ms, s.hold_ms, records
        )
        return self._outcomes(raw, len(items))

    def _outcomes(self, raw: list[str], n: int) -> list[tuple[str, str]]:
        """The (code, type) pairs of an ack or nack reply; the worker ids after them
        go to `slots_freed`."""
        if len(raw) > 2 * n:
            self.slots_freed(raw[2 * n :])
        return _CODE_TYPE(raw[: 2 * n])

    async def extend(self, items: Sequence[tuple[str, int, int]]) -> list[tuple[str, int]]:
        """Extend (job id, token, ttl ms or 0) leases; (code, new deadline ms) each."""
        raw = await self._run("extend", self.settings.default_lease_ms, items)
        return _EXTENDED(raw)

    async def release(self, worker_id: str, session_id: str) -> list[tuple[str, str]]:
        """Recover the jobs leased through one closed stream; (job id, new state) each."""
        return _ID_STATE(await self._run("release", worker_id, session_id))

    async def expire_leases(self, limit: int = 1000) -> list[tuple[str, str]]:
        """Recover jobs whose lease deadline passed; (job id, new state) each. Their
        workers get no new jobs for `hold_ms` unless they answer meanwhile."""
        s = self.settings
        streams = self.keys.worker_streams("")
        return _ID_STATE(await self._run("expire", limit, s.hold_ms, streams, s.stream_fresh_ms))

    async def promote_due(self, limit: int = 1000) -> int:
        """Move due scheduled and retrying jobs to their ready lists; return how many."""
        return int(await self._run("promote", limit))

    async def cancel(self, job_id: str) -> tuple[str, bool]:
        """Cancel a job; return (state after the call, whether this call cancelled it).
        The state is 'missing' for an unknown job."""
        state, done = await self._run("cancel", job_id, self.settings.finished_retention_ms)
        return state, bool(int(done))

    async def run_now(self, job_id: str) -> tuple[str, bool]:
        """Make a scheduled or retrying job ready at once; return (state after the call,
        whether this call moved it). The state is 'missing' for an unknown job."""
        state, moved = await self._run("run_now", job_id)
        return text(state), bool(int(moved))

    async def requeue_dead(self, job_ids: Sequence[str]) -> int:
        """Requeue dead jobs with attempts reset; return how many moved."""
        return int(await self._run("requeue_dead", job_ids))

    async def trim_finished(self, keep: int, batch: int = 1000) -> int:
        """Delete the oldest finished jobs beyond `keep`, at most `batch` per call;
        return how many were deleted."""
        return int(await self._run("trim_finished", keep, batch))

    async def prune_holds(self) -> int:
        """Forget the holds of workers that are gone (no live stream) and holds whose
        time is over; return how many were removed."""
        streams = self.keys.worker_streams("")
        return int(await self._run("prune_holds", streams, self.settings.stream_fresh_ms))

    async def purge_dead(self, job_ids: Sequence[str]) -> int:
        """Delete dead jobs; return how many were deleted."""
        return int(await self._run("purge_dead", job_ids))

    # -- reads -------------------------------------------------------------------------
    async def get_job(self, job_id: str, with_history: bool = True) -> JobRecord | None:
        """The job's stored fields and history, or None if it does not exist."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.job(job_id))
            if with_history:
                pipe.lrange(self.keys.history(job_id), 0, -1)
            replies = await pipe.execute()
        fields = replies[0]
        if not fields:
            return None
        events = [decode_event(orjson.loads(e)) for e in replies[1]] if with_history else []
        return decode_job(job_id, fields, events, self._whole(events))

    async def get_jobs(self, job_ids: Sequence[str], with_history: bool = False) -> list[JobRecord]:
        """Records of the given jobs that still exist, in order, in one round trip."""
        if not job_ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hgetall(self.keys.job(job_id))
                if with_history:
                    pipe.lrange(self.keys.history(job_id), 0, -1)
            replies = await pipe.execute()
        step = 2 if with_history else 1
        records = []
        for job_id, i in zip(job_ids, range(0, len(replies), step), strict=True):
            if replies[i]:
                raw = replies[i + 1] if with_history else []
                events = [decode_event(orjson.loads(e)) for e in raw]
                records.append(decode_job(job_id, replies[i], events, self._whole(events)))
        return records

    def _whole(self, events: Sequence[object]) -> bool:
        # A history under its cap was never trimmed (trimming happens only past it).
        return len(events) < self.settings.history_cap
