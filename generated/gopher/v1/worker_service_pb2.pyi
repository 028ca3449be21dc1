from gopher.v1 import job_pb2 as _job_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CircuitState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CIRCUIT_STATE_UNSPECIFIED: _ClassVar[CircuitState]
    CIRCUIT_STATE_CLOSED: _ClassVar[CircuitState]
    CIRCUIT_STATE_OPEN: _ClassVar[CircuitState]
    CIRCUIT_STATE_HALF_OPEN: _ClassVar[CircuitState]

class WorkerControlAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WORKER_CONTROL_ACTION_UNSPECIFIED: _ClassVar[WorkerControlAction]
    WORKER_CONTROL_ACTION_QUIET: _ClassVar[WorkerControlAction]
    WORKER_CONTROL_ACTION_STOP: _ClassVar[WorkerControlAction]
    WORKER_CONTROL_ACTION_RESUME: _ClassVar[WorkerControlAction]

class OutcomeCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_CODE_UNSPECIFIED: _ClassVar[OutcomeCode]
    OUTCOME_CODE_OK: _ClassVar[OutcomeCode]
    OUTCOME_CODE_STALE_LEASE: _ClassVar[OutcomeCode]
    OUTCOME_CODE_NOT_FOUND: _ClassVar[OutcomeCode]
    OUTCOME_CODE_INVALID: _ClassVar[OutcomeCode]
CIRCUIT_STATE_UNSPECIFIED: CircuitState
CIRCUIT_STATE_CLOSED: CircuitState
CIRCUIT_STATE_OPEN: CircuitState
CIRCUIT_STATE_HALF_OPEN: CircuitState
WORKER_CONTROL_ACTION_UNSPECIFIED: WorkerControlAction
WORKER_CONTROL_ACTION_QUIET: WorkerControlAction
WORKER_CONTROL_ACTION_STOP: WorkerControlAction
WORKER_CONTROL_ACTION_RESUME: WorkerControlAction
OUTCOME_CODE_UNSPECIFIED: OutcomeCode
OUTCOME_CODE_OK: OutcomeCode
OUTCOME_CODE_STALE_LEASE: OutcomeCode
OUTCOME_CODE_NOT_FOUND: OutcomeCode
OUTCOME_CODE_INVALID: OutcomeCode

class ReportCircuitRequest(_message.Message):
    __slots__ = ("worker_id", "job_type", "state", "hold_until_unix_ms")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    HOLD_UNTIL_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    job_type: str
    state: CircuitState
    hold_until_unix_ms: int
    def __init__(self, worker_id: _Optional[str] = ..., job_type: _Optional[str] = ..., state: _Optional[_Union[CircuitState, str]] = ..., hold_until_unix_ms: _Optional[int] = ...) -> None: ...

class ReportCircuitResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StreamJobsRequest(_message.Message):
    __slots__ = ("worker_id", "job_types", "capacity", "hostname", "pid", "type_defaults")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_TYPES_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    TYPE_DEFAULTS_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    job_types: _containers.RepeatedScalarFieldContainer[str]
    capacity: int
    hostname: str
    pid: int
    type_defaults: _containers.RepeatedCompositeFieldContainer[JobTypeDefaults]
    def __init__(self, worker_id: _Optional[str] = ..., job_types: _Optional[_Iterable[str]] = ..., capacity: _Optional[int] = ..., hostname: _Optional[str] = ..., pid: _Optional[int] = ..., type_defaults: _Optional[_Iterable[_Union[JobTypeDefaults, _Mapping]]] = ...) -> None: ...

class JobTypeDefaults(_message.Message):
    __slots__ = ("type", "priority", "retries", "timeout_s", "lease_ttl_s", "retry_policy")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    LEASE_TTL_S_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    type: str
    priority: _job_pb2.Priority
    retries: int
    timeout_s: float
    lease_ttl_s: float
    retry_policy: _job_pb2.RetryPolicy
    def __init__(self, type: _Optional[str] = ..., priority: _Optional[_Union[_job_pb2.Priority, str]] = ..., retries: _Optional[int] = ..., timeout_s: _Optional[float] = ..., lease_ttl_s: _Optional[float] = ..., retry_policy: _Optional[_Union[_job_pb2.RetryPolicy, _Mapping]] = ...) -> None: ...

class StreamJobsResponse(_message.Message):
    __slots__ = ("jobs", "cancelled_job_ids", "control")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    CONTROL_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[_job_pb2.LeasedJob]
    cancelled_job_ids: _containers.RepeatedScalarFieldContainer[str]
    control: WorkerControl
    def __init__(self, jobs: _Optional[_Iterable[_Union[_job_pb2.LeasedJob, _Mapping]]] = ..., cancelled_job_ids: _Optional[_Iterable[str]] = ..., control: _Optional[_Union[WorkerControl, _Mapping]] = ...) -> None: ...

