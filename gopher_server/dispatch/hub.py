"""The broker's one pub/sub connection: cross-replica wake-ups and job watches.

Every state change that can let a stream make progress is announced by the Lua
scripts on the control channel (grammar: store/schema.py CONTROL_KINDS): "w <type>"
(new ready work), "s <worker>" (a slot freed, possibly by an ack on another broker),
"c <worker> <job>" (cancel a running job), "k <worker> <state>" (an operator quieted,
stopped or resumed the worker; see store/worker_control.py). The hub routes each to
the local streams it concerns. Job channels carry state changes for WatchJob. After a
reconnect every stream is woken, since messages sent while disconnected are lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence

import redis.exceptions

from gopher_server.dispatch.session import StreamSession
from gopher_server.outage import RedisOutage
from gopher_server.store import worker_control
from gopher_server.store.keys import Keys
from gopher_server.store.pubsub import PubSubLike
from gopher_server.store.schema import CANCEL, SLOT, TYPES, WAKE, WORKER_CONTROL, parse_control
from gopher_server.store.store import Store

log = logging.getLogger(__name__)

_RECONNECT_MAX_S = 2.0


class Hub:
    """Routes control messages to local stream sessions and job events to watchers."""

    def __init__(
        self,
        pubsub: PubSubLike,
        keys: Keys,
        *,
        partition_channels: Sequence[str] = (),
        job_channel: Callable[[str], str] | None = None,
        on_work: Callable[[int, str], None] | None = None,
        on_live: Callable[[], None] | None = None,
    ) -> None:
        self._pubsub = pubsub
        self._keys = keys
        self._ctl = keys.control_channel()
        # Control channels: the namespace's own, then each partition's ("w <type>" on
        # partition k's channel means new work there: `on_work(k, type)`).
        self._partition_of = {ch: k for k, ch in enumerate(partition_channels)}
        self._control = {self._ctl, *partition_channels}
        self._job_channel = job_channel or keys.job_channel
        self._on_work = on_work
        self._on_live = on_live
        self._by_type: dict[str, set[StreamSession]] = defaultdict(set)
        self._by_worker: dict[str, set[StreamSession]] = defaultdict(set)
        self._watchers: dict[str, set[asyncio.Queue[str]]] = defaultdict(set)
        self._delay = 0.05
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._outage = RedisOutage("pub/sub", log)
        self._type_listeners: list[Callable[[str], None]] = []
        self.connected = asyncio.Event()

    @classmethod
    def for_store(cls, store: Store) -> Hub:
        """The hub of a store's namespace: its control channel and, with several
        partitions, every partition's, with new work noted in the store's hints."""
        channels = [] if store.single else [part.ctl for part in store.parts]
        return cls(
            store.pubsub(),
            store.keys,
            partition_channels=channels,
            job_channel=store.job_channel,
            on_work=store.hints.mark,
            on_live=store.hints.mark_all,
        )

    # -- sessions -------------------------------------------------------------------
    def add(self, session: StreamSession) -> None:
        """Route wake-ups for the session's types and worker to it."""
        for job_type in session.job_types:
            self._by_type[job_type].add(session)
        self._by_worker[session.worker_id].add(session)

    def remove(self, session: StreamSession) -> None:
        """Stop routing to a closed session."""
        for job_type in session.job_types:
            self._by_type[job_type].discard(session)
            if not self._by_type[job_type]:
                del self._by_type[job_type]
        self._by_worker[session.worker_id].discard(session)
        if not self._by_worker[session.worker_id]:
            del self._by_worker[session.worker_id]

    def sessions(self) -> list[StreamSession]:
        """Every open session on this broker."""
        return list({s for group in self._by_worker.values() for s in group})

    def wake_all(self) -> None:
        """Wake every local session (shutdown, reconnect)."""
        for session in self.sessions():
            session.wake.set()

    def wake_type(self, job_type: str) -> bool:
        """Wake the local sessions that handle a job type (new ready work); True when
        one of them was waiting. The same wake-up also arrives over pub/sub; waking
        here first saves that round trip."""
        woke = False
        for session in self._by_type.get(job_type, ()):
            if not session.wake.is_set():
                session.wake.set()
                woke = True
        return woke

    def waiting_session(self, job_type: str) -> StreamSession | None:
        """A local stream of this job type parked with free slots, now marked busy so
        the next caller picks another one; None when there is none."""
        for session in self._by_type.get(job_type, ()):
            if session.waiting and session.takes_jobs and not session.wake.is_set():
                session.waiting = False
                return session
        return None

    def stream_of(self, worker_id: str) -> StreamSession | None:
        """One local stream of this worker that takes jobs (not quiet or stopping), or
        None."""
        for session in self._by_worker.get(worker_id, ()):
            if session.takes_jobs:
                return session
        return None

    def control_worker(self, worker_id: str, state: str) -> None:
        """Tell the local streams of a worker its new desired state (quiet, stopping,
        running); the same change also arrives over pub/sub."""
        for session in self._by_worker.get(worker_id, ()):
            if session.control != state:
                session.set_control(state)

    def wake_workers(self, worker_ids: Sequence[str]) -> None:
        """Wake the local sessions of these workers (their slots freed)."""
        for worker_id in worker_ids:
            self.wake_worker(worker_id)

    def wake_worker(self, worker_id: str) -> None:
        """Wake the local sessions of one worker (a slot freed)."""
        for session in self._by_worker.get(worker_id, ()):
            session.wake.set()

    def on_types_registered(self, listener: Callable[[str], None]) -> None:
        """Call `listener(worker_id)` whenever a worker, on any broker, registered its
        job types and their defaults."""
        self._type_listeners.append(listener)

    # -- watches ------------------------------------------------------------------------
    async def watch(self, job_id: str) -> asyncio.Queue[str]:
        """Subscribe to a job's state changes; each new state word arrives on the queue."""
        queue: asyncio.Queue[str] = asyncio.Queue()
        channel = self._job_channel(job_id)
        first = not self._watchers[channel]
        self._watchers[channel].add(queue)
        if first:
            await self._pubsub.subscribe(channel)
        return queue

    async def unwatch(self, job_id: str, queue: asyncio.Queue[str]) -> None:
        """End a watch started by `watch`."""
        channel = self._job_channel(job_id)
        self._watchers[channel].discard(queue)
        if not self._watchers[channel]:
            del self._watchers[channel]
            await self._pubsub.unsubscribe(channel)

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Subscribe and start routing; returns once the first subscription is live."""
        self._task = asyncio.create_task(self._run(), name="gopher-hub")
        await asyncio.wait_for(self.connected.wait(), timeout=10)

    async def stop(self) -> None:
        """Stop routing and close the connection. Safe before start and twice."""
        self._stopping = True
        task, self._task = self._task, None
        # Cancel until it ends: redis-py can swallow a cancellation (see components/base).
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.5)

    async def _run(self) -> None:
        self._delay = 0.05
        while not self._stopping:
            try:
                channels = [*sorted(self._control), *self._watchers]
                await self._pubsub.serve(channels, self._route, self._live)
            except asyncio.CancelledError:
                raise
            except (
                redis.exceptions.ConnectionError,
                redis.exceptions.TimeoutError,
                OSError,
            ) as exc:
                if self._stopping:
                    return
                self._outage.lost(exc)
                self.connected.clear()
            await asyncio.sleep(self._delay)
            self._delay = min(self._delay * 2, _RECONNECT_MAX_S)

    def _live(self) -> None:
        """Just (re)subscribed: messages sent while away are lost, so wake everyone."""
        if self._on_live is not None:
            self._on_live()  # hints of new work may have been missed too
        self.connected.set()
        self.wake_all()
        self._delay = 0.05
        self._outage.back()

    def _route(self, channel: str, data: str) -> None:
        if channel not in self._control:
            for queue in self._watchers.get(channel, ()):
                queue.put_nowait(data)
            return
        message = parse_control(data)
        if message is None:
            return
        kind, args = message.kind, message.args
        if kind == WAKE:
            partition = self._partition_of.get(channel)
            if partition is not None and self._on_work is not None:
                self._on_work(partition, args[0])
            for session in self._by_type.get(args[0], ()):
                session.wake.set()
        elif kind == SLOT:
            self.wake_worker(args[0])
        elif kind == TYPES:
            for listener in self._type_listeners:
                listener(args[0])
        elif kind == WORKER_CONTROL:
            change = worker_control.parse(*args)
            if change is not None:
                self.control_worker(*change)
        elif kind == CANCEL:
            worker_id, job_id = args
            for session in self._by_worker.get(worker_id, ()):
                session.cancelled_jobs.append(job_id)
                session.wake.set()
