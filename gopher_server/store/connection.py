"""Redis connections that pack commands with hiredis' C packer.

redis-py's asyncio client encodes every argument in Python (about 2 µs each); a batch
script call carries hundreds of arguments, so packing dominated the broker's CPU.
hiredis (already installed for parsing) packs the same bytes in C.
"""

from __future__ import annotations

from typing import Any

import hiredis
from redis.asyncio.connection import Connection, SSLConnection


class _FastPack:
    def pack_command(self, *args: Any) -> list[bytes]:
        # Same contract as redis-py: a first argument like "CONFIG GET" is split.
        head = args[0]
        if (isinstance(head, str) and " " in head) or (isinstance(head, bytes) and b" " in head):
            args = (*head.split(), *args[1:])
        return [hiredis.pack_command(args)]


class FastPackConnection(_FastPack, Connection):
    """TCP connection with C packing."""


class FastPackSSLConnection(_FastPack, SSLConnection):
    """TLS connection with C packing."""


def connection_class_for(url: str) -> type[Connection] | None:
    """The fast connection class for a redis:// or rediss:// URL (None: keep redis-py's
    choice, e.g. for unix sockets)."""
    if url.startswith("rediss://"):
        return FastPackSSLConnection
    if url.startswith("redis://"):
        return FastPackConnection
    return None
