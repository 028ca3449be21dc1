"""Handlers of the worker process in tests/observability/test_trace_links.py."""

from __future__ import annotations

from gopher_worker import Job, Registry

registry = Registry()


@registry.handler("trace.head")
async def head(job: Job) -> None:
    return None


@registry.handler("trace.next")
async def follow_up(job: Job) -> None:
    return None
