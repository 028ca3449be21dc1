"""Handler registry: which function runs which job type, and the type's defaults.

The defaults given to `handler` / `register_handler` (retries, backoff, timeout, lease,
priority) are sent to the broker when the worker's stream opens; while any worker of the
type is live, the broker fills them into every job of the type whose submitter left
the field unset, from whatever client or language.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from gopher.v1 import job_pb2
from gopher.v1 import worker_service_pb2 as pb

from gopher_worker._job import Job

_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
F = TypeVar("F", bound=Callable[..., Any])
# The broker's limits (gopher_server/validation.py), checked here too so a bad default
# fails at import time rather than when the stream opens.
MAX_RETRIES = 100
MAX_TIMEOUT_S = 7 * 24 * 3600
MAX_LEASE_S = 24 * 3600
MAX_DELAY_S = 365 * 24 * 3600
PRIORITIES = {
    "high": job_pb2.PRIORITY_HIGH,
    "normal": job_pb2.PRIORITY_NORMAL,
    "low": job_pb2.PRIORITY_LOW,
}


def _check_seconds(name: str, value: float | None, low: float, high: float) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds; got {value!r}")
    if math.isnan(value) or not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g} seconds; got {value!r}")


@dataclass(frozen=True)
class Backoff:
    """Delay between retries: `base_s` before the first, times `factor` per attempt,
    at most `max_s`. None leaves the broker's default (1 s, 2.0, 3600 s)."""

    base_s: float | None = None
    factor: float | None = None
    max_s: float | None = None

    def __post_init__(self) -> None:
        _check_seconds("backoff base_s", self.base_s, 0, MAX_DELAY_S)
        _check_seconds("backoff max_s", self.max_s, 0, MAX_DELAY_S)
        if self.factor is not None:
            if isinstance(self.factor, bool) or not isinstance(self.factor, int | float):
                raise TypeError(f"backoff factor must be a number; got {self.factor!r}")
            if math.isnan(self.factor) or not 1.0 <= self.factor <= 100.0:
                raise ValueError(f"backoff factor must be between 1 and 100; got {self.factor!r}")


@dataclass(frozen=True)
class TypeDefaults:
    """A job type's defaults, as given to the handler decorator; None: no default."""

    retries: int | None = None
    backoff: Backoff | None = None
    timeout_s: float | None = None
    lease_ttl_s: float | None = None
    priority: str | None = None

    def __post_init__(self) -> None:
        if self.retries is not None:
            if isinstance(self.retries, bool) or not isinstance(self.retries, int):
                raise TypeError(f"retries must be an int; got {self.retries!r}")
            if not 0 <= self.retries <= MAX_RETRIES:
                raise ValueError(f"retries must be between 0 and {MAX_RETRIES}; got {self.retries}")
        if self.backoff is not None and not isinstance(self.backoff, Backoff):
            raise TypeError(f"backoff must be a gopher_worker.Backoff; got {self.backoff!r}")
        _check_seconds("timeout_s", self.timeout_s, -math.inf, MAX_TIMEOUT_S)
        _check_seconds("lease_ttl_s", self.lease_ttl_s, 1, MAX_LEASE_S)
        if self.priority is not None and self.priority not in PRIORITIES:
            raise ValueError(f"priority must be one of high, normal, low; got {self.priority!r}")

    @property
    def empty(self) -> bool:
        """True when no default is set."""
        return self == TypeDefaults()

    def message(self, job_type: str) -> pb.JobTypeDefaults:
        """The contract form sent on StreamJobs."""
        m = pb.JobTypeDefaults(type=job_type)
        if self.priority is not None:
            m.priority = PRIORITIES[self.priority]
        if self.retries is not None:
            m.retries = self.retries
        if self.timeout_s is not None:
            m.timeout_s = self.timeout_s
        if self.lease_ttl_s is not None:
            m.lease_ttl_s = self.lease_ttl_s
        b = self.backoff
        if b is not None and b.base_s is not None:
            m.retry_policy.base_delay_s = b.base_s
        if b is not None and b.factor is not None:
            m.retry_policy.factor = b.factor
        if b is not None and b.max_s is not None:
            m.retry_policy.max_delay_s = b.max_s
        return m


@dataclass(frozen=True)
class Handler:
    """A registered handler. `timeout_s` (None: none) applies unless the job sets its
    own; `defaults` are the type's defaults sent to the broker."""

    job_type: str
    fn: Callable[[Job], Any]
    is_async: bool
    timeout_s: float | None = None
    defaults: TypeDefaults = TypeDefaults()


class Registry:
    """Maps job types to handlers.

    registry = Registry()

    @registry.handler("email", retries=5, backoff=Backoff(base_s=2, max_s=600))
    async def send_email(job): ...

    registry.register_handler("image_resize", resize)  # sync: runs in a thread pool
    """

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register_handler(
        self,
        job_type: str,
        fn: Callable[[Job], Any],
        *,
        timeout_s: float | None = None,
        retries: int | None = None,
        backoff: Backoff | None = None,
        lease_ttl_s: float | None = None,
        priority: str | None = None,
    ) -> None:
        """Register `fn` for `job_type`, with the type's defaults: `retries` (0..100),
        `backoff`, `timeout_s` (per attempt), `lease_ttl_s` (1..86400 s) and `priority`
        ("high", "normal" or "low"); None leaves the broker's default. A submitter's
        own value always wins. Raises ValueError (TypeError for a wrong kind of
        value) for a bad or duplicate type or a bad default, registering nothing."""
        if not _NAME.match(job_type):
            raise ValueError(f"job type {job_type!r} must be 1-128 characters from [A-Za-z0-9_.:-]")
        if job_type in self._handlers:
            raise ValueError(f"a handler for {job_type!r} is already registered")
        try:
            defaults = TypeDefaults(retries, backoff, timeout_s, lease_ttl_s, priority)
            if timeout_s is not None and timeout_s <= 0:  # a handler's limit: 0 is no limit
                raise ValueError("timeout_s must be positive")
        except (TypeError, ValueError) as error:
            raise type(error)(f"handler for {job_type!r}: {error}") from None
        self._handlers[job_type] = Handler(
            job_type, fn, inspect.iscoroutinefunction(fn), timeout_s, defaults
        )

    def handler(
        self,
        job_type: str,
        *,
        timeout_s: float | None = None,
        retries: int | None = None,
        backoff: Backoff | None = None,
        lease_ttl_s: float | None = None,
        priority: str | None = None,
    ) -> Callable[[F], F]:
        """Decorator form of `register_handler`, with the same defaults."""

        def decorate(fn: F) -> F:
            self.register_handler(
                job_type,
                fn,
                timeout_s=timeout_s,
                retries=retries,
                backoff=backoff,
                lease_ttl_s=lease_ttl_s,
                priority=priority,
            )
            return fn

        return decorate

    def type_defaults(self) -> list[pb.JobTypeDefaults]:
        """The defaults of every type that has any, for the StreamJobs request."""
        return [
            h.defaults.message(t) for t, h in sorted(self._handlers.items()) if not h.defaults.empty
        ]

    def get(self, job_type: str) -> Handler | None:
        """The handler for `job_type`, or None."""
        return self._handlers.get(job_type)

    @property
    def job_types(self) -> list[str]:
        """Registered job types, sorted."""
        return sorted(self._handlers)
