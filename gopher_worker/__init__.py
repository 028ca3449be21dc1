"""Gopher worker SDK: register handlers, run them on jobs from a broker.

    from gopher_worker import Registry, PermanentError
    registry = Registry()

    @registry.handler("email")
    async def send_email(job):
        ...                       # the return value is the job's result

Run with `gopher-worker myapp.tasks:registry --server 127.0.0.1:50051 --concurrency 16`.
"""

from gopher_worker._breaker import BreakerPolicy
from gopher_worker._errors import PermanentError, RetryAfter
from gopher_worker._hooks import JobHook
from gopher_worker._job import Job
from gopher_worker._registry import Backoff, Handler, Registry
from gopher_worker._worker import Worker

__all__ = [
    "Backoff",
    "BreakerPolicy",
    "Handler",
    "Job",
    "JobHook",
    "PermanentError",
    "Registry",
    "RetryAfter",
    "Worker",
]
