"""Drives the store for the lifecycle state machine: each operation predicts its
outcome with the model (lifecycle_model) and asserts that the store agreed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from gopher_server.store import admin
from gopher_server.store import workers as registry
from gopher_server.store.connection import RedisTls, redis_client
from gopher_server.store.keys import Keys
from gopher_server.store.records import NackItem
from gopher_server.store.store import Store
from tests.conftest import FakeClock
from tests.store.helpers import new_job
from tests.store.lifecycle_model import SETTINGS, WORKERS, Model, ModelJob, check_store

T = TypeVar("T")
# (type, priority, retries, delay ms, lease ms, idempotency key)
JobSpec = tuple[str, str, int, int, int, str]


class LifecycleDriver:
    """Runs one store operation at a time on a flushed database, with its own event
    loop, predicts its outcome with the model, and asserts the store agreed."""

    def __init__(self, redis_url: str, tls: RedisTls | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.redis = redis_client(redis_url, tls, decode_responses=True)
        self.run(self.redis.flushdb())
        self.clock = FakeClock()
        self.store = Store(self.redis, self.clock, Keys(), SETTINGS)
        self.model = Model()
        self.issued: list[tuple[str, int]] = []  # every lease ever handed out
        self.next_id = 0

    def run(self, coro: Awaitable[T]) -> T:
        """Run a coroutine on the driver's loop."""
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        """Close the store, the client and the loop."""
        self.run(self.store.close())
        self.run(self.redis.aclose())
        self.loop.close()

    def pick_lease(self, pick: int, live: bool) -> tuple[str, int]:
        """A live lease when asked and one exists, else any lease ever issued."""
        active = self.model.in_state("active")
        if live and active:
            job = active[pick % len(active)]
            return job.id, job.token
        return self.issued[pick % len(self.issued)]

    def expected_outcome(self, job_id: str, token: int) -> tuple[str, ModelJob | None]:
        """The code an ack/extend with this token must get, and the job if 'ok'."""
        job = self.model.jobs.get(job_id)
        if job is None:
            return "missing", None
        if job.state != "active" or job.token != token:
            return "stale", None
        return "ok", job

    def submit_batch(self, specs: list[JobSpec]) -> None:
        """Submit one batch and check each result against the model, in order."""
        now = self.clock.now_ms()
        ids = [f"j{self.next_id + n}" for n in range(len(specs))]
        self.next_id += len(specs)
        jobs = [
            new_job(
                job_id,
                t,
                prio,
                retries,
                run_at_ms=now + delay if delay else 0,
                idempotency_key=key,
                lease_ms=lease_ms,
            )
            for job_id, (t, prio, retries, delay, lease_ms, key) in zip(ids, specs, strict=True)
        ]
        results = self.run(self.store.submit(jobs))
        for sent, result in zip(jobs, results, strict=True):
            if sent.idempotency_key in self.model.idem:
                first_id = self.model.idem[sent.idempotency_key]
                state = self.model.jobs[first_id].state
                assert (result.job_id, result.state, result.duplicate) == (first_id, state, True)
                continue
            assert (result.job_id, result.duplicate) == (sent.id, False)
            job = ModelJob(
                sent.id,
                sent.type,
                sent.priority,
                sent.retries,
                sent.lease_ms,
                "scheduled",
                due_ms=sent.run_at_ms,
            )
            self.model.jobs[job.id] = job
            self.model.created += 1
            if sent.idempotency_key:
                self.model.idem[sent.idempotency_key] = job.id
            if sent.run_at_ms == 0:
                self.model.make_ready(job, front=False)
            assert result.state == job.state

    def dispatch(self, worker: str, session: str) -> None:
        """Lease to `worker` up to its capacity; each job must head its ready list."""
        types, capacity = WORKERS[worker]
        free = capacity - self.model.in_flight(worker)
        result = self.run(self.store.dispatch(worker, session, capacity, list(types)))
        assert len(result.leases) <= max(0, free)
        now = self.clock.now_ms()
        held_until = self.model.holds.get(worker, 0)
        if free > 0 and held_until > now:  # hung or draining: nothing until the hold ends
            assert (result.leases, result.wait_ms) == ([], held_until - now)
            return
        for lease in result.leases:
            job = self.model.jobs[lease.job_id]
            assert job.state == "enqueued" and job.type in types
            assert job.prio not in self.model.paused
            self.model.lease(job, worker, session, now)
            assert (lease.attempt, lease.token, lease.deadline_ms) == (
                job.attempt,
                job.token,
                job.deadline_ms,
            )
            self.issued.append((job.id, job.token))
        if len(result.leases) < free:  # work-conserving: only stops when nothing fits
            assert self.model.eligible(worker) == 0

    def ack(self, pick: int, live: bool) -> None:
        """Ack a live or stale lease."""
        job_id, token = self.pick_lease(pick, live)
        expected, job = self.expected_outcome(job_id, token)
        assert self.run(self.store.ack([(job_id, token, '{"r": 1}')])) == [expected]
        if job is not None:
            job.state = "succeeded"
            self.model.holds.pop(self.model.finish_lease(job), None)

    def nack(self, pick: int, live: bool, kind: str) -> None:
        """Fail a lease: "backoff", "after" (retry-after), "fatal" or "handback"."""
        job_id, token = self.pick_lease(pick, live)
        expected, job = self.expected_outcome(job_id, token)
        item = NackItem(
            job_id,
            token,
            "E",
            "failed",
            "tb",
            non_retryable=kind == "fatal",
            retry_after_ms=700 if kind == "after" else None,
            handback=kind == "handback",
        )
        (code,) = self.run(self.store.nack([item]))
        if job is None:
            assert code == expected
            return
        worker = self.model.finish_lease(job)
        now = self.clock.now_ms()
        if kind == "handback":
            # A handback may hold the worker back (it is draining) or leave its hold be;
            # which one is the worker's to say, so accept either and follow Redis.
            stored = self.run(self.redis.hget(self.store.keys.worker_holds(), worker))
            hold = None if stored is None else int(stored)
            assert hold in (self.model.holds.get(worker), now + SETTINGS.hold_ms)
            self.model.holds.pop(worker, None)
            if hold is not None:
                self.model.holds[worker] = hold
            job.attempt -= 1
            self.model.make_ready(job, front=True)
            assert code == "enqueued"
            return
        self.model.holds.pop(worker, None)  # an answer is a sign of life
        if kind == "fatal" or job.attempt > job.retries:
            job.state = "dead"
        else:
            job.state = "retrying"
            if kind == "after":
                job.due_ms = now + 700
            else:
                full = min(
                    SETTINGS.backoff_max_ms, SETTINGS.backoff_base_ms * 2 ** (job.attempt - 1)
                )
                score = self.run(self.redis.zscore(self.store.keys.retrying(), job_id))
                assert score is not None and full // 2 <= score - now <= full
                job.due_ms = int(score)
        assert code == job.state

    def extend(self, pick: int, live: bool, ttl_ms: int) -> None:
        """Extend a lease by `ttl_ms` (0: the job's or the default lease)."""
        job_id, token = self.pick_lease(pick, live)
        expected, job = self.expected_outcome(job_id, token)
        ((code, deadline),) = self.run(self.store.extend([(job_id, token, ttl_ms)]))
        assert code == expected
        if job is not None:
            self.model.holds.pop(job.worker, None)  # a sign of life
            ttl = ttl_ms or job.lease_ms or SETTINGS.default_lease_ms
            job.deadline_ms = self.clock.now_ms() + ttl
            assert deadline == job.deadline_ms

    def expire(self, advance_ms: int) -> None:
        """Move the clock, then recover every lease past its deadline."""
        self.clock.advance(advance_ms)
        now = self.clock.now_ms()
        due = sorted(
            (j for j in self.model.in_state("active") if j.deadline_ms <= now),
            key=lambda j: (j.deadline_ms, j.id),
        )
        expected = []
        for job in due:
            # Its worker is presumed hung, and held back, only while the lease's own
            # stream is alive and no other stream of the worker is; a lease whose
            # stream is gone, or whose worker opened another one, says nothing of it.
            alive = {
                session
                for (worker, session), beat in self.model.beats.items()
                if worker == job.worker and now - beat <= SETTINGS.stream_fresh_ms
            }
            if alive == {job.session}:
                self.model.holds[job.worker] = now + SETTINGS.hold_ms
            expected.append((job.id, self.model.lose(job)))
        assert self.run(self.store.expire_leases()) == expected

    def release(self, worker: str, session: str) -> None:
        """Close one stream: its leases are recovered, other streams' are kept."""
        mine = {
            j.id: j
            for j in self.model.in_state("active")
            if j.worker == worker and j.session == session
        }
        released = self.run(self.store.release(worker, session))
        assert sorted(i for i, _ in released) == sorted(mine)
        for job_id, state in released:  # in the order the script requeued them
            assert self.model.lose(mine[job_id]) == state

    def reconnect(self, worker: str, session: str) -> None:
        """Register a stream, which lifts any hold on the worker."""
        types, capacity = WORKERS[worker]
        self.run(
            registry.register_stream(
                self.store,
                worker,
                session,
                hostname="h",
                pid=1,
                job_types=list(types),
                capacity=capacity,
            )
        )
        self.model.holds.pop(worker, None)
        self.model.beats[(worker, session)] = self.clock.now_ms()

    def promote(self, advance_ms: int) -> None:
        """Move the clock, then promote due scheduled and retrying jobs."""
        self.clock.advance(advance_ms)
        now = self.clock.now_ms()
        moved = 0
        for state in ("scheduled", "retrying"):
            due = [j for j in self.model.in_state(state) if j.due_ms <= now]
            for job in sorted(due, key=lambda j: (j.due_ms, j.id)):
                self.model.make_ready(job, front=False)
                moved += 1
        assert self.run(self.store.promote_due()) == moved

    def cancel(self, pick: int) -> None:
        """Cancel any job ever submitted (live, final, purged or never created)."""
        job_id = f"j{pick % self.next_id}"
        job = self.model.jobs.get(job_id)
        result = self.run(self.store.cancel(job_id))
        if job is None:
            assert result == ("missing", False)
        elif job.state not in ("scheduled", "enqueued", "active", "retrying"):
            assert result == (job.state, False)
        else:
            assert result == ("cancelled", True)
            if job.state == "enqueued":
                self.model.unready(job)
            job.state = "cancelled"
            self.model.finish_lease(job)

    def requeue_dead(self, one: bool, pick: int) -> None:
        """Requeue one dead job, or the whole DLQ."""
        dead = sorted(self.run(admin.dead_ids(self.store)))
        assert dead == sorted(j.id for j in self.model.in_state("dead"))
        chosen = [dead[pick % len(dead)]] if one and dead else dead
        assert self.run(admin.requeue_dead(self.store, chosen)) == len(chosen)
        for job_id in chosen:
            job = self.model.jobs[job_id]
            job.attempt = 0
            self.model.make_ready(job, front=False)

    def purge_one_dead(self, pick: int) -> None:
        """Delete one dead job for good (nothing when the DLQ is empty)."""
        dead = sorted(j.id for j in self.model.in_state("dead"))
        if not dead:
            return
        job_id = dead[pick % len(dead)]
        assert self.run(self.store.purge_dead([job_id])) == 1
        del self.model.jobs[job_id]
        self.model.purged += 1
        # Its idempotency key goes with it: a repeat creates a new job.
        self.model.idem = {k: v for k, v in self.model.idem.items() if v != job_id}

    def pause(self, prio: str, paused: bool) -> None:
        """Pause or resume one priority."""
        self.run(admin.set_paused(self.store, prio, paused))
        (self.model.paused.add if paused else self.model.paused.discard)(prio)

    def check(self) -> None:
        """Assert raw Redis matches the model."""
        self.run(check_store(self.store, self.model))
