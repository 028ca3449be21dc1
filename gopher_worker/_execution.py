"""Running one job: call its handler with the right limits, and turn what happened
into an ack or a nack."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import orjson
from gopher.v1 import worker_service_pb2 as pb

from gopher_worker._errors import PermanentError, RetryAfter
from gopher_worker._job import Job
from gopher_worker._registry import Handler

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What the worker reports for one run: exactly one of ack or nack."""

    ack: pb.AckJobRequest | None = None
    nack: pb.NackJobRequest | None = None
    error: BaseException | None = None  # what the handler raised, for hooks


def failure(
    job: Job, exc: BaseException, *, non_retryable: bool = False, retry_after_s: float | None = None
) -> Outcome:
    """The nack for a failed run of `job`, with the exception's type, message and traceback."""
    tb = "".join(traceback.format_exception(exc))
    nack = pb.NackJobRequest(
        job_id=job.id,
        lease_token=job.lease_token,
        error_type=type(exc).__name__,
        error_message=str(exc) or type(exc).__name__,
        traceback=tb,
        non_retryable=non_retryable,
    )
    if retry_after_s is not None:
        nack.retry_after_s = retry_after_s
    return Outcome(nack=nack, error=exc)


async def run_handler(
    handler: Handler, job: Job, timeout_s: float | None, pool: ThreadPoolExecutor
) -> Outcome:
    """Run the handler and map the result or exception to an outcome.

    Async handlers past their timeout are cancelled; sync handlers cannot be stopped,
    so their thread is abandoned (with a warning) and the job is failed all the same.
    Cancellation of the calling task (job cancelled, lease lost, drain deadline)
    propagates to the caller.
    """
    try:
        if handler.is_async:
            if timeout_s:
                async with asyncio.timeout(timeout_s):
                    result = await handler.fn(job)
            else:  # no timer to arm: the common case stays cheap
                result = await handler.fn(job)
        else:
            loop = asyncio.get_running_loop()
            call = functools.partial(contextvars.copy_context().run, handler.fn, job)
            future = loop.run_in_executor(pool, call)
            try:
                result = await asyncio.wait_for(asyncio.shield(future), timeout_s)
            except TimeoutError:
                log.warning(
                    "sync handler for job %s (%s) passed its %ss timeout; its thread is "
                    "abandoned and keeps running",
                    job.id,
                    job.type,
                    timeout_s,
                )
                raise
    except TimeoutError as exc:
        return failure(
            job, TimeoutError(f"handler exceeded its {timeout_s:g}s timeout") if timeout_s else exc
        )
    except PermanentError as exc:
        return failure(job, exc, non_retryable=True)
    except RetryAfter as exc:
        return failure(job, exc, retry_after_s=max(0.0, exc.delay_s))
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        return failure(job, exc)
    try:
        result_json = orjson.dumps(result).decode()
    except TypeError as exc:
        return failure(
            job, TypeError(f"handler result is not JSON-serialisable: {exc}"), non_retryable=True
        )
    return Outcome(
        ack=pb.AckJobRequest(job_id=job.id, lease_token=job.lease_token, result_json=result_json)
    )
