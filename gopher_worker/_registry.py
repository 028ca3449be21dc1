"""Handler registry: which function runs which job type."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from gopher_worker._job import Job

_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Handler:
    """A registered handler. `timeout_s` (None: none) applies unless the job sets its own."""

    job_type: str
    fn: Callable[[Job], Any]
    is_async: bool
    timeout_s: float | None = None


class Registry:
    """Maps job types to handlers.

    registry = Registry()

    @registry.handler("email")
    async def send_email(job): ...

    registry.register_handler("image_resize", resize)  # sync: runs in a thread pool
    """

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register_handler(
        self, job_type: str, fn: Callable[[Job], Any], *, timeout_s: float | None = None
    ) -> None:
        """Register `fn` for `job_type`. Raises ValueError for a bad or duplicate type."""
        if not _NAME.match(job_type):
            raise ValueError(f"job type {job_type!r} must be 1-128 characters from [A-Za-z0-9_.:-]")
        if job_type in self._handlers:
            raise ValueError(f"a handler for {job_type!r} is already registered")
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self._handlers[job_type] = Handler(job_type, fn, inspect.iscoroutinefunction(fn), timeout_s)

    def handler(self, job_type: str, *, timeout_s: float | None = None) -> Callable[[F], F]:
        """Decorator form of `register_handler`."""

        def decorate(fn: F) -> F:
            self.register_handler(job_type, fn, timeout_s=timeout_s)
            return fn

        return decorate

    def get(self, job_type: str) -> Handler | None:
        """The handler for `job_type`, or None."""
        return self._handlers.get(job_type)

    @property
    def job_types(self) -> list[str]:
        """Registered job types, sorted."""
        return sorted(self._handlers)
