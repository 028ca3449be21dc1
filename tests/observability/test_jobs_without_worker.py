"""gopher_jobs_without_worker: ready jobs per type that no live worker handles."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from gopher_client import Client
from tests.support import BrokerThread, wait_until, worker_stream


def without_worker(broker: BrokerThread) -> dict[str, float]:
    text = httpx.get(f"{broker.http_url}/metrics").text
    return {
        s.labels["type"]: s.value
        for family in text_string_to_metric_families(text)
        if family.name == "gopher_jobs_without_worker"
        for s in family.samples
    }


def test_gauge_counts_ready_jobs_whose_type_has_no_live_worker(
    broker_factory: Callable[..., BrokerThread],
) -> None:
    broker = broker_factory(http_port=0, stats_interval_s=0.05, type_refresh_s=0.05)
    with Client(broker.address) as client:
        client.pause_queue("normal")  # jobs stay ready, so the counts are exact
        with worker_stream(broker.address, "w1", [], types=("email",)):
            for job_type in ("orphan", "orphan", "orphan", "email", "email"):
                client.submit_job(job_type, {})
            expected = {"orphan": 3.0, "email": 0.0}
            wait_until(lambda: without_worker(broker) == expected, 10, f"gauge at {expected}")
        # The email worker left: its type is known, but its two jobs now wait for one.
        expected = {"orphan": 3.0, "email": 2.0}
        wait_until(lambda: without_worker(broker) == expected, 10, f"gauge at {expected}")
