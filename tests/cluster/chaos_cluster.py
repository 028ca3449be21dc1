"""Failover chaos on a Redis Cluster, as real processes: 3 masters with a replica each
(AOF everysec), two brokers (`--redis-cluster --partitions 6`, optionally
`--durable-ack`), two workers, a recorder Redis no fault touches, and submitters that
keep submitting keyed jobs through the faults.

What the tests read afterwards:
- `Submitters.acked`: idempotency key -> (job id, when the submit was acknowledged);
- the recorder's run log (tests/lifecycle/handlers.py RUN_LOG_KEY): when each run
  started and in which worker process, to see every worker keep receiving work;
- each partition's `finished` zset (scored by finish time): when jobs completed, to
  measure how long after a fault the affected partitions complete jobs again.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import orjson
import redis
from gopher.v1 import job_service_pb2 as jobs_pb
from redis.cluster import ClusterNode as SyncClusterNode
from redis.cluster import RedisCluster

from gopher_client import Client, GopherError, JobState, NotFound
from gopher_server.embedded_cluster import ClusterNode, EmbeddedCluster
from gopher_server.embedded_redis import EmbeddedRedis, find_redis_binary, free_port
from gopher_server.store.partitions import Layout, slot_of
from tests.cluster.conftest import NODE_TIMEOUT_MS
from tests.lifecycle.handlers import RUN_LOG_KEY, runs_key
from tests.processes import Proc, start_broker, start_worker
from tests.support import wait_until

PARTITIONS = 6
LAYOUT = Layout("gopher", PARTITIONS)
# Short leases bound how long a job whose ack was lost waits before it runs again.
LEASE_TTL_S = "5"
WORKER_CONCURRENCY = 8
RETRIES = 50  # every lost lease spends an attempt; no job may reach the DLQ
LEASE_LOSS = frozenset({"WorkerLost", "LeaseExpired"})
# The budget the scale-out plan sets: work resumes within the node timeout + 5 s.
RECOVERY_BUDGET_S = NODE_TIMEOUT_MS / 1000 + 5
# Completions in the affected partitions that count as "throughput is back".
RESUMED_AFTER = 10
# How long a SIGSTOP'd master stays frozen after its replica took over: the broker's
# share of the recovery measured 1.4-2.7 s (workers retry unreported acks with a
# backoff up to 2 s), which must fit before the SIGCONT.
STOPPED_AFTER_S = 5.0


@dataclass
class Fault:
    """One injected fault and what was measured while injecting it."""

    name: str
    at: float  # wall clock (time.time(), as the brokers' finish times) when injected
    partitions: tuple[int, ...]  # partitions it interrupts
    promoted_after_s: float | None = None  # until a replica reported itself master
    until: float = 0.0  # when the fault was over (SIGCONT, node back, process restarted)
    promoted: ClusterNode | None = None
    worker_pids: tuple[int, ...] = ()  # the workers running once the fault was over
    # Filled by `Timeline.measure`:
    resumed_s: float | None = None  # fault -> RESUMED_AFTER-th completion in `partitions`
    first_s: float | None = None  # fault -> first completion in `partitions`
    first_run_s: float | None = None  # fault -> first run started of a job in `partitions`
    workers_resumed_s: dict[int, float | None] = field(default_factory=dict)  # pid -> s

    def line(self) -> str:
        promoted = f"{self.promoted_after_s:.1f}" if self.promoted_after_s is not None else "-"
        resumed = f"{self.resumed_s:.2f}" if self.resumed_s is not None else "never"
        workers = ", ".join(
            f"{pid}: {s:.2f}" if s is not None else f"{pid}: never"
            for pid, s in self.workers_resumed_s.items()
        )
        return (
            f"{self.name}: partitions {list(self.partitions)}, replica promoted after "
            f"{promoted} s, fault lasted {self.until - self.at:.1f} s, first run there "
            f"after {_s(self.first_run_s)} s, first completion {_s(self.first_s)} s, "
            f"{RESUMED_AFTER} completions {resumed} s; first run per worker after (s) {workers}"
        )


class Submitters:
    """`threads` threads submitting one keyed "record" job per call at `rate_per_s` in
    all, round-robin over the brokers, each call retried with the same key until
    acknowledged (a retry never makes a second job)."""

    def __init__(self, addresses: list[str], rate_per_s: float, threads: int = 3) -> None:
        self.addresses = addresses
        self.acked: dict[str, tuple[str, float]] = {}
        self.conflicts: list[str] = []  # keys acknowledged with two different ids
        self.failed_calls = 0
        self.stop = threading.Event()
        self._gap_s = threads / rate_per_s
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True, name=f"submit-{i}")
            for i in range(threads)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(30)
            assert not thread.is_alive(), "a submitter did not finish"

    def _run(self, index: int) -> None:
        rng = random.Random(index)
        clients = [Client(address, timeout_s=5) for address in self.addresses]
        try:
            n, next_at = 0, time.monotonic()
            while not self.stop.is_set():
                key = f"fo-{index}-{n}"
                payload = {"sleep_s": round(rng.uniform(0, 0.05), 3), "log_run": True}
                request = jobs_pb.SubmitJobRequest(
                    type="record",
                    payload_json=orjson.dumps(payload).decode(),
                    retries=RETRIES,
                    idempotency_key=key,
                )
                attempt = 0
                # The last key is finished even when told to stop: its submit may
                # have been applied, and the checks must know about it.
                while True:
                    try:
                        client = clients[(n + attempt) % len(clients)]
                        (job_id,) = client.submit_jobs([request])
                        break
                    except GopherError:  # the answer may be lost, not the submit: retry
                        with self._lock:
                            self.failed_calls += 1
                        attempt += 1
                        time.sleep(min(0.05 * 2**attempt, 0.5))
                with self._lock:
                    known = self.acked.setdefault(key, (job_id, time.time()))
                    if known[0] != job_id:
                        self.conflicts.append(key)
                n += 1
                next_at += self._gap_s
                self.stop.wait(max(0.0, next_at - time.monotonic()))
        finally:
            for client in clients:
                client.close()


class FailoverRig:
    """The cluster, the recorder, the brokers and the workers. `close()` is safe twice."""

    def __init__(self, durable: bool, brokers_n: int = 2, workers_n: int = 2) -> None:
        self.durable = durable
        self.brokers_n = brokers_n
        self.workers_n = workers_n
        self.faults: list[Fault] = []
        self.retired: list[Proc] = []
        self.brokers: list[Proc] = []
        self.workers: list[Proc] = []

    def start(self, cluster: EmbeddedCluster) -> FailoverRig:
        """Start the recorder, brokers and workers on a started `cluster`."""
        self.cluster = cluster
        self.recorder = EmbeddedRedis(binary=find_redis_binary(prefer_path=True))
        self.recorder.start()
        self.broker_ports = [free_port() for _ in range(self.brokers_n)]
        self.brokers = [self._start_broker(i) for i in range(self.brokers_n)]
        self.workers = [self._start_worker() for _ in range(self.workers_n)]
        return self

    @property
    def addresses(self) -> list[str]:
        return [f"127.0.0.1:{port}" for port in self.broker_ports]

    def _start_broker(self, i: int) -> Proc:
        args = ["--redis-cluster", "--partitions", str(PARTITIONS), "--lease-ttl", LEASE_TTL_S]
        if self.durable:
            args.append("--durable-ack")
        proc, _ = start_broker(self.cluster.seed_url, self.broker_ports[i], *args)
        return proc

    def _start_worker(self) -> Proc:
        return start_worker(
            ",".join(self.addresses), self.recorder.url, concurrency=WORKER_CONCURRENCY
        )

    def worker_pids(self) -> list[int]:
        return [w.popen.pid for w in self.workers]

    # -- where partitions live ----------------------------------------------------------
    def master_of(self, partition: int) -> ClusterNode:
        """The live master serving `partition`'s slot."""
        slot = slot_of(LAYOUT.tags[partition])
        return next(
            m
            for m in self.cluster.live_masters()
            if any(a <= slot <= b for a, b in self.cluster.slots_of(m))
        )

    def partitions_on(self, master: ClusterNode) -> tuple[int, ...]:
        ranges = self.cluster.slots_of(master)
        return tuple(
            k for k, tag in enumerate(LAYOUT.tags) if any(a <= slot_of(tag) <= b for a, b in ranges)
        )

    def replica_of(self, master: ClusterNode) -> ClusterNode:
        return next(r for r in self.cluster.live_replicas() if self.cluster.master_of(r) == master)

    def _wait_promoted(self, replica: ClusterNode, since: float) -> float:
        wait_until(lambda: self.cluster.role(replica) == "master", 20, "the replica promoted")
        return time.time() - since

    # -- faults -------------------------------------------------------------------------
    def kill_master(self, partition: int) -> Fault:
        """SIGKILL the master of `partition`; once its replica took over, start it
        again (it rejoins as a replica, so the cluster is 3 + 3 for the next fault)."""
        master = self.master_of(partition)
        replica = self.replica_of(master)
        fault = Fault("master SIGKILL", time.time(), self.partitions_on(master))
        self.cluster.kill(master, signal.SIGKILL)
        fault.promoted_after_s = self._wait_promoted(replica, fault.at)
        fault.promoted = replica
        self.cluster.restart(master)
        self.cluster.wait_stable(30)
        fault.until = time.time()
        return self._add(fault)

    def graceful_failover(self, partition: int) -> Fault:
        """CLUSTER FAILOVER on the replica of `partition`'s master."""
        master = self.master_of(partition)
        replica = self.replica_of(master)
        fault = Fault("CLUSTER FAILOVER", time.time(), self.partitions_on(master))
        self.cluster.failover(replica)
        fault.promoted_after_s = time.time() - fault.at
        fault.promoted = replica
        self.cluster.wait_stable(30)
        fault.until = time.time()
        return self._add(fault)

    def stop_master(self, partition: int) -> Fault:
        """SIGSTOP the master of `partition` for more than twice the node timeout (its
        replica takes over meanwhile), then SIGCONT: it rejoins as a replica."""
        master = self.master_of(partition)
        replica = self.replica_of(master)
        fault = Fault("master SIGSTOP", time.time(), self.partitions_on(master))
        self.cluster.kill(master, signal.SIGSTOP)
        try:
            fault.promoted_after_s = self._wait_promoted(replica, fault.at)
            fault.promoted = replica
            # The stop itself is the fault's length: past 2 x node timeout, and long
            # enough after the promotion to show whether work resumes on the new
            # master while the old one is still frozen (as behind a network partition).
            until = max(fault.at + 2 * NODE_TIMEOUT_MS / 1000 + 0.5, time.time() + STOPPED_AFTER_S)
            time.sleep(max(0.0, until - time.time()))
        finally:
            self.cluster.kill(master, signal.SIGCONT)
        fault.until = time.time()
        self.cluster.wait_stable(30)
        return self._add(fault)

    def kill_broker_and_worker(self, broker: int, worker: int) -> Fault:
        """SIGKILL a broker and a worker, then start both again (the worker anew)."""
        fault = Fault("broker + worker SIGKILL", time.time(), tuple(range(PARTITIONS)))
        for procs, i in ((self.brokers, broker), (self.workers, worker)):
            procs[i].kill()
            self.retired.append(procs[i])
        self.brokers[broker] = self._start_broker(broker)
        self.workers[worker] = self._start_worker()
        fault.until = time.time()
        return self._add(fault)

    def _add(self, fault: Fault) -> Fault:
        fault.worker_pids = tuple(self.worker_pids())
        self.faults.append(fault)
        return fault

    # -- reading what happened -----------------------------------------------------------
    def cluster_client(self) -> RedisCluster:
        nodes = [SyncClusterNode("127.0.0.1", n.port) for n in self.cluster.nodes if n.alive]
        return RedisCluster(startup_nodes=nodes, decode_responses=True)

    def timeline(self) -> Timeline:
        """Every run and every completion so far."""
        with redis.Redis.from_url(self.recorder.url, decode_responses=True) as r:
            runs = [_run_entry(line) for line in r.lrange(RUN_LOG_KEY, 0, -1)]
        finished: list[tuple[float, int]] = []
        with self.cluster_client() as c:
            for k in range(PARTITIONS):
                key = LAYOUT.keys_of(k).finished()
                finished += [(ms / 1000, k) for _, ms in c.zrange(key, 0, -1, withscores=True)]
        return Timeline(runs, sorted(finished))

    def resumed(self, fault: Fault) -> bool:
        """True once the fault's partitions completed RESUMED_AFTER jobs since it, and
        every current worker started a run since it."""
        fault = self.measure(fault)
        return fault.resumed_s is not None and all(
            s is not None for s in fault.workers_resumed_s.values()
        )

    def measure(self, fault: Fault) -> Fault:
        timeline = self.timeline()
        fault.resumed_s = timeline.completions_after(fault.at, fault.partitions)
        fault.first_s = timeline.completions_after(fault.at, fault.partitions, 1)
        fault.first_run_s = timeline.first_run_in(fault.at, fault.partitions)
        fault.workers_resumed_s = {
            pid: timeline.first_run_after(fault.at, pid) for pid in fault.worker_pids
        }
        return fault

    def output(self) -> str:
        """What the brokers and workers printed, for a failed run's report."""
        procs = [*self.retired, *self.brokers, *self.workers]
        return "\n".join(f"--- {p.name}\n{p.output()[-3000:]}" for p in procs)

    def close(self) -> None:
        for proc in [*self.workers, *self.brokers]:
            proc.kill()
        self.workers, self.brokers = [], []
        if hasattr(self, "recorder"):
            self.recorder.cleanup()
            del self.recorder


