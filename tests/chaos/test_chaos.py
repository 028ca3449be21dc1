"""Chaos: real brokers, workers and Redis (AOF on) under a workload while a controller
SIGKILLs and restarts workers and brokers, restarts Redis and drops connections at
random moments. At the end no job may be lost, none may succeed twice, and every
re-execution must be explained by a lost lease.

Bounded for CI (2000 jobs over about 40 s of faults). Longer runs:
GOPHER_CHAOS_JOBS=20000 GOPHER_CHAOS_SECONDS=600 pytest tests/chaos -s
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
from tests.chaos.workload import Report, Submitter, check, settled
from tests.support import wait_until

JOBS = int(os.environ.get("GOPHER_CHAOS_JOBS", "2000"))
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
@pytest.mark.timeout(300 + 4 * FAULT_SECONDS + JOBS / 20)
def test_no_job_lost_under_chaos(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(SEED)
    submitter = Submitter(cluster.broker_addresses, JOBS, FAULT_SECONDS * 0.9, SEED)
    submitter.start()
    began = time.monotonic()
    plan = _fault_plan(rng)
    for i, kind in enumerate(plan):
        # Faults at random moments, spread over the run: sleeping is the schedule here.
        due = began + FAULT_SECONDS * (i + rng.random()) / len(plan)
        time.sleep(max(0.0, due - time.monotonic()))
        _inject(cluster, kind, rng)
    submitter.join(FAULT_SECONDS + 120)
    assert not submitter.is_alive(), "the submitter did not finish"
    assert not submitter.conflicts, f"idempotency keys named two jobs: {submitter.conflicts[:5]}"
    assert len(submitter.ids) == JOBS
    address = cluster.broker_addresses[0]
    try:
        wait_until(lambda: settled(address, JOBS), 120 + JOBS / 50, "every job final")
    finally:
        report = Report(JOBS, cluster.faults, submit_retries=submitter.failed_calls)
        check(address, cluster.redis_url, cluster.recorder.url, report, submitter.ids)
        with capsys.disabled():
            print(f"\n{report.summary()}\n  seed: {SEED}")
    assert not report.lost, f"jobs lost: {report.lost[:10]}\n{cluster.output()[-5000:]}"
    assert not report.double_success, f"succeeded twice: {report.double_success[:10]}"
    assert not report.unexplained, f"re-run without a lost lease: {report.unexplained[:10]}"
    assert not report.other_errors, report.other_errors
    assert report.phantom_jobs == 0
    assert report.stats.endswith(f"dead 0, finished {JOBS}"), report.stats
    assert "ready 0, scheduled 0, retrying 0, active 0" in report.stats
