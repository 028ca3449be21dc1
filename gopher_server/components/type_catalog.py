"""The broker's in-process picture of job types: defaults in force, live workers, and
which types any worker ever registered.

Submits read it on the hot path with plain dict lookups, so applying defaults and
flagging unknown types cost no Redis round trip. It is updated at once when a stream
opens on this broker, re-read from Redis when any broker announces a registration
(the `t` control message), and rebuilt every `interval_s` as the safety net that also
notices workers that went away.

Rule when live workers of a type disagree: the defaults of the worker whose current
stream opened last win (a rolling deploy's new version takes over as it connects). A
live worker that registered no defaults for the type does not cancel another's.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from gopher_server.components.base import PeriodicComponent
from gopher_server.outage import REDIS_DOWN
from gopher_server.store import job_types
from gopher_server.store.job_types import LiveWorker, TypeDefaults
from gopher_server.store.records import NewJob
from gopher_server.store.store import Store


@dataclass(frozen=True)
class TypeView:
    """One snapshot: effective defaults and live workers per type, and the types any
    worker ever registered."""

    defaults: dict[str, TypeDefaults] = field(default_factory=dict)
    workers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    known: frozenset[str] = frozenset()


def build_view(live: list[LiveWorker], known: set[str]) -> TypeView:
    """Combine live workers into per-type defaults (latest stream wins) and workers."""
    defaults: dict[str, TypeDefaults] = {}
    workers: dict[str, list[str]] = {}
    for worker in sorted(live, key=lambda w: (w.connected_ms, w.worker_id)):
        for job_type in worker.job_types:
            workers.setdefault(job_type, []).append(worker.worker_id)
        defaults.update(worker.defaults)  # later streams overwrite earlier ones
    return TypeView(
        defaults=defaults,
        workers={t: tuple(sorted(ids)) for t, ids in workers.items()},
        known=frozenset(known) | frozenset(workers),
    )


class TypeCatalog(PeriodicComponent):
    """Keeps `view` fresh. `refresh()` once before serving, then `start()`."""

    name = "type-catalog"

    def __init__(self, store: Store, alive_within_ms: int, interval_s: float = 1.0) -> None:
        super().__init__(interval_s)
        self.store = store
        self.alive_within_ms = alive_within_ms
        self.view = TypeView()
        self._live: dict[str, LiveWorker] = {}
        self._known: set[str] = set()
        # Streams opened here, numbered: a refresh whose reads began before one opened
        # may have missed it in Redis, and must not drop it from the view.
        self._opens = 0
        self._opened: dict[str, tuple[int, LiveWorker]] = {}
        self._soon: asyncio.Task[None] | None = None  # a refresh asked for by refresh_soon
        self._again = False
        # Refreshes may overlap (the periodic one and an announced one): each is
        # numbered when it starts reading, and one that started before the last one
        # applied is dropped rather than put an older picture back.
        self._reads = 0
        self._applied = 0

    async def refresh(self) -> None:
        """Rebuild the view from Redis (keeping streams that opened meanwhile)."""
        began = self._opens
        self._reads += 1
        read = self._reads
        live = {
            w.worker_id: w for w in await job_types.live_workers(self.store, self.alive_within_ms)
        }
        known = await job_types.registered_types(self.store)
        if read < self._applied:
            return
        self._applied = read
        # Those opened before the reads began were registered in Redis before them
        # (stream_opened comes after the registration), so the reads saw them.
        self._opened = {w: entry for w, entry in self._opened.items() if entry[0] > began}
        for worker_id, (_, worker) in self._opened.items():
            live[worker_id] = worker
            known |= set(worker.job_types)
        self._live = live
        self._known = known
        self.view = build_view(list(live.values()), known)

    def stream_opened(
        self, worker_id: str, types: list[str], defaults: dict[str, TypeDefaults]
    ) -> None:
        """A stream of `worker_id` opened on this broker (and is registered in Redis):
        take its defaults at once instead of at the next refresh."""
        now = self.store.clock.now_ms()
        worker = LiveWorker(worker_id, tuple(types), defaults, now)
        self._opens += 1
        self._opened[worker_id] = (self._opens, worker)
        self._live[worker_id] = worker
        self._known |= set(types)
        self.view = build_view(list(self._live.values()), self._known)

    def refresh_soon(self, worker_id: str = "") -> None:
        """A worker registered its types (on this broker or another, heard over pub/sub):
        re-read Redis now instead of at the next tick. Announcements that arrive while a
        read is under way make one more read, not one each."""
        if self._soon is not None and not self._soon.done():
            self._again = True
            return
        self._soon = asyncio.get_running_loop().create_task(self._refresh_while_asked())

    async def _refresh_while_asked(self) -> None:
        while True:
            self._again = False
            try:
                await self.refresh()
            except REDIS_DOWN:
                return  # the periodic tick keeps trying and logs the outage
            if not self._again:
                return

    async def stop(self) -> None:
        """Stop the periodic refresh and any refresh asked for."""
        soon, self._soon = self._soon, None
        if soon is not None:
            soon.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await soon
        await super().stop()

    async def _tick(self) -> bool:
        await self.refresh()
        return False


def job_tree_types(job: NewJob) -> set[str]:
    """The types of a job and of all its follow-ups."""
    found = {job.type}
    for follow_up in (*job.on_success, *job.on_failure):
        found |= job_tree_types(follow_up)
    return found


def unknown_type_warnings(view: TypeView, job_types: set[str]) -> list[str]:
    """One warning per type no worker ever registered, sorted: such jobs are accepted
    and wait, but the submitter may have mistyped the name."""
    return [
        f"no worker has registered job type {t!r}: its jobs wait until a worker for it connects"
        for t in sorted(job_types - view.known)
    ]
