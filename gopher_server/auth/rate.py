"""Per-token request rate limit on submits: a token bucket per caller identity."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

# The authenticated caller of the current call ("anonymous" with auth off), set by the
# auth interceptor: a stream handler rate-limits each message under this identity.
caller: ContextVar[str] = ContextVar("gopher_caller", default="anonymous")


@dataclass
class _Bucket:
    tokens: float
    updated_s: float


class SubmitRateLimiter:
    """Allows `rate_per_s` calls per second per identity, with bursts up to `burst`.

    Identities are token names (or "anonymous" with auth off), so memory stays bounded
    by the token table. Each broker counts on its own: behind N brokers a caller may
    reach N times the rate (docs/security.md).
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        self.rate_per_s = rate_per_s
        self.burst = float(burst or max(1.0, rate_per_s))
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, identity: str) -> float:
        """Spend one call of `identity`'s allowance: 0.0 when allowed, else the seconds
        until the next call would be (nothing is spent then)."""
        now = self._clock()
        bucket = self._buckets.get(identity)
        if bucket is None:
            bucket = self._buckets[identity] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated_s) * self.rate_per_s)
        bucket.updated_s = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate_per_s
