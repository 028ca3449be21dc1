"""Exceptions a handler raises to steer what happens to its job.

Exception
 ├── PermanentError   the job cannot succeed: straight to the dead letter queue
 └── RetryAfter       retry after exactly `delay_s` seconds (if retries remain)

Any other exception is an ordinary failure, retried with exponential backoff.
"""

from __future__ import annotations


class PermanentError(Exception):
    """Raise from a handler to dead-letter the job at once, whatever retries remain."""


class RetryAfter(Exception):
    """Raise from a handler to retry after `delay_s` seconds instead of the backoff."""

    def __init__(self, delay_s: float, message: str = "") -> None:
        super().__init__(message or f"retry requested in {delay_s:g}s")
        self.delay_s = delay_s
