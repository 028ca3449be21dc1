"""OpenTelemetry glue shared by clients, workers and the broker.

Tracing is off unless configured through the standard environment
(OTEL_TRACES_EXPORTER=otlp|console, or OTEL_EXPORTER_OTLP[_TRACES]_ENDPOINT); when off,
nothing is exported and `inject()` costs one context lookup.
"""

from __future__ import annotations

import logging
import os

from opentelemetry import propagate, trace
from opentelemetry.context import Context

log = logging.getLogger(__name__)
_configured = False


def inject() -> dict[str, str]:
    """The current trace context as W3C headers, or {} when no span is active."""
    if not trace.get_current_span().get_span_context().is_valid:
        return {}
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract(carrier: dict[str, str]) -> Context:
    """A context whose parent is the span described by `carrier` (empty: none)."""
    return propagate.extract(carrier)


def tracing_enabled() -> bool:
    """True when the OTEL_* environment asks for traces to be exported."""
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    return bool(exporter or endpoint)


def configure_tracing(service_name: str) -> bool:
    """Install a global tracer provider and gRPC instrumentation if the environment
    asks for it; return whether tracing is on. Safe to call more than once."""
    global _configured
    if _configured or not tracing_enabled():
        return _configured
    from opentelemetry.instrumentation.grpc import (
        GrpcAioInstrumentorClient,
        GrpcAioInstrumentorServer,
        GrpcInstrumentorClient,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    exporter: SpanExporter
    if os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "console":
        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    name = os.environ.get("OTEL_SERVICE_NAME", service_name)
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    GrpcInstrumentorClient().instrument()
    GrpcAioInstrumentorClient().instrument()
    GrpcAioInstrumentorServer().instrument()
    _configured = True
    log.info("tracing on: exporting spans as service %s", name)
    return True
