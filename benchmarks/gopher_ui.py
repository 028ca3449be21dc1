"""The `ui` scenario: the dashboard's server time with a large queue and a large DLQ.

The namespace is filled through the contract only, as users fill it: queued jobs by
SubmitJobs batches (several types, all three priorities), dead and retrying jobs by a
protocol-level worker (StreamJobs + NackJobs, see `benchmarks.ui_fill`), scheduled jobs
by SubmitJobs with a run time a day out. Then every page and live-refresh fragment of
`/ui` is fetched several times over loopback from this process, one keep-alive HTTP
connection, and the round trip of each is the page's server time. The page's own
time (its `Server-Timing` header: reads and rendering in the broker) is kept too, so
a slow round trip on a busy machine shows whether the page or the machine was slow.
"""

from __future__ import annotations

import asyncio
import http.client
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from benchmarks import procs, ui_fill
from benchmarks.config import Sizes
from benchmarks.gopher_stack import GopherStack, StackSettings
from benchmarks.procs import RedisServer
from benchmarks.stats import percentile
from gopher_client import Client
from gopher_server.store.listing import page_token_at

BUDGET_MS = 300.0  # the dashboard's goal: every page answers within this
_NEXT = re.compile(r'rel="next" href="[^"?]*\?([^"]*)"')
_ROW = re.compile(r"data-job=")
_TIMING = re.compile(r"page;dur=([0-9.]+)")


@dataclass(frozen=True)
class Page:
    """One timed request: a label for the report, the path and query under /ui, whether
    it is a live-refresh fetch (htmx sends HX-Request), and the fewest job rows it must
    show (a page that answers fast but empty measures nothing)."""

    label: str
    path: str
    min_rows: int = 0
    fragment: bool = False


