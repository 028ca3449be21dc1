"""Where work may be: a broker's picture of which partitions have ready jobs of which
types, so a stream dispatches only into partitions that may have something for it
instead of polling every shard.

Hints are set by the scripts' "w <type>" announcements on each partition's channel,
by this broker's own submits, and by the periodic summary (components/hints.py) that
reads each partition's ready-type sets; they are cleared for the types a dispatch
found nothing of. At start, and after the pub/sub connection was lost, every partition
is "unknown": it may hold anything, until a dispatch or a summary says otherwise.
A wrong hint costs one script call; a missing one costs at most a summary interval.
"""

from __future__ import annotations

import random
from collections.abc import Iterable


class Hints:
    """Per partition: types that may have ready work, or "anything but these"."""

    def __init__(self, partitions: int) -> None:
        self.partitions = partitions
        self._types: list[set[str]] = [set() for _ in range(partitions)]
        # Unknown partitions: any type may have work except those in _empty.
        self._unknown = [True] * partitions
        self._empty: list[set[str]] = [set() for _ in range(partitions)]
        self._lap: list[int] = []  # the starts left in this lap (candidates())

    def mark(self, partition: int, job_type: str) -> None:
        """Partition `partition` may have ready jobs of `job_type`."""
        self._types[partition].add(job_type)
        self._empty[partition].discard(job_type)

    def unknown(self, partition: int) -> None:
        """Something in `partition` may have made jobs of any type ready (a promotion,
        a recovered lease, a retry, follow-ups): this broker's own calls say so at
        once, before the announcement comes back over pub/sub."""
        self._empty[partition].clear()
        self._unknown[partition] = True

    def mark_all(self) -> None:
        """Forget everything known: any partition may have anything (messages were lost)."""
        for k in range(self.partitions):
            self._types[k].clear()
            self._empty[k].clear()
            self._unknown[k] = True

    def drained(self, partition: int, job_types: Iterable[str]) -> None:
        """A dispatch into `partition` found no more ready jobs of these types."""
        types = set(job_types)
        self._types[partition] -= types
        if self._unknown[partition]:
            self._empty[partition] |= types

    def add(self, partition: int, ready_types: Iterable[str]) -> set[str]:
        """A summary read these types' ready sets in `partition`; return the types that
        were not hinted there (their streams should look)."""
        new = {t for t in ready_types if not self.may_have(partition, (t,))}
        for job_type in new:
            self.mark(partition, job_type)
        return new

    def may_have(self, partition: int, job_types: Iterable[str]) -> bool:
        """Whether `partition` may hold ready work of any of `job_types`."""
        types = self._types[partition]
        if self._unknown[partition]:
            empty = self._empty[partition]
            return any(t in types or t not in empty for t in job_types)
        return any(t in types for t in job_types)

    def candidates(self, job_types: Iterable[str]) -> list[int]:
        """Partitions that may have work of these types, starting at the next one of a
        random lap over the partitions: every partition starts exactly once per lap,
        so dispatches drain them evenly, and in an order drawn afresh each lap, so no
        caller lands on the same few. A plain rotation failed that: a broker's
        dispatches come in cycles (a worker's refills and wake-ups, the other
        workers'), and a counter stepping 3 per cycle over 6 partitions started each
        caller at only two of them, which drained twice as fast and bent the weighted
        priorities of the namespace (a counter per worker aliased as well; a random
        start per call drained unevenly by chance)."""
        wanted = list(job_types)
        if not self._lap:
            self._lap = random.sample(range(self.partitions), self.partitions)
        start = self._lap.pop()
        order = [(start + i) % self.partitions for i in range(self.partitions)]
        return [k for k in order if self.may_have(k, wanted)]
