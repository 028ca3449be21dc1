"""Tracing hook: each run is a span whose parent is the submitter's span, so one trace
shows submit -> handler -> follow-up jobs (submitted from inside the handler)."""

from __future__ import annotations

import contextlib
from typing import Any

from opentelemetry import context, trace
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider

from gopher_client._tracing import extract
from gopher_worker._hooks import FAILED, JobHook
from gopher_worker._job import Job


class TracingHook(JobHook):
    """Opens a consumer span per run under the job's stored trace context."""

    def __init__(self, provider: TracerProvider | None = None) -> None:
        self._tracer = trace.get_tracer("gopher.worker", tracer_provider=provider)
        self._open: dict[str, tuple[Any, Any]] = {}

    def on_start(self, job: Job) -> None:
        span = self._tracer.start_span(
            f"gopher.job {job.type}",
            context=extract(job.trace_context),
            kind=SpanKind.CONSUMER,
            attributes={
                "gopher.job.id": job.id,
                "gopher.job.type": job.type,
                "gopher.job.attempt": job.attempt,
            },
        )
        token = context.attach(trace.set_span_in_context(span))
        self._open[job.id] = (span, token)

    def on_finish(
        self, job: Job, outcome: str, duration_s: float, error: BaseException | None
    ) -> None:
        opened = self._open.pop(job.id, None)
        if opened is None:
            return
        span, token = opened
        span.set_attribute("gopher.job.outcome", outcome)
        if outcome == FAILED:
            span.set_status(Status(StatusCode.ERROR, str(error) if error else outcome))
            if error is not None:
                span.record_exception(error)
        span.end()
        # Detach only works from the context that attached; runs that end elsewhere
        # (handed back on drain) leave nothing behind once their task is gone.
        with contextlib.suppress(ValueError):
            context.detach(token)