class WorkerControl(_message.Message):
    __slots__ = ("action",)
    ACTION_FIELD_NUMBER: _ClassVar[int]
    action: WorkerControlAction
    def __init__(self, action: _Optional[_Union[WorkerControlAction, str]] = ...) -> None: ...

class Outcome(_message.Message):
    __slots__ = ("job_id", "code", "message", "state", "lease_deadline_unix_ms")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LEASE_DEADLINE_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    code: OutcomeCode
    message: str
    state: _job_pb2.JobState
    lease_deadline_unix_ms: int
    def __init__(self, job_id: _Optional[str] = ..., code: _Optional[_Union[OutcomeCode, str]] = ..., message: _Optional[str] = ..., state: _Optional[_Union[_job_pb2.JobState, str]] = ..., lease_deadline_unix_ms: _Optional[int] = ...) -> None: ...

class AckJobRequest(_message.Message):
    __slots__ = ("job_id", "lease_token", "result_json")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    lease_token: int
    result_json: str
    def __init__(self, job_id: _Optional[str] = ..., lease_token: _Optional[int] = ..., result_json: _Optional[str] = ...) -> None: ...

class AckJobResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AckJobsRequest(_message.Message):
    __slots__ = ("acks", "worker_id", "capacity")
    ACKS_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    acks: _containers.RepeatedCompositeFieldContainer[AckJobRequest]
    worker_id: str
    capacity: int
    def __init__(self, acks: _Optional[_Iterable[_Union[AckJobRequest, _Mapping]]] = ..., worker_id: _Optional[str] = ..., capacity: _Optional[int] = ...) -> None: ...

class AckJobsResponse(_message.Message):
    __slots__ = ("outcomes",)
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    outcomes: _containers.RepeatedCompositeFieldContainer[Outcome]
    def __init__(self, outcomes: _Optional[_Iterable[_Union[Outcome, _Mapping]]] = ...) -> None: ...

class NackJobRequest(_message.Message):
    __slots__ = ("job_id", "lease_token", "error_type", "error_message", "traceback", "non_retryable", "retry_after_s", "handback", "draining")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TRACEBACK_FIELD_NUMBER: _ClassVar[int]
    NON_RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_S_FIELD_NUMBER: _ClassVar[int]
    HANDBACK_FIELD_NUMBER: _ClassVar[int]
    DRAINING_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    lease_token: int
    error_type: str
    error_message: str
    traceback: str
    non_retryable: bool
    retry_after_s: float
    handback: bool
    draining: bool
    def __init__(self, job_id: _Optional[str] = ..., lease_token: _Optional[int] = ..., error_type: _Optional[str] = ..., error_message: _Optional[str] = ..., traceback: _Optional[str] = ..., non_retryable: _Optional[bool] = ..., retry_after_s: _Optional[float] = ..., handback: _Optional[bool] = ..., draining: _Optional[bool] = ...) -> None: ...

class NackJobResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: _job_pb2.JobState
    def __init__(self, state: _Optional[_Union[_job_pb2.JobState, str]] = ...) -> None: ...

class NackJobsRequest(_message.Message):
    __slots__ = ("nacks",)
    NACKS_FIELD_NUMBER: _ClassVar[int]
    nacks: _containers.RepeatedCompositeFieldContainer[NackJobRequest]
    def __init__(self, nacks: _Optional[_Iterable[_Union[NackJobRequest, _Mapping]]] = ...) -> None: ...

class NackJobsResponse(_message.Message):
    __slots__ = ("outcomes",)
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    outcomes: _containers.RepeatedCompositeFieldContainer[Outcome]
    def __init__(self, outcomes: _Optional[_Iterable[_Union[Outcome, _Mapping]]] = ...) -> None: ...

class ExtendLeaseRequest(_message.Message):
    __slots__ = ("job_id", "lease_token", "extend_by_s")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXTEND_BY_S_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    lease_token: int
    extend_by_s: float
    def __init__(self, job_id: _Optional[str] = ..., lease_token: _Optional[int] = ..., extend_by_s: _Optional[float] = ...) -> None: ...

class ExtendLeaseResponse(_message.Message):
    __slots__ = ("lease_deadline_unix_ms",)
    LEASE_DEADLINE_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    lease_deadline_unix_ms: int
    def __init__(self, lease_deadline_unix_ms: _Optional[int] = ...) -> None: ...

class ExtendLeasesRequest(_message.Message):
    __slots__ = ("leases",)
    LEASES_FIELD_NUMBER: _ClassVar[int]
    leases: _containers.RepeatedCompositeFieldContainer[ExtendLeaseRequest]
    def __init__(self, leases: _Optional[_Iterable[_Union[ExtendLeaseRequest, _Mapping]]] = ...) -> None: ...

class ExtendLeasesResponse(_message.Message):
    __slots__ = ("outcomes",)
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    outcomes: _containers.RepeatedCompositeFieldContainer[Outcome]
    def __init__(self, outcomes: _Optional[_Iterable[_Union[Outcome, _Mapping]]] = ...) -> None: ...
