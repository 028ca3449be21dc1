"""Global limits over partitions: permits lent by a limited type's home partition.

A type with a rate limit or concurrency cap keeps its limits, token bucket and active
count in its home partition (`Layout.key_partition(type)`), where its new jobs go, so
dispatch there is exact as on one server. Its jobs in other partitions (queued before
the limit was set, placed by an idempotency key while it was unlimited, follow-ups of
a parent elsewhere) see only a copy of the limit marked "g": they are leased only
under permits the home lends for one dispatch call (lua/permit.lua):

    acquire (home) -> dispatch with grants (partition k) -> settle (home)

and a lease that ends gives its permit back (release); an extended lease extends it.
A broker that dies between the steps leaves reservations or holders that lapse at
their deadline: the cap is under-used for a while, never exceeded. The one way past
the cap is a lease extended in its partition whose permit extension never reached
the home: it can run past its permit's deadline (docs/scaling.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from gopher_server.store.records import Lease

# How long a reservation holds before it is settled; the calls in between are two.
RESERVATION_MS = 10_000
# How long a permit outlives its lease's deadline (the recoverer's pass and clock skew).
GRACE_MS = 1_000

Run = Callable[..., Awaitable[Any]]


def marked(limit_json: str) -> str:
    """The copy of a limit stored outside the type's home: the same values, marked so
    dispatch there leases only under lent permits."""
    return limit_json[:-1] + ',"g":1}' if limit_json.endswith("}") else limit_json


def holder(partition: int, job_id: str) -> str:
    """A permit holder's name: the job, and the partition it lives in."""
    return f"{partition}:{job_id}"


def grants_text(grants: dict[str, int]) -> str:
    """Grants as the dispatch script reads them: 'type=n,...'."""
    return ",".join(f"{t}={n}" for t, n in grants.items() if n > 0)


class Permits:
    """The permit calls of one store; `run(part, *values)` runs the permit script in a
    partition (Store._run bound to "permit")."""

    def __init__(self, run: Callable[[int, tuple[Any, ...]], Awaitable[Any]]) -> None:
        self._run = run

    async def acquire(self, home: int, job_type: str, want: int) -> tuple[str, int, int]:
        """(reservation id, permits lent, wait ms when none now)."""
        rid = uuid.uuid4().hex[:12]
        granted, wait_ms = await self._run(
            home, ("acquire", job_type, want, rid, RESERVATION_MS, ())
        )
        return rid, int(granted), int(wait_ms)

    async def settle(
        self,
        home: int,
        job_type: str,
        rid: str,
        granted: int,
        partition: int,
        leases: Sequence[Lease],
    ) -> None:
        """Turn a reservation into the leases it let through (the rest goes back)."""
        holders = tuple((holder(partition, x.job_id), x.deadline_ms + GRACE_MS) for x in leases)
        await self._run(home, ("settle", job_type, granted, rid, 0, holders))

    async def release(self, home: int, job_type: str, holders: Iterable[str]) -> None:
        """Give back the permits of leases that ended."""
        entries = tuple((h, 0) for h in holders)
        if entries:
            await self._run(home, ("release", job_type, 0, "", 0, entries))

    async def extend(self, home: int, job_type: str, holders: Iterable[tuple[str, int]]) -> None:
        """Push out the permits of extended leases to their new deadlines."""
        entries = tuple((h, deadline + GRACE_MS) for h, deadline in holders)
        if entries:
            await self._run(home, ("extend", job_type, 0, "", 0, entries))
