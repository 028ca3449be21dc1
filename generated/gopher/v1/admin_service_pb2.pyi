import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from gopher.v1 import job_pb2 as _job_pb2
from gopher.v1 import worker_service_pb2 as _worker_service_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WorkerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WORKER_STATE_UNSPECIFIED: _ClassVar[WorkerState]
    WORKER_STATE_RUNNING: _ClassVar[WorkerState]
    WORKER_STATE_QUIET: _ClassVar[WorkerState]
    WORKER_STATE_STOPPING: _ClassVar[WorkerState]

class MissedTicks(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MISSED_TICKS_UNSPECIFIED: _ClassVar[MissedTicks]
    MISSED_TICKS_RUN_ONCE: _ClassVar[MissedTicks]
    MISSED_TICKS_SKIP: _ClassVar[MissedTicks]
WORKER_STATE_UNSPECIFIED: WorkerState
WORKER_STATE_RUNNING: WorkerState
WORKER_STATE_QUIET: WorkerState
WORKER_STATE_STOPPING: WorkerState
MISSED_TICKS_UNSPECIFIED: MissedTicks
MISSED_TICKS_RUN_ONCE: MissedTicks
MISSED_TICKS_SKIP: MissedTicks

class QueueStats(_message.Message):
    __slots__ = ("priority", "depth", "depth_by_type", "paused", "oldest_job_age_s")
    class DepthByTypeEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    DEPTH_BY_TYPE_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    OLDEST_JOB_AGE_S_FIELD_NUMBER: _ClassVar[int]
    priority: _job_pb2.Priority
    depth: int
    depth_by_type: _containers.ScalarMap[str, int]
    paused: bool
    oldest_job_age_s: float
    def __init__(self, priority: _Optional[_Union[_job_pb2.Priority, str]] = ..., depth: _Optional[int] = ..., depth_by_type: _Optional[_Mapping[str, int]] = ..., paused: _Optional[bool] = ..., oldest_job_age_s: _Optional[float] = ...) -> None: ...

class GetQueueStatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetQueueStatsResponse(_message.Message):
    __slots__ = ("queues", "scheduled", "retrying", "active", "dead", "finished", "finished_last_minute", "dead_last_minute")
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_FIELD_NUMBER: _ClassVar[int]
    RETRYING_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    DEAD_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    FINISHED_LAST_MINUTE_FIELD_NUMBER: _ClassVar[int]
    DEAD_LAST_MINUTE_FIELD_NUMBER: _ClassVar[int]
    queues: _containers.RepeatedCompositeFieldContainer[QueueStats]
    scheduled: int
    retrying: int
    active: int
    dead: int
    finished: int
    finished_last_minute: int
    dead_last_minute: int
    def __init__(self, queues: _Optional[_Iterable[_Union[QueueStats, _Mapping]]] = ..., scheduled: _Optional[int] = ..., retrying: _Optional[int] = ..., active: _Optional[int] = ..., dead: _Optional[int] = ..., finished: _Optional[int] = ..., finished_last_minute: _Optional[int] = ..., dead_last_minute: _Optional[int] = ...) -> None: ...

class PauseQueueRequest(_message.Message):
    __slots__ = ("priority",)
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    priority: _job_pb2.Priority
    def __init__(self, priority: _Optional[_Union[_job_pb2.Priority, str]] = ...) -> None: ...

class PauseQueueResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ResumeQueueRequest(_message.Message):
    __slots__ = ("priority",)
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    priority: _job_pb2.Priority
    def __init__(self, priority: _Optional[_Union[_job_pb2.Priority, str]] = ...) -> None: ...

class ResumeQueueResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListDeadJobsRequest(_message.Message):
    __slots__ = ("type", "page_size", "page_token", "error_contains")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ERROR_CONTAINS_FIELD_NUMBER: _ClassVar[int]
    type: str
    page_size: int
    page_token: str
    error_contains: str
    def __init__(self, type: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., error_contains: _Optional[str] = ...) -> None: ...

class ListDeadJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[_job_pb2.Job]
    next_page_token: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[_job_pb2.Job, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RequeueDeadJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class RequeueDeadJobResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: _job_pb2.JobState
    def __init__(self, state: _Optional[_Union[_job_pb2.JobState, str]] = ...) -> None: ...

class RequeueDeadJobsRequest(_message.Message):
    __slots__ = ("job_ids", "type", "all", "error_contains")
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    ERROR_CONTAINS_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    type: str
    all: bool
    error_contains: str
    def __init__(self, job_ids: _Optional[_Iterable[str]] = ..., type: _Optional[str] = ..., all: _Optional[bool] = ..., error_contains: _Optional[str] = ...) -> None: ...

class RequeueDeadJobsResponse(_message.Message):
    __slots__ = ("requeued",)
    REQUEUED_FIELD_NUMBER: _ClassVar[int]
    requeued: int
    def __init__(self, requeued: _Optional[int] = ...) -> None: ...

class PurgeDeadJobsRequest(_message.Message):
    __slots__ = ("type", "older_than_s", "job_ids", "error_contains")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OLDER_THAN_S_FIELD_NUMBER: _ClassVar[int]
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    ERROR_CONTAINS_FIELD_NUMBER: _ClassVar[int]
    type: str
    older_than_s: float
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    error_contains: str
    def __init__(self, type: _Optional[str] = ..., older_than_s: _Optional[float] = ..., job_ids: _Optional[_Iterable[str]] = ..., error_contains: _Optional[str] = ...) -> None: ...

class PurgeDeadJobsResponse(_message.Message):
    __slots__ = ("purged",)
    PURGED_FIELD_NUMBER: _ClassVar[int]
    purged: int
    def __init__(self, purged: _Optional[int] = ...) -> None: ...

class WorkerInfo(_message.Message):
    __slots__ = ("worker_id", "hostname", "pid", "job_types", "capacity", "in_flight", "last_heartbeat", "connected_at", "streams", "circuits", "state")
    class CircuitsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _worker_service_pb2.CircuitState
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_worker_service_pb2.CircuitState, str]] = ...) -> None: ...
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    JOB_TYPES_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_AT_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    CIRCUITS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    hostname: str
    pid: int
    job_types: _containers.RepeatedScalarFieldContainer[str]
    capacity: int
    in_flight: int
    last_heartbeat: _timestamp_pb2.Timestamp
    connected_at: _timestamp_pb2.Timestamp
    streams: int
    circuits: _containers.ScalarMap[str, _worker_service_pb2.CircuitState]
    state: WorkerState
    def __init__(self, worker_id: _Optional[str] = ..., hostname: _Optional[str] = ..., pid: _Optional[int] = ..., job_types: _Optional[_Iterable[str]] = ..., capacity: _Optional[int] = ..., in_flight: _Optional[int] = ..., last_heartbeat: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., connected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., streams: _Optional[int] = ..., circuits: _Optional[_Mapping[str, _worker_service_pb2.CircuitState]] = ..., state: _Optional[_Union[WorkerState, str]] = ...) -> None: ...

