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

    def __init__(
        self,
        protocol: RedisProtocol,
        on_message: Callable[[str, str], None],
        sharded: bool = False,
    ) -> None:
        self._protocol = protocol
        self._on_message = on_message
        self._pending: set[str] = set()
        self._confirmed = asyncio.Event()
        # Sharded pub/sub (Redis Cluster): SSUBSCRIBE one channel per command (a
        # command's channels must share a slot), and a `sunsubscribe` this side did not
        # ask for means the slot moved away: the connection is dropped and the caller
        # subscribes again where the slot now lives.
        self._sharded = sharded
        self._prefix = "s" if sharded else ""
        self._leaving: set[str] = set()
        protocol.on_push = self._push

    @classmethod
    async def open(
        cls,
        target: RedisTarget,
        channels: Iterable[str],
        on_message: Callable[[str, str], None],
        sharded: bool = False,
    ) -> Subscriber:
        """Connect and subscribe; returns once Redis confirmed every subscription, so
        nothing published afterwards is missed."""
        protocol = await target.open()
        subscriber = cls(protocol, on_message, sharded)
        try:
            subscriber._pending = set(channels)
            if sharded:
                for channel in subscriber._pending:
                    protocol.write(_pack("SSUBSCRIBE", channel))
            else:
                protocol.write(_pack("SUBSCRIBE", *subscriber._pending))
            await asyncio.wait_for(subscriber._confirmed.wait(), target.connect_timeout)
        except BaseException:
            protocol.close()
            raise
        return subscriber

    def _push(self, reply: Any) -> None:
        kind = reply[0]
        if kind == "message" or kind == "smessage":
            self._on_message(reply[1], reply[2])
        elif kind == "subscribe" or kind == "ssubscribe":
            self._pending.discard(reply[1])
            if not self._pending:
                self._confirmed.set()
        elif kind == "sunsubscribe":
            if reply[1] in self._leaving:
                self._leaving.discard(reply[1])
            else:
                self._protocol.close()  # the slot moved: subscribe again at its owner
        # 'unsubscribe' confirmations and PING replies need nothing: any data received
        # already counts as a sign of life.

    def subscribe(self, channel: str) -> None:
        """Add a channel; its messages arrive once Redis has processed the command."""
        self._protocol.write(_pack(self._prefix + "SUBSCRIBE", channel))

    def unsubscribe(self, channel: str) -> None:
        """Drop a channel."""
        if self._sharded:
            self._leaving.add(channel)
        self._protocol.write(_pack(self._prefix + "UNSUBSCRIBE", channel))

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
