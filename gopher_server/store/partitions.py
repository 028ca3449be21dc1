"""A namespace split into partitions: where each job lives, and the tags that spread
the partitions evenly over a Redis Cluster's masters.

With one partition (the default on a standalone Redis) a namespace is what it always
was: every key under `{<prefix>}`. With P > 1, partition k is a complete mini-namespace
under its own hash tag, and any broker finds a job's partition from its id alone: an id
`p<k>-...` names partition k, any other id lives where it hashes (its cluster slot
modulo P). A new job keeps the id it was given when that is where it goes (most jobs:
they go where their random id hashes); one placed elsewhere (by its idempotency key,
its type's limits, its parent) gets the `p<k>-` prefix. The namespace's own tag,
`{<prefix>}`, stays the control slot: worker registry, schedules, layout. No per-job
write touches it.

Tags are chosen so that partition k's slot falls in the k-th 1/P of the slot range:
with Redis's even slot allocation (what `redis-cli --cluster create` does) every
master then holds P/S partitions, instead of the 5/4/7 a naive `p0..p15` gives on 3.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.crc import key_slot

from gopher_server.store.keys import Keys

SLOTS = 16384
# Divides evenly over 1, 2, 3, 4, 6 and 12 masters.
DEFAULT_CLUSTER_PARTITIONS = 12
MAX_PARTITIONS = 256
# Most suffixes tried per partition; the largest needed for P <= 256 is far below it.
_SEARCH = 100_000


def slot_of(tag_name: str) -> int:
    """The cluster slot of a hash tag's text (what `{tag_name}` in a key hashes to)."""
    return int(key_slot(tag_name.encode()))


def balanced_tag(prefix: str, index: int, count: int) -> str:
    """The first tag `<prefix>:p<index>:<n>` whose slot falls in the index-th 1/count
    of the slot range (deterministic: every broker computes the same tags)."""
    low, high = index * SLOTS // count, (index + 1) * SLOTS // count
    for n in range(_SEARCH):
        name = f"{prefix}:p{index}:{n}"
        if low <= slot_of(name) < high:
            return name
    raise RuntimeError(f"no tag for partition {index} of {count} in {_SEARCH} tries")


@dataclass(frozen=True)
class Layout:
    """How one namespace is partitioned: `count` partitions of prefix `prefix`."""

    prefix: str = "gopher"
    count: int = 1
    tags: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_PARTITIONS:
            raise ValueError(f"partitions must be between 1 and {MAX_PARTITIONS}, got {self.count}")
        if not self.tags:
            tags = (
                (self.prefix,)
                if self.count == 1
                else tuple(balanced_tag(self.prefix, k, self.count) for k in range(self.count))
            )
            object.__setattr__(self, "tags", tags)

    @property
    def control(self) -> Keys:
        """Keys of the control slot (with one partition, also the only partition)."""
        return Keys(self.prefix)

    def keys_of(self, index: int) -> Keys:
        """Keys of partition `index`."""
        if self.count == 1:
            return Keys(self.prefix)
        return Keys(self.prefix, tag_name=self.tags[index])

    def job_id(self, index: int, raw_id: str) -> str:
        """The id of a new job placed in partition `index`: `raw_id` itself when it
        already belongs there."""
        if self.partition_of(raw_id) == index:
            return raw_id
        return f"p{index}-{raw_id}"

    def partition_of(self, job_id: str) -> int | None:
        """The partition an id belongs to; None for an id no partition can hold (a
        prefix naming a partition the namespace does not have)."""
        if self.count == 1:
            return 0
        head, dash, _ = job_id.partition("-")
        if dash and head[:1] == "p" and head[1:].isdigit():
            index = int(head[1:])
            return index if index < self.count else None
        return slot_of(job_id) % self.count

    def key_partition(self, text: str) -> int:
        """The partition a name hashes to (an idempotency key, a limited type's home):
        the same text always lands in the same partition."""
        return slot_of(text) % self.count if self.count > 1 else 0
