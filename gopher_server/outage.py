"""Quiet logs through a Redis outage: one WARNING per component when Redis goes away,
one INFO when it is back, instead of a traceback per failed attempt."""

from __future__ import annotations

import logging

import redis.exceptions

log = logging.getLogger(__name__)

# What a call to an unreachable (or restarting) Redis raises. BusyLoadingError (Redis
# is loading its data after a restart) is a ConnectionError; TimeoutError an OSError.
REDIS_DOWN: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OSError,
)


class RedisOutage:
    """The outage state of one component, as its log lines show it.

    `lost()` on every failed Redis call and `back()` on every call that worked: only
    the first of each per outage logs, so a component that retries every 100 ms says
    twice what happened, not fifty times.
    """

    def __init__(self, component: str, logger: logging.Logger = log) -> None:
        self.component = component
        self.down = False
        self._log = logger

    def lost(self, exc: BaseException) -> None:
        """A Redis call failed because Redis is unreachable."""
        if not self.down:
            self.down = True
            self._log.warning(
                "%s: redis unavailable (%s); retrying until it is back", self.component, exc
            )

    def back(self) -> None:
        """A Redis call worked (cheap when Redis never went away)."""
        if self.down:
            self.down = False
            self._log.info("%s: redis is back", self.component)
