"""Chaos: real brokers, workers and Redis (AOF on) under a workload while a controller
SIGKILLs and restarts workers and brokers, restarts Redis and drops connections at
random moments. At the end no job may be lost, none may succeed twice, and every
re-execution must be explained by a lost lease.

Groups run through the same faults (tests/chaos/group_plan.py): every group must
complete, its follow-ups must be created exactly once with every member's outcome in
their payload (as the handlers saw it), on_success only when all succeeded, on_failure
only when one died, and GetGroup's counts must match the members' final states.

Bounded for CI (2000 jobs and 120 groups over about 40 s of faults). Longer runs:
GOPHER_CHAOS_JOBS=20000 GOPHER_CHAOS_GROUPS=1000 GOPHER_CHAOS_SECONDS=600 pytest tests/chaos -s
GOPHER_CHAOS_SEED picks the fault schedule: a number replays a run, "random" draws a
new one; the default is a fixed schedule so the gate's run is repeatable.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Iterator

import pytest

from tests.chaos.cluster import Cluster
from tests.chaos.group_check import GroupReport, check_groups, expected_dead
from tests.chaos.group_plan import plan_groups
from tests.chaos.group_workload import GroupSubmitter
from tests.chaos.workload import Report, Submitter, check, settled
from tests.support import wait_until

JOBS = int(os.environ.get("GOPHER_CHAOS_JOBS", "2000"))
GROUPS = int(os.environ.get("GOPHER_CHAOS_GROUPS", "120"))
FAULT_SECONDS = float(os.environ.get("GOPHER_CHAOS_SECONDS", "40"))
_SEED = os.environ.get("GOPHER_CHAOS_SEED", "1")
SEED = random.randrange(1_000_000) if _SEED == "random" else int(_SEED)
FAULT_KINDS = ("worker", "broker", "redis", "drop")
MEAN_GAP_S = 2.0


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """Two brokers, three workers and Redis with AOF, all real processes."""
    running = Cluster().start()
    yield running
    running.close()


def _fault_plan(rng: random.Random) -> list[str]:
    """Fault kinds in random order, each about equally often over the run."""
    rounds = max(1, math.ceil(FAULT_SECONDS / MEAN_GAP_S / len(FAULT_KINDS)))
    plan = list(FAULT_KINDS) * rounds
    rng.shuffle(plan)
    return plan


def _inject(cluster: Cluster, kind: str, rng: random.Random) -> None:
    if kind == "worker":
        cluster.kill_worker(rng.randrange(cluster.workers_n))
    elif kind == "broker":
        cluster.kill_broker(rng.randrange(cluster.brokers_n), down_s=rng.uniform(0.2, 2.0))
    elif kind == "redis":
        cluster.restart_redis()
    else:
        cluster.drop_connections(rng.choice(["redis", *map(str, range(cluster.brokers_n))]))


@pytest.mark.chaos
@pytest.mark.timeout(300 + 4 * FAULT_SECONDS + JOBS / 20 + GROUPS / 2)
def test_no_job_lost_under_chaos(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(SEED)
    submitter = Submitter(cluster.broker_addresses, JOBS, FAULT_SECONDS * 0.9, SEED)
    submitter.start()
    plans = plan_groups(GROUPS, random.Random(SEED + 1))
    group_jobs = sum(plan.jobs for plan in plans)
    # Submitted a little sooner than the plain jobs, so that steering (DLQ requeues,
    # cancels) also happens while faults go on.
    grouper = GroupSubmitter(cluster.broker_addresses, plans, FAULT_SECONDS * 0.7, SEED + 2)
    grouper.start()
    began = time.monotonic()
    plan = _fault_plan(rng)
    for i, kind in enumerate(plan):
        # Faults at random moments, spread over the run: sleeping is the schedule here.
        due = began + FAULT_SECONDS * (i + rng.random()) / len(plan)
        time.sleep(max(0.0, due - time.monotonic()))
        _inject(cluster, kind, rng)
    submitter.join(FAULT_SECONDS + 120)
    grouper.join(FAULT_SECONDS + 120)  # its steering ends when the last LATE member ran
    assert not submitter.is_alive(), "the submitter did not finish"
    assert not grouper.is_alive(), f"group steering unfinished: {grouper.open_tasks} tasks"
    assert not submitter.conflicts, f"idempotency keys named two jobs: {submitter.conflicts[:5]}"
    assert not grouper.conflicts, f"group keys named one group twice: {grouper.conflicts[:5]}"
    assert len(submitter.ids) == JOBS and len(grouper.groups) == GROUPS
    address = cluster.broker_addresses[0]
    groups = GroupReport(steered=grouper.steered)
    try:
        total = JOBS + group_jobs
        wait_until(lambda: settled(address, total), 120 + total / 50, "every job final")
    finally:
        report = Report(JOBS, cluster.faults, submit_retries=submitter.failed_calls)
        made = check_groups(address, cluster.recorder.url, grouper.groups, groups)
        check(address, cluster.redis_url, cluster.recorder.url, report, submitter.ids, made)
        with capsys.disabled():
            print(f"\n{report.summary()}\n{groups.summary()}\n  seed: {SEED}")
    assert not report.lost, f"jobs lost: {report.lost[:10]}\n{cluster.output()[-5000:]}"
    assert not report.double_success, f"succeeded twice: {report.double_success[:10]}"
    assert not report.unexplained, f"re-run without a lost lease: {report.unexplained[:10]}"
    assert not report.other_errors, report.other_errors
    assert not groups.problems, groups.summary()
    assert report.phantom_jobs == 0
    assert made == group_jobs, f"the groups made {made} jobs, not {group_jobs}"
    dead = expected_dead(grouper.groups)
    assert report.stats.endswith(f"dead {dead}, finished {JOBS + made - dead}"), report.stats
    assert "ready 0, scheduled 0, retrying 0, active 0" in report.stats
