"""The broker's Prometheus metrics, one registry per broker process.

Queue depths are read from Redis by a background refresher every few seconds and
served from that snapshot, so a scrape never costs Redis calls per series.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gopher_server.observability.labels import TypeLabels
from gopher_server.store.records import Stats

# Wait and gRPC latency buckets, seconds: sub-millisecond dispatch up to minutes queued.
WAIT_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
    300,
)
RPC_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
OUTCOMES = ("succeeded", "failed", "retried", "dead", "cancelled")


class QueueCollector(Collector):
    """Serves the latest queue snapshot (set by the refresher) as gauges."""

    def __init__(self, labels: TypeLabels) -> None:
        self.snapshot: Stats | None = None
        self._labels = labels
        # Job types with a live worker now (the broker's type catalog); None: unknown,
        # so gopher_jobs_without_worker is not served.
        self.live_types: Callable[[], Collection[str]] | None = None

    def _without_worker(self, stats: Stats) -> GaugeMetricFamily:
        """Ready jobs per type that no live worker handles, from the same snapshot as
        the depths (ready list lengths): cheap, and consistent with gopher_queue_depth.
        Types whose jobs have a worker report 0, so a series drops back instead of
        going stale."""
        family = GaugeMetricFamily(
            "gopher_jobs_without_worker",
            "Ready jobs of a type that no live worker handles (they wait for one)",
            labels=["type"],
        )
        if self.live_types is None:
            return family
        live = self.live_types()
        per_label: dict[str, int] = {}
        for queue in stats.queues:
            for job_type, count in queue.by_type.items():
                label = self._labels(job_type)
                per_label[label] = per_label.get(label, 0) + (0 if job_type in live else count)
        for label, count in sorted(per_label.items()):
            family.add_metric([label], count)
        return family

    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = self.snapshot
        depth = GaugeMetricFamily(
            "gopher_queue_depth",
            "Ready jobs per priority and job type",
            labels=["priority", "type"],
        )
        oldest = GaugeMetricFamily(
            "gopher_queue_oldest_job_age_seconds",
            "Age of the oldest ready job",
            labels=["priority"],
        )
        dlq = GaugeMetricFamily("gopher_dlq_size", "Jobs in the dead letter queue")
        sets = GaugeMetricFamily("gopher_jobs", "Jobs per non-ready state", labels=["state"])
        if stats is not None:
            for queue in stats.queues:
                per_label: dict[str, int] = {}
                for job_type, count in queue.by_type.items():
                    label = self._labels(job_type)
                    per_label[label] = per_label.get(label, 0) + count
                for label, count in sorted(per_label.items()):
                    depth.add_metric([queue.priority, label], count)
                oldest.add_metric([queue.priority], queue.oldest_age_ms / 1000)
            dlq.add_metric([], stats.dead)
            for state, count in (
                ("scheduled", stats.scheduled),
                ("retrying", stats.retrying),
                ("active", stats.active),
                ("dead", stats.dead),
                ("finished", stats.finished),
            ):
                sets.add_metric([state], count)
            yield self._without_worker(stats)
        yield from (depth, oldest, dlq, sets)


class BrokerMetrics:
    """Every broker metric, registered in `registry`."""

    def __init__(self, version: str, max_type_labels: int = 200) -> None:
        self.registry = CollectorRegistry()
        self.type_label = TypeLabels(max_type_labels)
        r = self.registry
        self.submitted = Counter(
            "gopher_jobs_submitted",
            "Jobs created by submits (duplicates excluded)",
            ["type", "priority"],
            registry=r,
        )
        self.completed = Counter(
            "gopher_jobs_completed",
            "Attempt outcomes: succeeded, failed (then retried or dead), cancelled",
            ["type", "outcome"],
            registry=r,
        )
        self.dispatched = Counter(
            "gopher_jobs_dispatched", "Deliveries to workers", ["type"], registry=r
        )
        self.wait = Histogram(
            "gopher_job_wait_seconds",
            "Time from ready to delivery",
            ["type", "priority"],
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.leases_expired = Counter(
            "gopher_leases_expired", "Leases that expired before the worker answered", registry=r
        )
        self.leases_released = Counter(
            "gopher_leases_released", "Leases released because a worker stream closed", registry=r
        )
        self.rate_limited = Counter(
            "gopher_rate_limited",
            "Times a type with ready work was held back by its limits",
            ["type"],
            registry=r,
        )
        self.streams = Gauge(
            "gopher_worker_streams", "Worker streams open on this broker", registry=r
        )
        self.rpc_requests = Counter(
            "gopher_grpc_requests", "gRPC calls handled", ["method", "code"], registry=r
        )
        self.rpc_latency = Histogram(
            "gopher_grpc_latency_seconds",
            "gRPC call duration (streams: until the stream ends)",
            ["method"],
            buckets=RPC_BUCKETS,
            registry=r,
        )
        Info("gopher_build", "Gopher build information", registry=r).info({"version": version})
        self.queues = QueueCollector(self.type_label)
        r.register(self.queues)

    def outcome(self, job_type: str, outcome: str, count: int = 1) -> None:
        """Count `count` attempt outcomes of a type."""
        self.completed.labels(self.type_label(job_type), outcome).inc(count)
