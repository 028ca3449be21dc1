"""Injectable time. Queue logic reads time only through a Clock so tests can move it."""

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
