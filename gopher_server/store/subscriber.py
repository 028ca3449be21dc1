"""The hub's pub/sub connection, parsed with hiredis as the bytes arrive.

Every submit, ack batch and cancel publishes a control message, and every broker reads
each one. Through redis-py's PubSub a message costs a read task, a timeout and several
layers of Python, which measured as more broker CPU per SubmitJob than the whole
handler. Here data_received parses the bytes and routes each message on the spot.

Only plain TCP is handled (see RedisTarget); other URLs keep redis-py (store/pubsub.py).
A connection that stops answering is noticed by PINGs when it has been quiet.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from typing import Any

import hiredis

from gopher_server.store.autopipe import RedisProtocol, RedisTarget

# A quiet connection is PINGed this often; one that stays quiet as long again is
# dropped (and the hub reconnects and wakes every stream).
PING_EVERY_S = 10.0


def _pack(*args: Any) -> bytes:
    return hiredis.pack_command(args)


class Subscriber:
    """A subscribed connection delivering each message to `on_message(channel, data)`."""

    def __init__(self, protocol: RedisProtocol, on_message: Callable[[str, str], None]) -> None:
        self._protocol = protocol
        self._on_message = on_message
        self._pending: set[str] = set()
        self._confirmed = asyncio.Event()
        protocol.on_push = self._push

    @classmethod
    async def open(
        cls,
        target: RedisTarget,
        channels: Iterable[str],
        on_message: Callable[[str, str], None],
    ) -> Subscriber:
        """Connect and subscribe; returns once Redis confirmed every subscription, so
        nothing published afterwards is missed."""
        protocol = await target.open()
        subscriber = cls(protocol, on_message)
        try:
            subscriber._pending = set(channels)
            protocol.write(_pack("SUBSCRIBE", *subscriber._pending))
            await asyncio.wait_for(subscriber._confirmed.wait(), target.connect_timeout)
        except BaseException:
            protocol.close()
            raise
        return subscriber

    def _push(self, reply: Any) -> None:
        kind = reply[0]
        if kind == "message":
            self._on_message(reply[1], reply[2])
        elif kind == "subscribe":
            self._pending.discard(reply[1])
            if not self._pending:
                self._confirmed.set()
        # 'unsubscribe' confirmations and PING replies need nothing: any data received
        # already counts as a sign of life.

    def subscribe(self, channel: str) -> None:
        """Add a channel; its messages arrive once Redis has processed the command."""
        self._protocol.write(_pack("SUBSCRIBE", channel))

    def unsubscribe(self, channel: str) -> None:
        """Drop a channel."""
        self._protocol.write(_pack("UNSUBSCRIBE", channel))

    async def until_lost(self, ping_every_s: float = PING_EVERY_S) -> None:
        """Return when the connection is lost, or closed for not answering PINGs."""
        protocol = self._protocol
        while not protocol.closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(protocol.lost.wait(), ping_every_s)
                return
            quiet_s = time.monotonic() - protocol.last_data
            if quiet_s >= 2 * ping_every_s:
                protocol.close()  # no answer to the last PING: presume it dead
                return
            if quiet_s >= ping_every_s:
                protocol.write(_pack("PING"))

    def close(self) -> None:
        """Close the connection."""
        self._protocol.close()
