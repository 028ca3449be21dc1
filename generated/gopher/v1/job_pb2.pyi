import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Priority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIORITY_UNSPECIFIED: _ClassVar[Priority]
    PRIORITY_HIGH: _ClassVar[Priority]
    PRIORITY_NORMAL: _ClassVar[Priority]
    PRIORITY_LOW: _ClassVar[Priority]

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_SCHEDULED: _ClassVar[JobState]
    JOB_STATE_ENQUEUED: _ClassVar[JobState]
    JOB_STATE_ACTIVE: _ClassVar[JobState]
    JOB_STATE_RETRYING: _ClassVar[JobState]
    JOB_STATE_SUCCEEDED: _ClassVar[JobState]
    JOB_STATE_DEAD: _ClassVar[JobState]
    JOB_STATE_CANCELLED: _ClassVar[JobState]

class GroupState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GROUP_STATE_UNSPECIFIED: _ClassVar[GroupState]
    GROUP_STATE_RUNNING: _ClassVar[GroupState]
    GROUP_STATE_SUCCEEDED: _ClassVar[GroupState]
    GROUP_STATE_FAILED: _ClassVar[GroupState]
    GROUP_STATE_CANCELLED: _ClassVar[GroupState]
PRIORITY_UNSPECIFIED: Priority
PRIORITY_HIGH: Priority
PRIORITY_NORMAL: Priority
PRIORITY_LOW: Priority
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_SCHEDULED: JobState
JOB_STATE_ENQUEUED: JobState
JOB_STATE_ACTIVE: JobState
JOB_STATE_RETRYING: JobState
JOB_STATE_SUCCEEDED: JobState
JOB_STATE_DEAD: JobState
JOB_STATE_CANCELLED: JobState
GROUP_STATE_UNSPECIFIED: GroupState
GROUP_STATE_RUNNING: GroupState
GROUP_STATE_SUCCEEDED: GroupState
GROUP_STATE_FAILED: GroupState
GROUP_STATE_CANCELLED: GroupState

class RetryPolicy(_message.Message):
    __slots__ = ("base_delay_s", "factor", "max_delay_s")
    BASE_DELAY_S_FIELD_NUMBER: _ClassVar[int]
    FACTOR_FIELD_NUMBER: _ClassVar[int]
    MAX_DELAY_S_FIELD_NUMBER: _ClassVar[int]
    base_delay_s: float
    factor: float
    max_delay_s: float
    def __init__(self, base_delay_s: _Optional[float] = ..., factor: _Optional[float] = ..., max_delay_s: _Optional[float] = ...) -> None: ...

