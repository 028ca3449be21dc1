"""Every Redis key and channel name Gopher uses, one function each.

All names of one `Keys` share one hash tag, so every script touches keys of a single
cluster slot. The namespace's own tag, `{<prefix>}`, is its control slot (and, with one
partition, its only slot); a namespace split into partitions (store/partitions.py) gives
each partition a `Keys` with its own tag (`tag_name`). Scripts that reach keys named by
data (a job id popped from a list) get the prefix strings from `Keys.script_prefixes` and
append the id themselves; that is the only other place names are built.
"""

from __future__ import annotations

from dataclasses import dataclass

from gopher_server.store.schema import PRIORITY_WORDS as PRIORITIES

__all__ = ["PRIORITIES", "Keys"]


@dataclass(frozen=True)
class Keys:
    """Key builder for one Gopher namespace (`prefix`, default "gopher")."""

    prefix: str = "gopher"
    # The hash tag's text when it is not the prefix itself: a partition's tag.
    tag_name: str = ""

    @property
    def tag(self) -> str:
        """The hash tag shared by every key of this builder."""
        return "{" + (self.tag_name or self.prefix) + "}"

    # -- jobs --------------------------------------------------------------------
    def job(self, job_id: str) -> str:
        """Hash with one job's fields."""
        return f"{self.tag}:job:{job_id}"

    def history(self, job_id: str) -> str:
        """List of the job's transition events, capped: only jobs created before the
        history moved into the job hash (store/schema.py HISTORY_COUNT_FIELD) have one."""
        return f"{self.tag}:hist:{job_id}"

    def idempotency(self, key: str) -> str:
        """String mapping a client idempotency key to the first job's id, with a TTL."""
        return f"{self.tag}:idem:{key}"

    # -- groups --------------------------------------------------------------------
    # A group's keys carry the namespace tag like its members' keys, so the member's
    # final transition can count it down and submit its follow-ups in one script. On
    # Redis Cluster partitions (design/scale-out.md) a group and all its members will
    # be created in one partition, chosen for the group, as follow-ups live in their
    # parent's partition (section 7.8): the fan-in stays one single-slot script.
    def group(self, group_id: str) -> str:
        """Hash with one group's fields: size, members, countdown, outcomes, follow-ups."""
        return f"{self.tag}:group:{group_id}"

    def group_idempotency(self, key: str) -> str:
        """String mapping a client idempotency key to the first group's id, with a TTL."""
        return f"{self.tag}:gidem:{key}"

    # -- queues and time-ordered sets --------------------------------------------
    def ready(self, priority: str, job_type: str) -> str:
        """List of ready job ids of one priority and type, oldest at the head."""
        return f"{self.tag}:ready:{priority}:{job_type}"

    def ready_types(self, priority: str) -> str:
        """Set of job types that may have ready jobs in `priority` (pruned lazily)."""
        return f"{self.tag}:types:{priority}"

    def known_types(self) -> str:
        """Set of every job type ever submitted (bounded by the type-cardinality limit)."""
        return f"{self.tag}:types"

    def scheduled(self) -> str:
        """Sorted set of SCHEDULED job ids by run_at (ms)."""
        return f"{self.tag}:scheduled"

    def retrying(self) -> str:
        """Sorted set of RETRYING job ids by next attempt time (ms)."""
        return f"{self.tag}:retry"

    def leases(self) -> str:
        """Sorted set of ACTIVE job ids by lease deadline (ms)."""
        return f"{self.tag}:leases"

    def dead(self) -> str:
        """Sorted set of DEAD job ids (the DLQ) by time of death (ms)."""
        return f"{self.tag}:dead"

    def finished(self) -> str:
        """Sorted set of SUCCEEDED and CANCELLED job ids by finish time (ms)."""
        return f"{self.tag}:finished"

    def paused(self) -> str:
        """Set of paused priorities."""
        return f"{self.tag}:paused"

    def dispatch_seq(self) -> str:
        """Counter of dispatches, indexing the weighted priority pattern."""
        return f"{self.tag}:seq"

    def type_cursor(self) -> str:
        """Hash priority -> counter rotating the first job type tried (fairness)."""
        return f"{self.tag}:cursor"

    # -- workers -----------------------------------------------------------------
    def workers(self) -> str:
        """Sorted set of worker ids by last heartbeat (ms)."""
        return f"{self.tag}:workers"

    def worker(self, worker_id: str) -> str:
        """Hash describing one worker (host, pid, types, capacity, connected time)."""
        return f"{self.tag}:worker:{worker_id}"

    def inflight(self, worker_id: str) -> str:
        """Set of job ids leased to a worker: its busy slots, across all brokers."""
        return f"{self.tag}:inflight:{worker_id}"

    def worker_streams(self, worker_id: str) -> str:
        """Hash session id -> heartbeat (ms) of a worker's open streams."""
        return f"{self.tag}:streams:{worker_id}"

    def registered_types(self) -> str:
        """Set of every job type a worker ever registered on a stream (see job_types.py)."""
        return f"{self.tag}:registered-types"

    # -- limits and schedules ----------------------------------------------------
    def rate_limits(self) -> str:
        """Hash job type -> JSON limits (rate, burst, concurrency)."""
        return f"{self.tag}:limits"

    def bucket(self, job_type: str) -> str:
        """Hash with a type's token bucket state (tokens, last refill ms)."""
        return f"{self.tag}:bucket:{job_type}"

    def type_active(self) -> str:
        """Hash job type -> number of active jobs (for concurrency limits)."""
        return f"{self.tag}:active"

    def schedules(self) -> str:
        """Hash schedule name -> JSON schedule."""
        return f"{self.tag}:schedules"

    def schedule_ticks(self) -> str:
        """Hash schedule name -> last fired tick (ms): the cron dedup record."""
        return f"{self.tag}:ticks"

    def schedule_runs(self) -> str:
        """Hash schedule name -> last tick (ms) that submitted a job (for operators)."""
        return f"{self.tag}:runs"

    def worker_holds(self) -> str:
        """Hash worker id -> Unix ms until which it gets no new jobs: it let a lease
        expire (presumed hung), or it is draining (it handed a job back). Cleared when
        the worker answers or opens a new stream; the janitor prunes the holds of
        workers that are gone."""
        return f"{self.tag}:holds"

    def worker_control(self) -> str:
        """Hash worker id -> "quiet" or "stopping": what an operator asked of the worker
        (ControlWorker). Absent means running. Read by each broker when one of the
        worker's streams opens; the janitor drops it with the worker's record."""
        return f"{self.tag}:wctl"

    def circuits(self) -> str:
        """Hash "<worker id>\t<job type>" -> "<state>:<hold until ms>": circuit
        breakers that hold a type back from a worker."""
        return f"{self.tag}:circuits"

    def events(self) -> str:
        """Stream of recent transitions (capped) for dashboards."""
        return f"{self.tag}:events"

    def throughput(self, minute: int) -> str:
        """Hash "<state>\t<type>" -> transitions into that state during one minute
        (`minute` = Unix ms // 60000), expiring after THROUGHPUT_TTL_S. Scripts name it
        as KEYS[12] (events) .. ":m:" .. minute."""
        return f"{self.events()}:m:{minute}"

    def job_ids(self) -> str:
        """Sorted set of every stored job's id, all scored 0: the id index that finds a
        job by an id prefix (ZRANGEBYLEX), about 150 bytes per job (a skiplist member)."""
        return f"{self.tag}:ids"

    def layout(self) -> str:
        """Hash describing how the namespace is partitioned (`partitions`), written
        by the first broker and read by every later one (store/partitions.py)."""
        return f"{self.tag}:layout"

    # -- pub/sub channels --------------------------------------------------------
    def control_channel(self) -> str:
        """Channel carrying control messages to every broker: wake-ups, freed slots,
        cancellations, worker control (grammar and kinds: store/schema.py CONTROL_KINDS)."""
        return f"{self.tag}:ctl"

    def job_channel(self, job_id: str) -> str:
        """Channel announcing each state change of one job (for WatchJob)."""
        return f"{self.tag}:ev:{job_id}"

    def script_prefixes(self) -> list[str]:
        """Prefixes that scripts complete with ids, in the order `_prelude.lua` reads
        them: job, history, ready list, inflight, job channel, ready types, bucket,
        idempotency. Each equals the matching method above called with ""."""
        return [
            self.job(""),
            self.history(""),
            f"{self.tag}:ready:",
            self.inflight(""),
            self.job_channel(""),
            self.ready_types(""),
            self.bucket(""),
            self.idempotency(""),
        ]

    def script_keys(self) -> list[str]:
        """The fixed KEYS every script receives (store/contracts.py COMMON_KEYS)."""
        from gopher_server.store.contracts import common_keys  # it imports this module

        return common_keys(self)