def _s(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "never"


def _run_entry(line: str) -> tuple[float, int, str]:
    at, pid, job_id = line.split()
    return float(at), int(pid), job_id


@dataclass
class Timeline:
    runs: list[tuple[float, int, str]]  # (start time, worker pid, job id)
    finished: list[tuple[float, int]]  # (finish time, partition), sorted

    def completions_after(
        self, at: float, partitions: tuple[int, ...], n: int = RESUMED_AFTER
    ) -> float | None:
        """Seconds from `at` to the n-th completion in `partitions`."""
        times = [t for t, k in self.finished if t > at and k in partitions]
        return times[n - 1] - at if len(times) >= n else None

    def first_run_in(self, at: float, partitions: tuple[int, ...]) -> float | None:
        times = [t for t, _, j in self.runs if t > at and LAYOUT.partition_of(j) in partitions]
        return min(times) - at if times else None

    def first_run_after(self, at: float, pid: int) -> float | None:
        times = [t for t, p, _ in self.runs if p == pid and t > at]
        return min(times) - at if times else None


@dataclass
class Outcome:
    """What became of every acknowledged job."""

    acked: int = 0
    states: Counter[str] = field(default_factory=Counter)
    missing: list[str] = field(default_factory=list)  # acknowledged, unknown to Gopher
    never_ran: list[str] = field(default_factory=list)  # SUCCEEDED without a recorded run
    unsettled: list[str] = field(default_factory=list)  # exists, not SUCCEEDED
    double_success: list[str] = field(default_factory=list)
    executions: int = 0
    duplicate_executions: int = 0
    reruns_with_lost_lease: int = 0
    reruns_unexplained: list[str] = field(default_factory=list)  # no lost lease on record

    def summary(self) -> str:
        return (
            f"acknowledged {self.acked}, states {dict(self.states)}, missing "
            f"{len(self.missing)}, unsettled {len(self.unsettled)}, succeeded twice "
            f"{len(self.double_success)}, executions {self.executions} (duplicates "
            f"{self.duplicate_executions}: {self.reruns_with_lost_lease} jobs after a lost "
            f"lease, {len(self.reruns_unexplained)} jobs without one), succeeded without "
            f"a recorded run {len(self.never_ran)}"
        )


def outcome(rig: FailoverRig, acked: dict[str, tuple[str, float]]) -> Outcome:
    """Every acknowledged job's record, and its runs in the recorder."""
    out = Outcome(acked=len(acked))
    ids = [job_id for job_id, _ in acked.values()]
    with redis.Redis.from_url(rig.recorder.url) as r, r.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.llen(runs_key(job_id))
        runs = dict(zip(ids, pipe.execute(), strict=True))
    with Client(rig.addresses[0], timeout_s=10) as client:
        for job_id in ids:
            try:
                job = client.get_job(job_id)
            except NotFound:
                out.missing.append(job_id)
                continue
            out.states[str(job.state)] += 1
            if job.state != JobState.SUCCEEDED:
                out.unsettled.append(job_id)
            if sum(1 for e in job.history if e.to_state == JobState.SUCCEEDED) > 1:
                out.double_success.append(job_id)
            if job.state == JobState.SUCCEEDED and runs[job_id] == 0:
                out.never_ran.append(job_id)
            out.executions += runs[job_id]
            extra = max(0, runs[job_id] - 1)
            out.duplicate_executions += extra
            if extra:
                lost_leases = sum(1 for e in job.errors if e.error_type in LEASE_LOSS)
                if extra > lost_leases:
                    out.reruns_unexplained.append(job_id)
                else:
                    out.reruns_with_lost_lease += 1
    return out


def settled(address: str) -> bool:
    """True when nothing is left to run."""
    try:
        with Client(address, timeout_s=5) as client:
            s = client.queue_stats()
    except GopherError:
        return False
    return sum(q.depth for q in s.queues) + s.scheduled + s.retrying + s.active == 0
