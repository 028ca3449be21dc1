"""One run of a handler, on its own: what it returned or raised becomes exactly the
ack or nack the broker needs, for async and sync handlers alike."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest

from gopher_worker import PermanentError, RetryAfter
from gopher_worker._execution import run_handler
from gopher_worker._job import Job
from gopher_worker._registry import Handler


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield pool


def job() -> Job:
    return Job("j1", "t", {"n": 2}, 1, 3, "normal", 0, lease_token=7)


def handler(fn: Callable[[Job], Any]) -> Handler:
    return Handler("t", fn, inspect.iscoroutinefunction(fn))


async def double(j: Job) -> dict[str, int]:
    return {"n": j.payload["n"] * 2}


def double_sync(j: Job) -> dict[str, int]:
    return {"n": j.payload["n"] * 2}


@pytest.mark.parametrize("fn", [double, double_sync], ids=["async", "sync"])
async def test_a_return_value_is_acked_as_json_with_the_lease_token(
    fn: Callable[[Job], Any], pool: ThreadPoolExecutor
) -> None:
    outcome = await run_handler(handler(fn), job(), None, pool)

    assert outcome.nack is None and outcome.ack is not None
    assert outcome.ack.job_id == "j1" and outcome.ack.lease_token == 7
    assert orjson.loads(outcome.ack.result_json) == {"n": 4}


async def test_an_exception_is_a_retryable_nack_with_its_traceback(
    pool: ThreadPoolExecutor,
) -> None:
    async def broken(j: Job) -> None:
        raise ValueError("bad input")

    outcome = await run_handler(handler(broken), job(), None, pool)

    assert outcome.ack is None and outcome.nack is not None
    assert (outcome.nack.error_type, outcome.nack.error_message) == ("ValueError", "bad input")
    assert "in broken" in outcome.nack.traceback
    assert not outcome.nack.non_retryable
    assert isinstance(outcome.error, ValueError)


async def test_permanent_error_dead_letters_at_once(pool: ThreadPoolExecutor) -> None:
    async def refuse(j: Job) -> None:
        raise PermanentError("never")

    outcome = await run_handler(handler(refuse), job(), None, pool)

    assert outcome.nack is not None and outcome.nack.non_retryable


async def test_retry_after_asks_for_that_delay(pool: ThreadPoolExecutor) -> None:
    async def later(j: Job) -> None:
        raise RetryAfter(12.5)

    outcome = await run_handler(handler(later), job(), None, pool)

    assert outcome.nack is not None and outcome.nack.HasField("retry_after_s")
    assert outcome.nack.retry_after_s == 12.5


async def test_an_async_handler_past_its_timeout_is_stopped_and_failed(
    pool: ThreadPoolExecutor,
) -> None:
    stopped = asyncio.Event()

    async def hangs(j: Job) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    outcome = await run_handler(handler(hangs), job(), 0.05, pool)

    assert stopped.is_set()
    assert outcome.nack is not None and outcome.nack.error_type == "TimeoutError"
    assert "0.05s timeout" in outcome.nack.error_message
    assert not outcome.nack.non_retryable


async def test_a_sync_handler_past_its_timeout_is_failed_while_its_thread_runs_on(
    pool: ThreadPoolExecutor,
) -> None:
    release = threading.Event()

    def hangs(j: Job) -> None:
        release.wait(10)

    try:
        outcome = await run_handler(handler(hangs), job(), 0.05, pool)
    finally:
        release.set()

    assert outcome.nack is not None and outcome.nack.error_type == "TimeoutError"


async def test_a_result_that_is_not_json_fails_for_good(pool: ThreadPoolExecutor) -> None:
    async def odd(j: Job) -> object:
        return object()

    outcome = await run_handler(handler(odd), job(), None, pool)

    assert outcome.nack is not None and outcome.nack.non_retryable
    assert "not JSON-serialisable" in outcome.nack.error_message


async def test_cancellation_of_the_run_propagates(pool: ThreadPoolExecutor) -> None:
    started = asyncio.Event()

    async def waits(j: Job) -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(run_handler(handler(waits), job(), None, pool))
    await started.wait()
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
