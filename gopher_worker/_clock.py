"""The worker's clock: the one place it reads wall time to compare with times the
broker issued (lease deadlines are Unix ms on the broker's clock, so worker and broker
clocks must agree, as NTP keeps them)."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Source of wall-clock time in Unix milliseconds."""

    def now_ms(self) -> int:
        """Current time, Unix epoch milliseconds."""
        ...


class SystemClock:
    """The real clock."""

    def now_ms(self) -> int:
        """Current time, Unix epoch milliseconds."""
        return time.time_ns() // 1_000_000
