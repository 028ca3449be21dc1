"""Redis connections that pack commands with hiredis' C packer.

redis-py's asyncio client encodes every argument in Python (about 2 µs each); a batch
script call carries hundreds of arguments, so packing dominated the broker's CPU.
hiredis (already installed for parsing) packs the same bytes in C.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import hiredis
import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.connection import Connection, SSLConnection

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class RedisTls:
    """PEM files for a `rediss://` URL: the server's CA (empty: the system's CAs) and a
    client certificate and key for a Redis that requires them (`tls-auth-clients`)."""

    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""


def redis_client(url: str, tls: RedisTls | None = None, **options: Any) -> aioredis.Redis:
    """An asyncio client for `url` (redis://, rediss:// or unix://) with C packing where
    the URL allows it and, for rediss://, the given certificates. `options` go to
    redis-py unchanged."""
    if url.startswith("unix://"):
        # TCP keepalive has no meaning on a unix socket, and redis-py refuses the option.
        options.pop("socket_keepalive", None)
    fast = connection_class_for(url)
    if fast is not None:
        options["connection_class"] = fast
    if tls is not None and url.startswith("rediss://"):
        if tls.ca_file:
            options["ssl_ca_certs"] = tls.ca_file
        if tls.cert_file:
            options["ssl_certfile"] = tls.cert_file
            options["ssl_keyfile"] = tls.key_file or None
    return aioredis.Redis.from_url(url, **options)


async def connect(url: str, attempts: int, tls: RedisTls | None = None) -> aioredis.Redis:
    """A client whose server answered PING, trying `attempts` times with backoff.
    Raises ConnectionError with a clear message when Redis stays unreachable."""
    client = redis_client(
        url,
        tls,
        decode_responses=True,
        health_check_interval=10,
        socket_connect_timeout=2,
        socket_keepalive=True,
        retry_on_timeout=True,
    )
    delay = 0.1
    for attempt in range(1, attempts + 1):
        try:
            await client.ping()
            return client
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            if attempt == attempts:
                await client.aclose()
                raise ConnectionError(
                    f"redis at {url} is unreachable after {attempts} attempts: {exc}"
                ) from None
            log.warning("redis at %s unreachable (attempt %d/%d): %s", url, attempt, attempts, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable")
