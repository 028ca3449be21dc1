"""A plain-Python model of the job lifecycle, and a check of raw Redis against it.

The model mirrors what the Lua scripts promise: which structure holds each job, in
what order the ready lists are, attempts and lease tokens. `check_store` reads every
structure back from Redis and compares, so any drift shows up at the step that caused it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from gopher_server.store.keys import PRIORITIES
from gopher_server.store.store import Store, StoreSettings

TYPES = ("a", "b")
# worker id -> (job types it handles, capacity)
WORKERS: dict[str, tuple[tuple[str, ...], int]] = {
    "w1": (("a", "b"), 2),
    "w2": (("b",), 3),
    "w3": (("a",), 1),
}
SESSIONS = ("s1", "s2")
SETTINGS = StoreSettings(
    default_lease_ms=1000,
    backoff_base_ms=100,
    backoff_factor=2.0,
    backoff_max_ms=1000,
    hold_ms=300,
    stream_fresh_ms=2000,
)
LIVE = ("scheduled", "enqueued", "active", "retrying")
FINISHED = ("succeeded", "cancelled")


@dataclass
class ModelJob:
    """What the model knows of one job."""

    id: str
    type: str
    prio: str
    retries: int
    lease_ms: int
    state: str
    attempt: int = 0
    token: int = 0  # last lease token issued (the hash's counter)
    worker: str = ""
    session: str = ""
    due_ms: int = 0  # scheduled / retrying: when promote may move it
    deadline_ms: int = 0  # active: lease deadline


class Model:
    """Jobs by id, ready lists in order, idempotency keys, paused priorities, and the
    hold on each worker (Unix ms before which it gets no new jobs)."""

    def __init__(self) -> None:
        self.jobs: dict[str, ModelJob] = {}
        self.ready: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
        self.idem: dict[str, str] = {}
        self.paused: set[str] = set()
        self.holds: dict[str, int] = {}
        # (worker, session) -> when the stream last registered (its heartbeat)
        self.beats: dict[tuple[str, str], int] = {}
        self.created = 0
        self.purged = 0

    def in_state(self, *states: str) -> list[ModelJob]:
        return [j for j in self.jobs.values() if j.state in states]

    def make_ready(self, job: ModelJob, front: bool) -> None:
        job.state = "enqueued"
        queue = self.ready[(job.prio, job.type)]
        queue.insert(0, job.id) if front else queue.append(job.id)

    def unready(self, job: ModelJob) -> None:
        self.ready[(job.prio, job.type)].remove(job.id)

    def lease(self, job: ModelJob, worker: str, session: str, now_ms: int) -> None:
        queue = self.ready[(job.prio, job.type)]
        assert queue and queue[0] == job.id, f"{job.id} leased but the head was {queue[:1]}"
        queue.pop(0)
        job.state, job.worker, job.session = "active", worker, session
        job.attempt += 1
        job.token += 1
        job.deadline_ms = now_ms + (job.lease_ms or SETTINGS.default_lease_ms)

    def finish_lease(self, job: ModelJob) -> str:
        """Forget the job's lease; return the worker that held it."""
        worker = job.worker
        job.worker = job.session = ""
        return worker

    def lose(self, job: ModelJob) -> str:
        """A lease ended with no outcome: the attempt stays counted."""
        self.finish_lease(job)
        if job.attempt > job.retries:
            job.state = "dead"
            return "dead"
        self.make_ready(job, front=True)
        return "enqueued"

    def in_flight(self, worker: str) -> int:
        return sum(1 for j in self.in_state("active") if j.worker == worker)

    def eligible(self, worker: str) -> int:
        """Ready jobs `worker` could take now (its types, unpaused priorities)."""
        types, _ = WORKERS[worker]
        return sum(
            len(self.ready[(p, t)]) for p in PRIORITIES if p not in self.paused for t in types
        )


def _zset(raw: list[tuple[str, float]]) -> dict[str, int]:
    return {str(member): int(score) for member, score in raw}


async def check_store(store: Store, model: Model) -> None:
    """Assert that raw Redis holds exactly what the model says (read in one round trip)."""
    keys, jobs = store.keys, model.jobs
    active = model.in_state("active")
    ready_keys = sorted(model.ready)
    async with store.redis.pipeline(transaction=True) as pipe:
        pipe.keys(keys.job("*"))
        pipe.keys(keys.ready("*", "*"))
        for job_id in jobs:
            pipe.hmget(keys.job(job_id), ["state", "attempt", "token", "deadline"])
        for zset in (
            keys.leases(),
            keys.scheduled(),
            keys.retrying(),
            keys.dead(),
            keys.finished(),
        ):
            pipe.zrange(zset, 0, -1, withscores=True)
        for prio, job_type in ready_keys:
            pipe.lrange(keys.ready(prio, job_type), 0, -1)
        for worker in WORKERS:
            pipe.smembers(keys.inflight(worker))
        pipe.hgetall(keys.worker_holds())
        pipe.hgetall(keys.type_active())
        replies = iter(await pipe.execute())
    # Conservation: every job created and not purged is in Redis, and nothing else is.
    assert len(jobs) == model.created - model.purged
    assert {str(k)[len(keys.job("")) :] for k in next(replies)} == set(jobs)
    stored_ready = {str(k) for k in next(replies)}
    for job in jobs.values():
        state, attempt, token, deadline = next(replies)
        assert (state, int(attempt or 0), int(token or 0)) == (job.state, job.attempt, job.token), (
            job
        )
        assert (deadline is not None) == (job.state == "active"), job
        # Attempts are counted at delivery: a live lease is at most retries + 1, and a
        # job waiting for another delivery still has one left.
        waiting = job.state in ("scheduled", "enqueued", "retrying")
        assert job.attempt <= (job.retries if waiting else job.retries + 1), job
    # One structure per state, with the model's scores and order.
    assert _zset(next(replies)) == {j.id: j.deadline_ms for j in active}
    assert _zset(next(replies)) == {j.id: j.due_ms for j in model.in_state("scheduled")}
    assert _zset(next(replies)) == {j.id: j.due_ms for j in model.in_state("retrying")}
    assert set(_zset(next(replies))) == {j.id for j in model.in_state("dead")}
    assert set(_zset(next(replies))) == {j.id for j in model.in_state(*FINISHED)}
    for prio, job_type in ready_keys:
        assert [str(i) for i in next(replies)] == model.ready[(prio, job_type)], (prio, job_type)
    assert stored_ready == {keys.ready(p, t) for (p, t), queue in model.ready.items() if queue}
    # At most one live lease per job: each active job sits in exactly its worker's slots.
    for worker, (_, capacity) in WORKERS.items():
        slots = {str(i) for i in next(replies)}
        assert slots == {j.id for j in active if j.worker == worker}
        assert len(slots) <= capacity
    assert {str(w): int(u) for w, u in next(replies).items()} == model.holds
    by_type = Counter(j.type for j in active)
    assert next(replies) == {t: str(n) for t, n in by_type.items()}
    # Every job is in exactly one state structure (sizes add up, sets are disjoint).
    by_state = Counter(j.state for j in jobs.values())
    assert sum(by_state.values()) == len(jobs)
    assert sum(len(q) for q in model.ready.values()) == by_state["enqueued"]