class Browser:
    """One keep-alive HTTP/1.1 connection to the broker's HTTP port."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(self, path: str, fragment: bool = False) -> tuple[float, float, int, str]:
        """(round trip ms, the page's own Server-Timing ms, status, body) of GET `path`."""
        headers = {"HX-Request": "true"} if fragment else {}
        started = time.perf_counter()
        self.conn.request("GET", path, headers=headers)
        response = self.conn.getresponse()
        body = response.read().decode("utf-8", "replace")
        took = (time.perf_counter() - started) * 1000
        timing = _TIMING.search(response.getheader("Server-Timing") or "")
        return took, float(timing.group(1)) if timing else float("nan"), response.status, body

    def close(self) -> None:
        self.conn.close()


def _query(path: str, **params: str) -> str:
    return f"{path}?{urlencode(params)}" if params else path


def pages(browser: Browser, facts: ui_fill.Filled) -> list[Page]:
    """Every page and fragment of the dashboard, with filters and deep pages."""
    queued_type, dead_type = facts.queued_types[0], facts.dead_types[0]
    one_list = {"state": "enqueued", "type": queued_type, "priority": "normal"}
    deep_list = page_token_at(0, facts.per_list // 2)  # the middle of one ready list
    deep_dlq = page_token_at(0, facts.dead // 2)  # the middle of the DLQ
    out = [
        Page("overview", "/ui/"),
        Page("overview (refresh)", "/ui/", fragment=True),
        Page("queues", "/ui/queues"),
        Page("queues (refresh)", "/ui/queues", fragment=True),
        Page("jobs", "/ui/jobs", min_rows=50),
        Page("jobs state=enqueued", _query("/ui/jobs", state="enqueued"), 50),
        Page("jobs state=dead", _query("/ui/jobs", state="dead"), 50),
        Page("jobs state=scheduled", _query("/ui/jobs", state="scheduled"), 50),
        Page("jobs state=retrying", _query("/ui/jobs", state="retrying"), 50),
        Page("jobs state=succeeded", _query("/ui/jobs", state="succeeded"), 1),
        Page("jobs type", _query("/ui/jobs", type=queued_type), 50),
        Page("jobs priority=high", _query("/ui/jobs", priority="high"), 50),
        Page("jobs type (of dead jobs only)", _query("/ui/jobs", type=dead_type)),
        Page(
            "jobs state=scheduled+type",
            _query("/ui/jobs", state="scheduled", type=queued_type),
            50,
        ),
        Page("jobs state=dead+priority=low", _query("/ui/jobs", state="dead", priority="low"), 50),
        Page("jobs state+type+priority", _query("/ui/jobs", **one_list), 50),
        Page(
            "jobs deep page (middle of a list)",
            _query("/ui/jobs", **one_list, page_token=deep_list),
            50,
        ),
        Page("jobs id prefix (4 chars)", _query("/ui/jobs", id=facts.sample_queued[:4]), 1),
        Page("jobs id (whole)", _query("/ui/jobs", id=facts.sample_queued), 1),
        Page("job detail (queued)", f"/ui/jobs/{facts.sample_queued}"),
        Page("job detail (dead)", f"/ui/jobs/{facts.sample_dead}"),
        Page("dlq", "/ui/dlq", 50),
        Page("dlq deep page (middle)", _query("/ui/dlq", page_token=deep_dlq), 50),
        Page("dlq type", _query("/ui/dlq", type=dead_type), 50),
        Page("dlq error (common)", _query("/ui/dlq", error=ui_fill.COMMON_ERROR), 50),
        Page("dlq error (rare)", _query("/ui/dlq", error=ui_fill.RARE_ERROR)),
        Page("dlq error (no match)", _query("/ui/dlq", error="no such error text")),
        Page("dlq type+error", _query("/ui/dlq", type=dead_type, error=ui_fill.COMMON_ERROR)),
        Page("scheduled", "/ui/scheduled", 50),
        Page("scheduled retrying", _query("/ui/scheduled", state="retrying"), 50),
        Page("workers", "/ui/workers"),
        Page("workers (refresh)", "/ui/workers", fragment=True),
        Page("schedules", "/ui/schedules"),
        Page("events", "/ui/events"),
        Page("events (refresh)", "/ui/events", fragment=True),
    ]
    # Pages 2 and 3 of the unfiltered list and of the DLQ, by the pager's own links.
    for label, first in (("jobs", "/ui/jobs"), ("dlq", "/ui/dlq")):
        path = first
        for number in (2, 3):
            _, _, _, body = browser.get(path)
            found = _NEXT.search(body)
            if not found:
                raise RuntimeError(f"{path} has no next-page link")
            path = f"{first}?{found.group(1).replace('&amp;', '&')}"
            out.append(Page(f"{label} page {number} (pager link)", path, 50))
    return out


def time_pages(browser: Browser, todo: list[Page], rounds: int) -> list[dict[str, Any]]:
    """Each page `rounds` times after one untimed warm-up; p50 and max per page."""
    rows = []
    for item in todo:
        samples: list[float] = []
        inside: list[float] = []
        for i in range(rounds + 1):
            ms, page_ms, status, body = browser.get(item.path, item.fragment)
            if status != 200:
                raise RuntimeError(f"{item.path} answered {status}: {body[:200]}")
            shown = len(_ROW.findall(body))
            if shown < item.min_rows:
                raise RuntimeError(f"{item.path} shows {shown} jobs, expected >= {item.min_rows}")
            if i:
                samples.append(ms)
                inside.append(page_ms)
        p50, worst = percentile(samples, 50), max(samples)
        rows.append(
            {
                "page": item.label,
                "path": item.path,
                "rows": shown,
                "p50_ms": round(p50, 1),
                "max_ms": round(worst, 1),
                "page_p50_ms": round(percentile(inside, 50), 1),
                "page_max_ms": round(max(inside), 1),
                "over_budget": worst > BUDGET_MS,
            }
        )
    return rows


def ui(redis: RedisServer, sizes: Sizes, settings: StackSettings) -> dict[str, Any]:
    """Fill, then time every dashboard page; see the module docstring."""
    redis.flush()
    http_port = procs.free_port()
    flags = [*settings.server_flags, "--http-port", str(http_port)]
    stack_settings = StackSettings(workers=0, server_flags=flags)
    with GopherStack(redis.url, stack_settings, "ui") as stack:
        procs.wait_port(http_port, 20, stack.broker)
        facts = asyncio.run(ui_fill.fill(stack.address, sizes))
        used = redis.used_memory()
        with Client(stack.address) as client:
            stats = client.queue_stats()
        browser = Browser(http_port)
        try:
            rows = time_pages(browser, pages(browser, facts), sizes.ui_rounds)
        finally:
            browser.close()
        stack.check_alive()
    queued = sum(q.depth for q in stats.queues)
    return {
        "ui_queued_jobs": queued,
        "ui_dead_jobs": stats.dead,
        "ui_scheduled_jobs": stats.scheduled,
        "ui_retrying_jobs": stats.retrying,
        "ui_succeeded_jobs": stats.finished,
        "ui_fill_s": facts.fill_s,
        "ui_fill_dead_s": facts.dead_fill_s,
        "ui_fill_queued_s": facts.queued_fill_s,
        "ui_redis_used_mb": round(used / 2**20),
        "ui_rounds": sizes.ui_rounds,
        "ui_worst_ms": max(r["max_ms"] for r in rows),
        "ui_pages_over_budget": sum(r["over_budget"] for r in rows),
        "ui_pages": rows,
    }
