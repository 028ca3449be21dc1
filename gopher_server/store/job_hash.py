"""How a job hash is laid out in Redis beyond one field per value, and reading it back.

Two layout choices save memory per queued job (declared in store/schema.py; the Lua
side is lua/_job.lua, see `prio_of`, `retries_of` and `split_payload`):

- 'prio' is left out when it is "normal", 'retries' when it is 3 (UNSTORED).
- A payload longer than Redis' `hash-max-listpack-value` is split into chunks of at
  most that many bytes ('payload', 'p2', 'p3', ... and the count 'pn'), so the hash
  keeps the compact listpack encoding instead of turning into a hashtable.

`schema.decode_job` turns a raw HGETALL reply back into a typed record, so nothing
above the store sees either choice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from gopher_server.store import schema
from gopher_server.store._text import text

log = logging.getLogger(__name__)

# The layout itself (field names, what is left out, the chunk names) is declared in
# store/schema.py; these names stay for the store's own readers and tests.
UNSTORED = schema.UNSTORED
CHUNK_COUNT_FIELD = schema.CHUNK_COUNT_FIELD
chunk_field = schema.chunk_field
job_fields = schema.joined_fields

# Redis' own defaults, assumed when its configuration cannot be read (CONFIG is often
# refused by ACLs or managed services).
LISTPACK_VALUE_BYTES_DEFAULT = 64
LISTPACK_ENTRIES_DEFAULT = 128
# Room left in hash-max-listpack-entries for a job's other fields (about 30 exist, and
# its history's: a count and an entry per transition, a few for most jobs).
OTHER_FIELDS_MAX = 40
# Most chunks per payload: past ~1 KiB the hashtable's fixed overhead is small next to
# the payload, while a long listpack makes every field lookup a longer linear scan.
PAYLOAD_CHUNKS_MAX = 16
# A smaller chunk size would spend more on field names than it saves.
CHUNK_BYTES_MIN = 16


@dataclass(frozen=True)
class PayloadChunking:
    """How the store splits payloads: chunks of at most `chunk_bytes`, at most
    `max_chunks` of them (fewer than 2 turns chunking off)."""

    chunk_bytes: int = LISTPACK_VALUE_BYTES_DEFAULT
    max_chunks: int = PAYLOAD_CHUNKS_MAX

    @classmethod
    def for_limits(cls, value_bytes: int, entries: int) -> PayloadChunking:
        """Chunking that fits Redis' hash-max-listpack-value and -entries settings."""
        if value_bytes < CHUNK_BYTES_MIN:
            return cls(max(value_bytes, 1), 0)
        return cls(value_bytes, max(0, min(PAYLOAD_CHUNKS_MAX, entries - OTHER_FIELDS_MAX)))


def _config_int(config: dict[Any, Any], names: tuple[str, ...], default: int) -> int:
    for name in names:
        value = config.get(name)
        if value not in (None, ""):
            return int(text(value))
    return default


async def read_chunking(redis: Redis) -> PayloadChunking:
    """Payload chunking for the server's hash encoding limits, read with CONFIG GET
    (Redis 7 names them hash-max-listpack-*, older servers hash-max-ziplist-*). When
    the configuration cannot be read, Redis' defaults are assumed."""
    try:
        config = await redis.config_get("hash-max-*")
        value = _config_int(
            config,
            ("hash-max-listpack-value", "hash-max-ziplist-value"),
            LISTPACK_VALUE_BYTES_DEFAULT,
        )
        entries = _config_int(
            config,
            ("hash-max-listpack-entries", "hash-max-ziplist-entries"),
            LISTPACK_ENTRIES_DEFAULT,
        )
    except Exception as exc:  # refused by an ACL, renamed command, odd reply: defaults
        log.info("cannot read Redis' hash encoding limits (%s); assuming the defaults", exc)
        return PayloadChunking()
    return PayloadChunking.for_limits(value, entries)
