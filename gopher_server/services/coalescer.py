"""Group commit for single submits: SubmitJob calls that arrive while a write is in
flight share the next script call, so a busy broker pays one Redis round trip per
batch instead of per job. An idle broker writes at once (no added latency)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from gopher_server.errors import GopherServerError
from gopher_server.store.records import NewJob, SubmitResult
from gopher_server.store.store import Store

# Largest group written by one script call.
MAX_GROUP = 500


class SubmitCoalescer:
    """Writes jobs through `store.submit`, coalescing concurrent callers."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending: list[tuple[NewJob, asyncio.Future[SubmitResult]]] = []
        self._writing = False
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, job: NewJob) -> SubmitResult:
        """Write one job (atomically, as its own unit) and return its result."""
        future: asyncio.Future[SubmitResult] = asyncio.get_running_loop().create_future()
        self._pending.append((job, future))
        if not self._writing:
            self._writing = True
            # Keep a reference: the loop holds tasks only weakly.
            self._drainer = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                group, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
                with contextlib.suppress(Exception):  # already handed to the callers
                    await self._write(group)
        finally:
            self._writing = False

    async def _write(self, group: Sequence[tuple[NewJob, asyncio.Future[SubmitResult]]]) -> None:
        try:
            results = await self.store.submit([job for job, _ in group])
        except GopherServerError as error:
            if len(group) == 1:
                _settle(group[0][1], error=error)
                return
            # One job's problem (e.g. a new type over the cap) must not fail the
            # others: write them one by one so each caller gets its own answer.
            for item in group:
                await self._write([item])
            return
        except BaseException as error:  # Redis down, cancellation: everyone learns it
            for _, future in group:
                _settle(future, error=error)
            raise
        for (_, future), result in zip(group, results, strict=True):
            _settle(future, result=result)


def _settle(
    future: asyncio.Future[SubmitResult],
    result: SubmitResult | None = None,
    error: BaseException | None = None,
) -> None:
    if future.done():  # the caller went away
        return
    if error is not None:
        future.set_exception(error)
    else:
        assert result is not None
        future.set_result(result)
