"""Plain records passed between the store and the services (no Redis, no gRPC)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class NewJob:
    """A validated job about to be written. Times in Unix ms; 0/None mean "default"."""

    id: str
    type: str
    priority: str
    payload: str
    retries: int
    run_at_ms: int = 0
    idempotency_key: str = ""
    timeout_ms: int = 0
    lease_ms: int = 0
    backoff_base_ms: int | None = None
    backoff_factor: float | None = None
    backoff_max_ms: int | None = None
    trace: str = ""
    # Follow-ups submitted when this job succeeds / dies (see store/chains.py), and for
    # a follow-up, its delay counted from the parent's end.
    on_success: tuple[NewJob, ...] = ()
    on_failure: tuple[NewJob, ...] = ()
    delay_ms: int = 0


@dataclass(frozen=True, slots=True)
class NewGroup:
    """A validated group about to be written: its members (no idempotency keys of their
    own) and the follow-ups of its outcome (see lua/_groups.lua)."""

    id: str
    members: tuple[NewJob, ...]
    idempotency_key: str = ""
    on_complete: tuple[NewJob, ...] = ()
    on_success: tuple[NewJob, ...] = ()
    on_failure: tuple[NewJob, ...] = ()
    # Trace context (JSON) given to follow-ups without their own: the first member's.
    trace: str = ""


@dataclass(frozen=True, slots=True)
class GroupSubmitResult:
    """Outcome of a group submit: the group's id, its members' results, and whether it
    was a duplicate (the idempotency key named an earlier group, which is returned)."""

    group_id: str
    members: list[SubmitResult]
    duplicate: bool


@dataclass(frozen=True, slots=True)
class GroupRecord:
    """A group as stored. `member_states` holds each member's current state (or the
    final state it was counted in, once its own record expired), in submission order."""

    id: str
    state: str
    member_ids: list[str]
    member_states: list[str]
    follow_up_ids: list[str]
    created_ms: int
    finished_ms: int
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """Outcome of one submitted job: its id, state, and whether it was a duplicate."""

    job_id: str
    state: str
    duplicate: bool


@dataclass(frozen=True, slots=True)
class Lease:
    """One delivery: a leased job and the fencing token that guards its outcome."""

    job_id: str
    type: str
    priority: str
    payload: str
    attempt: int
    retries: int
    token: int
    deadline_ms: int
    lease_ms: int
    timeout_ms: int
    created_ms: int
    ready_ms: int
    trace: str
    parent_id: str = ""


@dataclass(frozen=True, slots=True)
class DispatchTarget:
    """The stream a dispatch leases jobs to: its worker, session, capacity and types."""

    worker_id: str
    session_id: str
    capacity: int
    job_types: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DispatchResult:
    """What one dispatch call leased, and when a rate-limited type may go next."""

    leases: list[Lease]
    wait_ms: int
    rate_limited: int
    limited_types: tuple[str, ...] = ()
    # The worker's slots are all taken now, as this broker counts them (set by
    # cross-partition dispatches): another dispatch before an ack would find none.
    filled: bool = False


@dataclass(frozen=True, slots=True)
class NackItem:
    """One failed or handed-back delivery."""

    job_id: str
    token: int
    error_type: str = ""
    message: str = ""
    traceback: str = ""
    non_retryable: bool = False
    retry_after_ms: int | None = None
    handback: bool = False
    draining: bool = False  # with handback: hold further jobs from this worker


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One transition in a job's history. `from_state` is '' for none; `error_type`
    is None unless the transition recorded a failure (see store/schema.py)."""

    time_ms: int
    from_state: str
    to_state: str
    attempt: int
    worker_id: str = ""
    error_type: str | None = None
    error_message: str = ""
    traceback: str = ""


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A job as stored, one attribute per job hash field (store/schema.py JOB_FIELDS
    declares them: hash name, type, what an absent field reads as), built only by
    `schema.decode_job`. Times are Unix ms, 0 when not set.

    `history_whole` is False when the capped history may have dropped its oldest
    events (it is full), so the submit is not known to precede the first one kept."""

    id: str
    type: str
    priority: str
    state: str
    payload: str
    retries: int
    attempt: int
    token: int
    created_ms: int
    run_at_ms: int
    ready_ms: int
    started_ms: int
    finished_ms: int
    deadline_ms: int
    worker_id: str
    session_id: str
    idempotency_key: str
    timeout_ms: int
    lease_ms: int
    backoff_base_ms: int | None
    backoff_factor: float | None
    backoff_max_ms: int | None
    trace: str
    result: str
    last_error: str
    on_success: str
    on_failure: str
    follow_up_ids: tuple[str, ...]
    parent_id: str
    group_id: str
    parent_group_id: str
    watched: int
    events: list[HistoryEvent] = field(default_factory=list)
    history_whole: bool = True


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    """A worker as the brokers last saw it."""

    worker_id: str
    hostname: str
    pid: int
    job_types: list[str]
    capacity: int
    in_flight: int
    last_heartbeat_ms: int
    connected_ms: int
    streams: int


@dataclass(frozen=True, slots=True)
class QueueDepth:
    """One priority's ready queue."""

    priority: str
    depth: int
    by_type: dict[str, int]
    paused: bool
    oldest_age_ms: int


@dataclass(frozen=True, slots=True)
class Stats:
    """Counts of every queue and set."""

    queues: list[QueueDepth]
    scheduled: int
    retrying: int
    active: int
    dead: int
    finished: int
    finished_last_minute: int = 0
    dead_last_minute: int = 0


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One transition from the global events feed. `from_state` is '' for a submit."""

    id: str
    job_id: str
    type: str
    time_ms: int
    from_state: str
    to_state: str
    attempt: int
    worker_id: str
    error_type: str


@dataclass(frozen=True, slots=True)
class FeedPage:
    """A page of the events feed: entries oldest first, the id to read on from, and
    whether entries after the requested id had already been trimmed away."""

    entries: list[FeedEntry]
    last_id: str
    truncated: bool
