"""The worker's Prometheus metrics, served on `--metrics-port`."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gopher_worker._hooks import JobHook
from gopher_worker._job import Job

DURATION_BUCKETS = (
    0.001,
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
    900,
)
MAX_TYPE_LABELS = 200
OVERFLOW_LABEL = "_other"


class _SlotCollector(Collector):
    def __init__(
        self, busy: Callable[[], int], capacity: int, connected: Callable[[], bool]
    ) -> None:
        self._busy = busy
        self._capacity = capacity
        self._connected = connected

    def collect(self) -> Iterator[GaugeMetricFamily]:
        busy = self._busy()
        slots = GaugeMetricFamily("gopher_worker_slots", "Job slots by state", labels=["state"])
        slots.add_metric(["busy"], busy)
        slots.add_metric(["idle"], max(0, self._capacity - busy))
        yield slots
        yield GaugeMetricFamily(
            "gopher_worker_utilization", "Busy slots / capacity", value=busy / self._capacity
        )
        yield GaugeMetricFamily(
            "gopher_worker_connected",
            "1 while the delivery stream is open",
            value=int(self._connected()),
        )


class WorkerMetrics(JobHook):
    """Counts outcomes and handler time per job type (types past the label cap are
    reported as OVERFLOW_LABEL)."""

    def __init__(
        self, busy: Callable[[], int], capacity: int, connected: Callable[[], bool]
    ) -> None:
        self.registry = CollectorRegistry()
        self._types: set[str] = set()
        self.completed = Counter(
            "gopher_jobs_completed",
            "Runs on this worker by outcome",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "gopher_job_duration_seconds",
            "Handler time",
            ["type"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.dropped = Counter(
            "gopher_worker_deliveries_dropped",
            "Deliveries dropped before their handler started, by reason (expired: the lease "
            "ran out first; cancelled: the job was cancelled first)",
            ["reason"],
            registry=self.registry,
        )
        self.registry.register(_SlotCollector(busy, capacity, connected))

    def label(self, job_type: str) -> str:
        """The bounded label value for a job type."""
        if job_type in self._types or len(self._types) < MAX_TYPE_LABELS:
            self._types.add(job_type)
            return job_type
        return OVERFLOW_LABEL

    def on_finish(
        self, job: Job, outcome: str, duration_s: float, error: BaseException | None
    ) -> None:
        label = self.label(job.type)
        self.completed.labels(label, outcome).inc()
        if outcome != "handed_back":
            self.duration.labels(label).observe(duration_s)
