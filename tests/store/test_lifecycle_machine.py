"""Property-based test of the job lifecycle: random sequences of every store operation
(submit, dispatch, ack, nack, extend, expiry, release, promotion, cancel, DLQ requeue
and purge, pausing) against a Python model, with raw Redis checked after every step."""

from __future__ import annotations

import os
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from gopher_server.store.connection import RedisTls
from gopher_server.store.keys import PRIORITIES
from tests.store.lifecycle_driver import JobSpec, LifecycleDriver
from tests.store.lifecycle_model import SESSIONS, TYPES, WORKERS

picks = st.integers(min_value=0, max_value=1_000_000)
# Outcomes name a live lease three times in four, else any lease ever issued (stale).
lives = st.sampled_from([True, True, True, False])
# Skewed to one priority, so that jobs often meet in the same ready list.
job_specs = st.tuples(
    st.sampled_from(TYPES),
    st.sampled_from(["normal", *PRIORITIES]),
    st.integers(0, 2),
    st.sampled_from([0, 0, 0, 0, 500, 3000]),
    st.sampled_from([0, 0, 2500]),
    st.sampled_from(["", "", "", "", "", "", "k1", "k2"]),
)


class LifecycleMachine(RuleBasedStateMachine):
    """Rules pick an operation and its arguments; the driver runs and checks it. Rules
    are grouped so that dispatch comes up as often as any kind of answer."""

    redis_url: ClassVar[str] = ""
    redis_tls: ClassVar[RedisTls | None] = None

    def __init__(self) -> None:
        super().__init__()
        self.driver = LifecycleDriver(self.redis_url, self.redis_tls)

    def teardown(self) -> None:
        self.driver.close()

    @initialize(specs=st.lists(job_specs, min_size=2, max_size=6))
    def seed(self, specs: list[JobSpec]) -> None:
        self.driver.submit_batch(specs)

    @rule(specs=st.lists(job_specs, min_size=1, max_size=3))
    def submit(self, specs: list[JobSpec]) -> None:
        self.driver.submit_batch(specs)

    @rule(worker=st.sampled_from(sorted(WORKERS)), session=st.sampled_from(SESSIONS))
    def dispatch(self, worker: str, session: str) -> None:
        self.driver.dispatch(worker, session)

    @rule(advance_ms=st.sampled_from([0, 100, 500, 1000, 3000]))
    def promote(self, advance_ms: int) -> None:
        self.driver.promote(advance_ms)

    @precondition(lambda self: self.driver.issued)
    @rule(
        kind=st.sampled_from(["ack", "ack", "backoff", "after", "fatal", "handback", "extend"]),
        pick=picks,
        live=lives,
        ttl_ms=st.sampled_from([0, 1500]),
    )
    def answer(self, kind: str, pick: int, live: bool, ttl_ms: int) -> None:
        if kind == "ack":
            self.driver.ack(pick, live)
        elif kind == "extend":
            self.driver.extend(pick, live, ttl_ms)
        else:
            self.driver.nack(pick, live, kind)

    @rule(
        kind=st.sampled_from(["expire", "expire", "release", "reconnect"]),
        advance_ms=st.sampled_from([0, 100, 500, 1000, 2500]),
        worker=st.sampled_from(sorted(WORKERS)),
        session=st.sampled_from(SESSIONS),
    )
    def recover(self, kind: str, advance_ms: int, worker: str, session: str) -> None:
        if kind == "expire":
            self.driver.expire(advance_ms)
        elif kind == "release":
            self.driver.release(worker, session)
        else:
            self.driver.reconnect(worker, session)

    @rule(
        kind=st.sampled_from(["cancel", "requeue", "requeue_one", "purge", "pause", "resume"]),
        pick=picks,
        prio=st.sampled_from(PRIORITIES),
    )
    def operate(self, kind: str, pick: int, prio: str) -> None:
        if kind == "cancel":
            self.driver.cancel(pick)
        elif kind.startswith("requeue"):
            self.driver.requeue_dead(kind == "requeue_one", pick)
        elif kind == "purge":
            self.driver.purge_one_dead(pick)
        else:
            self.driver.pause(prio, kind == "pause")

    @invariant()
    def redis_matches_the_model(self) -> None:
        self.driver.check()


# Shrinking replays hundreds of Redis-backed sequences and would outlast the per-test
# timeout (which hypothesis would then report as a flaky failure), so a failure shows its
# full step list instead; set GOPHER_TEST_SHRINK=1 to shrink it when debugging locally.
PHASES = list(Phase)
if os.environ.get("GOPHER_TEST_SHRINK") != "1":
    PHASES = [Phase.explicit, Phase.reuse, Phase.generate]


@pytest.mark.one_partition
def test_lifecycle_state_machine(redis_url: str, redis_tls: RedisTls | None) -> None:
    machine = type("Machine", (LifecycleMachine,), {"redis_url": redis_url, "redis_tls": redis_tls})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=50,
            stateful_step_count=40,
            deadline=None,
            phases=PHASES,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
