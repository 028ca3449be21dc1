"""The chaos workload: a submitter that keeps submitting through faults (retrying each
batch with the same idempotency keys, so a retry never makes a second job), and the
checks run on what the system did with it."""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import orjson
import redis
from gopher.v1 import job_pb2
from gopher.v1 import job_service_pb2 as jobs_pb

from gopher_client import Client, GopherError, JobState
from gopher_server.store.keys import Keys
from tests.lifecycle.handlers import runs_key

# Plenty of retries: every lost lease spends an attempt, and no job may reach the DLQ.
RETRIES = 50
BATCH = 20
LEASE_LOSS = frozenset({"WorkerLost", "LeaseExpired"})


class Submitter(threading.Thread):
    """Submits `jobs` "record" jobs in batches, evenly over `duration_s`, round-robin over
    the brokers. `ids` maps each idempotency key to its job id once acknowledged."""

    def __init__(self, addresses: list[str], jobs: int, duration_s: float, seed: int) -> None:
        super().__init__(name="chaos-submitter", daemon=True)
        self.addresses = addresses
        self.jobs = jobs
        self.duration_s = duration_s
        self.rng = random.Random(seed)
        self.ids: dict[str, str] = {}
        self.conflicts: list[str] = []  # keys that named two different jobs
        self.failed_calls = 0
        self.stop = threading.Event()

    def _batch(self, start: int) -> list[jobs_pb.SubmitJobRequest]:
        return [
            jobs_pb.SubmitJobRequest(
                type="record",
                # Long enough that faults catch jobs running, short enough to finish.
                payload_json=orjson.dumps({"sleep_s": round(self.rng.uniform(0, 0.3), 3)}).decode(),
                retries=RETRIES,
                idempotency_key=f"chaos-{i}",
            )
            for i in range(start, min(start + BATCH, self.jobs))
        ]

    def run(self) -> None:
        clients = [Client(address, timeout_s=5) for address in self.addresses]
        batches = math.ceil(self.jobs / BATCH)
        began = time.monotonic()
        try:
            for b in range(batches):
                requests = self._batch(b * BATCH)
                attempt = 0
                while not self.stop.is_set():
                    try:
                        ids = clients[(b + attempt) % len(clients)].submit_jobs(requests)
                        break
                    except GopherError:  # the answer may be lost, not the submit: retry
                        self.failed_calls += 1
                        attempt += 1
                        self.stop.wait(min(0.05 * 2**attempt, 1.0))
                else:
                    return
                for request, job_id in zip(requests, ids, strict=True):
                    known = self.ids.setdefault(request.idempotency_key, job_id)
                    if known != job_id:
                        self.conflicts.append(request.idempotency_key)
                self.stop.wait(
                    max(0.0, began + (b + 1) * self.duration_s / batches - time.monotonic())
                )
        finally:
            for client in clients:
                client.close()


def settled(address: str, jobs: int) -> bool:
    """True when nothing is left to run and `jobs` jobs are finished or dead."""
    try:
        with Client(address, timeout_s=5) as client:
            s = client.queue_stats()
    except GopherError:
        return False
    waiting = sum(q.depth for q in s.queues) + s.scheduled + s.retrying + s.active
    return waiting == 0 and s.finished + s.dead >= jobs


@dataclass
class Report:
    """What happened to the workload."""

    jobs: int
    faults: Counter[str]
    submit_retries: int = 0
    states: Counter[str] = field(default_factory=Counter)
    executions: int = 0
    duplicate_executions: int = 0  # executions beyond the first, all jobs
    lease_lost_jobs: int = 0  # jobs whose history shows a lost lease
    lost: list[str] = field(default_factory=list)  # submitted, not succeeded
    double_success: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)  # reruns without a lost lease
    other_errors: Counter[str] = field(default_factory=Counter)
    phantom_jobs: int = 0  # jobs in Redis that no submit acknowledged
    stats: str = ""

    def summary(self) -> str:
        """The run's figures, one per line."""
        faults = ", ".join(f"{kind}: {n}" for kind, n in sorted(self.faults.items()))
        return "\n".join(
            [
                "chaos summary",
                f"  jobs submitted:            {self.jobs}",
                f"  submit calls retried:      {self.submit_retries}",
                f"  faults:                    {faults}",
                f"  final states:              {dict(self.states)}",
                f"  executions:                {self.executions}",
                f"  duplicate executions:      {self.duplicate_executions}",
                f"  jobs with a lost lease:    {self.lease_lost_jobs}",
                f"  reruns without lost lease: {len(self.unexplained)}",
                f"  succeeded twice:           {len(self.double_success)}",
                f"  other errors:              {dict(self.other_errors)}",
                f"  phantom jobs:              {self.phantom_jobs}",
                f"  lost (must be 0):          {len(self.lost)}",
                f"  queue stats:               {self.stats}",
            ]
        )


def check(
    address: str,
    redis_url: str,
    recorder_url: str,
    report: Report,
    ids: dict[str, str],
    other_jobs: int = 0,
) -> None:
    """Fill `report` from every job's record, the executions recorded, and raw Redis,
    where `other_jobs` jobs besides `ids` are expected (the groups' jobs)."""
    succeeded = JobState.SUCCEEDED
    job_ids = list(ids.values())
    with redis.Redis.from_url(recorder_url) as recorder, recorder.pipeline() as pipe:
        for job_id in job_ids:
            pipe.llen(runs_key(job_id))
        runs = dict(zip(job_ids, pipe.execute(), strict=True))
    with Client(address, timeout_s=10) as client:
        for job_id in job_ids:
            job = client.get_job(job_id)
            report.states[job_pb2.JobState.Name(job.state)] += 1
            if job.state != succeeded:
                report.lost.append(job_id)
            if sum(1 for e in job.history if e.to_state == succeeded) > 1:
                report.double_success.append(job_id)
            lease_losses = sum(1 for e in job.errors if e.error_type in LEASE_LOSS)
            report.other_errors.update(
                e.error_type for e in job.errors if e.error_type not in LEASE_LOSS
            )
            report.lease_lost_jobs += lease_losses > 0
            report.executions += runs[job_id]
            report.duplicate_executions += max(0, runs[job_id] - 1)
            if runs[job_id] - 1 > lease_losses:
                report.unexplained.append(job_id)
        stats = client.queue_stats()
    report.stats = (
        f"ready {sum(q.depth for q in stats.queues)}, scheduled {stats.scheduled}, "
        f"retrying {stats.retrying}, active {stats.active}, dead {stats.dead}, "
        f"finished {stats.finished}"
    )
    with redis.Redis.from_url(redis_url) as r:
        stored = sum(1 for _ in r.scan_iter(Keys().job("*"), count=1000))
    report.phantom_jobs = stored - len(job_ids) - other_jobs
