"""The trace a submitted job joins when its request names none.

A job's handler span is a child of the context stored with the job. Clients that set
`trace_context` choose it; for every other client (REST, grpcurl, another language's
SDK) the broker stores the context of the call itself, so the handler's span lands in
the submitter's trace whoever submits.
"""

from __future__ import annotations

from typing import Any

import grpc
import orjson

from gopher_client._tracing import inject

# W3C trace context headers, as gRPC metadata keys (lower case).
W3C_KEYS = ("traceparent", "tracestate")
# Larger call contexts are not stored (the same bound as a request's trace_context).
MAX_CALL_TRACE_BYTES = 4096


def call_trace(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    """The parent for jobs of this call that name none, as stored JSON ('' = none).

    With tracing on in the broker it is the call's own server span (itself a child of
    the caller's `traceparent`, when sent); with tracing off, the caller's W3C
    `traceparent`/`tracestate` metadata as sent.
    """
    carrier = inject()  # one context lookup when tracing is off
    if not carrier:
        metadata = context.invocation_metadata() or ()
        carrier = {k: v for k, v in metadata if k in W3C_KEYS and isinstance(v, str)}
        if "traceparent" not in carrier:
            return ""
    stored = orjson.dumps(carrier).decode()
    return stored if len(stored) <= MAX_CALL_TRACE_BYTES else ""


def stream_trace(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    """The parent for a stream's jobs that name none: the caller's W3C metadata sent
    when the stream opened ('' = none). Never the broker's span of the stream itself,
    which outlives every job on it."""
    metadata = context.invocation_metadata() or ()
    carrier = {k: v for k, v in metadata if k in W3C_KEYS and isinstance(v, str)}
    if "traceparent" not in carrier:
        return ""
    stored = orjson.dumps(carrier).decode()
    return stored if len(stored) <= MAX_CALL_TRACE_BYTES else ""