class ControlWorkerRequest(_message.Message):
    __slots__ = ("worker_id", "action")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    action: _worker_service_pb2.WorkerControlAction
    def __init__(self, worker_id: _Optional[str] = ..., action: _Optional[_Union[_worker_service_pb2.WorkerControlAction, str]] = ...) -> None: ...

class ControlWorkerResponse(_message.Message):
    __slots__ = ("state", "connected")
    STATE_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    state: WorkerState
    connected: bool
    def __init__(self, state: _Optional[_Union[WorkerState, str]] = ..., connected: _Optional[bool] = ...) -> None: ...

class ListWorkersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListWorkersResponse(_message.Message):
    __slots__ = ("workers",)
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    workers: _containers.RepeatedCompositeFieldContainer[WorkerInfo]
    def __init__(self, workers: _Optional[_Iterable[_Union[WorkerInfo, _Mapping]]] = ...) -> None: ...

class JobTypeInfo(_message.Message):
    __slots__ = ("type", "defaults", "worker_ids", "depth", "known")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DEFAULTS_FIELD_NUMBER: _ClassVar[int]
    WORKER_IDS_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    KNOWN_FIELD_NUMBER: _ClassVar[int]
    type: str
    defaults: _worker_service_pb2.JobTypeDefaults
    worker_ids: _containers.RepeatedScalarFieldContainer[str]
    depth: int
    known: bool
    def __init__(self, type: _Optional[str] = ..., defaults: _Optional[_Union[_worker_service_pb2.JobTypeDefaults, _Mapping]] = ..., worker_ids: _Optional[_Iterable[str]] = ..., depth: _Optional[int] = ..., known: _Optional[bool] = ...) -> None: ...

class ListJobTypesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListJobTypesResponse(_message.Message):
    __slots__ = ("types",)
    TYPES_FIELD_NUMBER: _ClassVar[int]
    types: _containers.RepeatedCompositeFieldContainer[JobTypeInfo]
    def __init__(self, types: _Optional[_Iterable[_Union[JobTypeInfo, _Mapping]]] = ...) -> None: ...

class JobTemplate(_message.Message):
    __slots__ = ("type", "payload_json", "priority", "retries")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    type: str
    payload_json: str
    priority: _job_pb2.Priority
    retries: int
    def __init__(self, type: _Optional[str] = ..., payload_json: _Optional[str] = ..., priority: _Optional[_Union[_job_pb2.Priority, str]] = ..., retries: _Optional[int] = ...) -> None: ...

class Schedule(_message.Message):
    __slots__ = ("name", "cron", "timezone", "job", "paused", "next_run_at", "last_run_at", "missed_ticks")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CRON_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    NEXT_RUN_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_AT_FIELD_NUMBER: _ClassVar[int]
    MISSED_TICKS_FIELD_NUMBER: _ClassVar[int]
    name: str
    cron: str
    timezone: str
    job: JobTemplate
    paused: bool
    next_run_at: _timestamp_pb2.Timestamp
    last_run_at: _timestamp_pb2.Timestamp
    missed_ticks: MissedTicks
    def __init__(self, name: _Optional[str] = ..., cron: _Optional[str] = ..., timezone: _Optional[str] = ..., job: _Optional[_Union[JobTemplate, _Mapping]] = ..., paused: _Optional[bool] = ..., next_run_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_run_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., missed_ticks: _Optional[_Union[MissedTicks, str]] = ...) -> None: ...

class CreateScheduleRequest(_message.Message):
    __slots__ = ("schedule",)
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ...) -> None: ...

class CreateScheduleResponse(_message.Message):
    __slots__ = ("schedule",)
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ...) -> None: ...

class ListSchedulesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSchedulesResponse(_message.Message):
    __slots__ = ("schedules",)
    SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    schedules: _containers.RepeatedCompositeFieldContainer[Schedule]
    def __init__(self, schedules: _Optional[_Iterable[_Union[Schedule, _Mapping]]] = ...) -> None: ...

class GetScheduleRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetScheduleResponse(_message.Message):
    __slots__ = ("schedule",)
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ...) -> None: ...

class DeleteScheduleRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteScheduleResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PauseScheduleRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class PauseScheduleResponse(_message.Message):
    __slots__ = ("schedule",)
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ...) -> None: ...

class ResumeScheduleRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ResumeScheduleResponse(_message.Message):
    __slots__ = ("schedule",)
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ...) -> None: ...

class TriggerScheduleRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class TriggerScheduleResponse(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class RateLimit(_message.Message):
    __slots__ = ("type", "rate_per_s", "burst", "max_concurrency")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    RATE_PER_S_FIELD_NUMBER: _ClassVar[int]
    BURST_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    type: str
    rate_per_s: float
    burst: int
    max_concurrency: int
    def __init__(self, type: _Optional[str] = ..., rate_per_s: _Optional[float] = ..., burst: _Optional[int] = ..., max_concurrency: _Optional[int] = ...) -> None: ...

class SetRateLimitRequest(_message.Message):
    __slots__ = ("type", "rate_per_s", "burst", "max_concurrency")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    RATE_PER_S_FIELD_NUMBER: _ClassVar[int]
    BURST_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    type: str
    rate_per_s: float
    burst: int
    max_concurrency: int
    def __init__(self, type: _Optional[str] = ..., rate_per_s: _Optional[float] = ..., burst: _Optional[int] = ..., max_concurrency: _Optional[int] = ...) -> None: ...

class SetRateLimitResponse(_message.Message):
    __slots__ = ("rate_limit",)
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    rate_limit: RateLimit
    def __init__(self, rate_limit: _Optional[_Union[RateLimit, _Mapping]] = ...) -> None: ...

class ListRateLimitsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListRateLimitsResponse(_message.Message):
    __slots__ = ("rate_limits",)
    RATE_LIMITS_FIELD_NUMBER: _ClassVar[int]
    rate_limits: _containers.RepeatedCompositeFieldContainer[RateLimit]
    def __init__(self, rate_limits: _Optional[_Iterable[_Union[RateLimit, _Mapping]]] = ...) -> None: ...

class DeleteRateLimitRequest(_message.Message):
    __slots__ = ("type",)
    TYPE_FIELD_NUMBER: _ClassVar[int]
    type: str
    def __init__(self, type: _Optional[str] = ...) -> None: ...

class DeleteRateLimitResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListEventsRequest(_message.Message):
    __slots__ = ("after_id", "limit")
    AFTER_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    after_id: str
    limit: int
    def __init__(self, after_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class FeedEvent(_message.Message):
    __slots__ = ("id", "job_id", "type", "time", "from_state", "to_state", "attempt", "worker_id", "error_type")
    ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    FROM_STATE_FIELD_NUMBER: _ClassVar[int]
    TO_STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    id: str
    job_id: str
    type: str
    time: _timestamp_pb2.Timestamp
    from_state: _job_pb2.JobState
    to_state: _job_pb2.JobState
    attempt: int
    worker_id: str
    error_type: str
    def __init__(self, id: _Optional[str] = ..., job_id: _Optional[str] = ..., type: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., from_state: _Optional[_Union[_job_pb2.JobState, str]] = ..., to_state: _Optional[_Union[_job_pb2.JobState, str]] = ..., attempt: _Optional[int] = ..., worker_id: _Optional[str] = ..., error_type: _Optional[str] = ...) -> None: ...

class ListEventsResponse(_message.Message):
    __slots__ = ("events", "last_id", "truncated")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ID_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[FeedEvent]
    last_id: str
    truncated: bool
    def __init__(self, events: _Optional[_Iterable[_Union[FeedEvent, _Mapping]]] = ..., last_id: _Optional[str] = ..., truncated: _Optional[bool] = ...) -> None: ...

class GetThroughputRequest(_message.Message):
    __slots__ = ("minutes", "type")
    MINUTES_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    minutes: int
    type: str
    def __init__(self, minutes: _Optional[int] = ..., type: _Optional[str] = ...) -> None: ...

class ThroughputMinute(_message.Message):
    __slots__ = ("start", "succeeded", "failed", "dead", "cancelled", "succeeded_by_type", "failed_by_type")
    class SucceededByTypeEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class FailedByTypeEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    START_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    DEAD_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_BY_TYPE_FIELD_NUMBER: _ClassVar[int]
    FAILED_BY_TYPE_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    succeeded: int
    failed: int
    dead: int
    cancelled: int
    succeeded_by_type: _containers.ScalarMap[str, int]
    failed_by_type: _containers.ScalarMap[str, int]
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., succeeded: _Optional[int] = ..., failed: _Optional[int] = ..., dead: _Optional[int] = ..., cancelled: _Optional[int] = ..., succeeded_by_type: _Optional[_Mapping[str, int]] = ..., failed_by_type: _Optional[_Mapping[str, int]] = ...) -> None: ...

class GetThroughputResponse(_message.Message):
    __slots__ = ("minutes",)
    MINUTES_FIELD_NUMBER: _ClassVar[int]
    minutes: _containers.RepeatedCompositeFieldContainer[ThroughputMinute]
    def __init__(self, minutes: _Optional[_Iterable[_Union[ThroughputMinute, _Mapping]]] = ...) -> None: ...

class GetCallerRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetCallerResponse(_message.Message):
    __slots__ = ("name", "roles", "auth_enabled", "can_admin")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    AUTH_ENABLED_FIELD_NUMBER: _ClassVar[int]
    CAN_ADMIN_FIELD_NUMBER: _ClassVar[int]
    name: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    auth_enabled: bool
    can_admin: bool
    def __init__(self, name: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., auth_enabled: _Optional[bool] = ..., can_admin: _Optional[bool] = ...) -> None: ...

class CancelJobsRequest(_message.Message):
    __slots__ = ("job_ids", "state", "type", "priority", "all", "limit")
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    state: _job_pb2.JobState
    type: str
    priority: _job_pb2.Priority
    all: bool
    limit: int
    def __init__(self, job_ids: _Optional[_Iterable[str]] = ..., state: _Optional[_Union[_job_pb2.JobState, str]] = ..., type: _Optional[str] = ..., priority: _Optional[_Union[_job_pb2.Priority, str]] = ..., all: _Optional[bool] = ..., limit: _Optional[int] = ...) -> None: ...

class CancelJobsResponse(_message.Message):
    __slots__ = ("cancelled", "more")
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    cancelled: int
    more: bool
    def __init__(self, cancelled: _Optional[int] = ..., more: _Optional[bool] = ...) -> None: ...

class RunJobNowRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class RunJobNowResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: _job_pb2.JobState
    def __init__(self, state: _Optional[_Union[_job_pb2.JobState, str]] = ...) -> None: ...

class GetClusterStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ClusterMaster(_message.Message):
    __slots__ = ("address", "slot_ranges", "slots", "partitions", "replicas", "load")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SLOT_RANGES_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    PARTITIONS_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    LOAD_FIELD_NUMBER: _ClassVar[int]
    address: str
    slot_ranges: int
    slots: int
    partitions: _containers.RepeatedScalarFieldContainer[int]
    replicas: int
    load: int
    def __init__(self, address: _Optional[str] = ..., slot_ranges: _Optional[int] = ..., slots: _Optional[int] = ..., partitions: _Optional[_Iterable[int]] = ..., replicas: _Optional[int] = ..., load: _Optional[int] = ...) -> None: ...

class PartitionStatus(_message.Message):
    __slots__ = ("index", "tag", "slot", "master", "ready", "scheduled", "retrying", "active", "dead")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    MASTER_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_FIELD_NUMBER: _ClassVar[int]
    RETRYING_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    DEAD_FIELD_NUMBER: _ClassVar[int]
    index: int
    tag: str
    slot: int
    master: str
    ready: int
    scheduled: int
    retrying: int
    active: int
    dead: int
    def __init__(self, index: _Optional[int] = ..., tag: _Optional[str] = ..., slot: _Optional[int] = ..., master: _Optional[str] = ..., ready: _Optional[int] = ..., scheduled: _Optional[int] = ..., retrying: _Optional[int] = ..., active: _Optional[int] = ..., dead: _Optional[int] = ...) -> None: ...

class ClusterBalance(_message.Message):
    __slots__ = ("mean_partitions_per_master", "max_partitions_per_master", "mean_partition_load", "max_partition_load")
    MEAN_PARTITIONS_PER_MASTER_FIELD_NUMBER: _ClassVar[int]
    MAX_PARTITIONS_PER_MASTER_FIELD_NUMBER: _ClassVar[int]
    MEAN_PARTITION_LOAD_FIELD_NUMBER: _ClassVar[int]
    MAX_PARTITION_LOAD_FIELD_NUMBER: _ClassVar[int]
    mean_partitions_per_master: float
    max_partitions_per_master: int
    mean_partition_load: float
    max_partition_load: int
    def __init__(self, mean_partitions_per_master: _Optional[float] = ..., max_partitions_per_master: _Optional[int] = ..., mean_partition_load: _Optional[float] = ..., max_partition_load: _Optional[int] = ...) -> None: ...

class GetClusterStatusResponse(_message.Message):
    __slots__ = ("cluster", "partition_count", "masters", "partitions", "balance")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    PARTITION_COUNT_FIELD_NUMBER: _ClassVar[int]
    MASTERS_FIELD_NUMBER: _ClassVar[int]
    PARTITIONS_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    cluster: bool
    partition_count: int
    masters: _containers.RepeatedCompositeFieldContainer[ClusterMaster]
    partitions: _containers.RepeatedCompositeFieldContainer[PartitionStatus]
    balance: ClusterBalance
    def __init__(self, cluster: _Optional[bool] = ..., partition_count: _Optional[int] = ..., masters: _Optional[_Iterable[_Union[ClusterMaster, _Mapping]]] = ..., partitions: _Optional[_Iterable[_Union[PartitionStatus, _Mapping]]] = ..., balance: _Optional[_Union[ClusterBalance, _Mapping]] = ...) -> None: ...
