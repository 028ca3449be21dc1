"""Bounded label values. Job types are the only open label; past a cap, new types are
reported under one overflow value so a flood of distinct types cannot explode the
number of series Prometheus must keep."""

from __future__ import annotations

OVERFLOW_LABEL = "_other"
DEFAULT_MAX_TYPES = 200


class TypeLabels:
    """Maps job types to label values: the first `max_types` distinct types as
    themselves, every later one as OVERFLOW_LABEL."""

    def __init__(self, max_types: int = DEFAULT_MAX_TYPES) -> None:
        self.max_types = max_types
        self._known: set[str] = set()

    def __call__(self, job_type: str) -> str:
        if job_type in self._known:
            return job_type
        if len(self._known) < self.max_types:
            self._known.add(job_type)
            return job_type
        return OVERFLOW_LABEL