class JobError(_message.Message):
    __slots__ = ("attempt", "error_type", "message", "traceback", "worker_id", "time")
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TRACEBACK_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    error_type: str
    message: str
    traceback: str
    worker_id: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, attempt: _Optional[int] = ..., error_type: _Optional[str] = ..., message: _Optional[str] = ..., traceback: _Optional[str] = ..., worker_id: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("time", "from_state", "to_state", "attempt", "worker_id", "error")
    TIME_FIELD_NUMBER: _ClassVar[int]
    FROM_STATE_FIELD_NUMBER: _ClassVar[int]
    TO_STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    from_state: JobState
    to_state: JobState
    attempt: int
    worker_id: str
    error: str
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., from_state: _Optional[_Union[JobState, str]] = ..., to_state: _Optional[_Union[JobState, str]] = ..., attempt: _Optional[int] = ..., worker_id: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "type", "priority", "state", "payload_json", "result_json", "attempt", "retries", "created_at", "run_at", "started_at", "finished_at", "idempotency_key", "timeout_s", "lease_ttl_s", "retry_policy", "worker_id", "errors", "events", "trace_context", "parent_id", "follow_up_ids", "group_id", "parent_group_id")
    class TraceContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    RUN_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    LEASE_TTL_S_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    TRACE_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_UP_IDS_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: str
    priority: Priority
    state: JobState
    payload_json: str
    result_json: str
    attempt: int
    retries: int
    created_at: _timestamp_pb2.Timestamp
    run_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    idempotency_key: str
    timeout_s: float
    lease_ttl_s: float
    retry_policy: RetryPolicy
    worker_id: str
    errors: _containers.RepeatedCompositeFieldContainer[JobError]
    events: _containers.RepeatedCompositeFieldContainer[JobEvent]
    trace_context: _containers.ScalarMap[str, str]
    parent_id: str
    follow_up_ids: _containers.RepeatedScalarFieldContainer[str]
    group_id: str
    parent_group_id: str
    def __init__(self, id: _Optional[str] = ..., type: _Optional[str] = ..., priority: _Optional[_Union[Priority, str]] = ..., state: _Optional[_Union[JobState, str]] = ..., payload_json: _Optional[str] = ..., result_json: _Optional[str] = ..., attempt: _Optional[int] = ..., retries: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., run_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., idempotency_key: _Optional[str] = ..., timeout_s: _Optional[float] = ..., lease_ttl_s: _Optional[float] = ..., retry_policy: _Optional[_Union[RetryPolicy, _Mapping]] = ..., worker_id: _Optional[str] = ..., errors: _Optional[_Iterable[_Union[JobError, _Mapping]]] = ..., events: _Optional[_Iterable[_Union[JobEvent, _Mapping]]] = ..., trace_context: _Optional[_Mapping[str, str]] = ..., parent_id: _Optional[str] = ..., follow_up_ids: _Optional[_Iterable[str]] = ..., group_id: _Optional[str] = ..., parent_group_id: _Optional[str] = ...) -> None: ...

class GroupStateCount(_message.Message):
    __slots__ = ("state", "count")
    STATE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    state: JobState
    count: int
    def __init__(self, state: _Optional[_Union[JobState, str]] = ..., count: _Optional[int] = ...) -> None: ...

class Group(_message.Message):
    __slots__ = ("id", "state", "member_ids", "counts", "follow_up_ids", "created_at", "finished_at", "idempotency_key")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_IDS_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_UP_IDS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: GroupState
    member_ids: _containers.RepeatedScalarFieldContainer[str]
    counts: _containers.RepeatedCompositeFieldContainer[GroupStateCount]
    follow_up_ids: _containers.RepeatedScalarFieldContainer[str]
    created_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    idempotency_key: str
    def __init__(self, id: _Optional[str] = ..., state: _Optional[_Union[GroupState, str]] = ..., member_ids: _Optional[_Iterable[str]] = ..., counts: _Optional[_Iterable[_Union[GroupStateCount, _Mapping]]] = ..., follow_up_ids: _Optional[_Iterable[str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class LeasedJob(_message.Message):
    __slots__ = ("job_id", "type", "priority", "payload_json", "attempt", "retries", "lease_token", "lease_deadline_unix_ms", "lease_ttl_ms", "timeout_s", "created_unix_ms", "ready_unix_ms", "trace_context", "parent_id")
    class TraceContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    LEASE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    LEASE_DEADLINE_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    LEASE_TTL_MS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    CREATED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    READY_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    TRACE_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    type: str
    priority: Priority
    payload_json: str
    attempt: int
    retries: int
    lease_token: int
    lease_deadline_unix_ms: int
    lease_ttl_ms: int
    timeout_s: float
    created_unix_ms: int
    ready_unix_ms: int
    trace_context: _containers.ScalarMap[str, str]
    parent_id: str
    def __init__(self, job_id: _Optional[str] = ..., type: _Optional[str] = ..., priority: _Optional[_Union[Priority, str]] = ..., payload_json: _Optional[str] = ..., attempt: _Optional[int] = ..., retries: _Optional[int] = ..., lease_token: _Optional[int] = ..., lease_deadline_unix_ms: _Optional[int] = ..., lease_ttl_ms: _Optional[int] = ..., timeout_s: _Optional[float] = ..., created_unix_ms: _Optional[int] = ..., ready_unix_ms: _Optional[int] = ..., trace_context: _Optional[_Mapping[str, str]] = ..., parent_id: _Optional[str] = ...) -> None: ...
