"""The dashboard's pages: each reads what it shows through the contract (`Calls`) and
renders one template. Lists are paged by the broker's cursor (`page_token`)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping

from gopher.v1 import admin_service_pb2 as admin_pb
from gopher.v1 import job_service_pb2 as jobs_pb
from starlette.requests import Request
from starlette.responses import Response

from gopher_client import GopherError
from gopher_server.rest._errors import RestError
from gopher_server.store import listing, schema
from gopher_server.ui._app import Dashboard
from gopher_server.ui._calls import Calls
from gopher_server.ui._chart import throughput_chart

Handler = Callable[[Request], Awaitable[Response]]
PageBody = Callable[[Request, Calls], Awaitable[tuple[str, dict[str, object]]]]
PAGE_SIZE = 50
STATES = schema.STATES
PRIORITIES = schema.PRIORITIES


def _searched(shown: int, next_token: str) -> int:
    """How many jobs the broker examined for a page its filter left short, else 0.

    A listing call examines at most `listing.MAX_SCAN` jobs, so that a filter matching
    few of a million jobs still answers at once: a short page that has a next token is
    exactly that many examined. The page says so, and its "next" link searches on.
    """
    return listing.MAX_SCAN if next_token and shown < PAGE_SIZE else 0


def _choice(request: Request, name: str, options: Mapping[str, int]) -> tuple[str, int]:
    word = request.query_params.get(name, "")
    if word and word not in options:
        raise RestError(400, "invalid_argument", f"{name} must be one of {', '.join(options)}")
    return word, options.get(word, 0)


def view(ui: Dashboard, current: str, body: PageBody) -> Handler:
    """A GET page: who is calling (to show only allowed actions), then the page's reads;
    a refusal becomes the login form (401) or an error page."""

    async def handle(request: Request) -> Response:
        started = time.perf_counter()
        calls = ui.calls(request)
        try:
            caller = await calls.rpc(
                "GetCaller", admin_pb.GetCallerRequest(), admin_pb.GetCallerResponse
            )
            template, context = await body(request, calls)
        except (GopherError, RestError) as error:
            return ui.error(request, error)
        can_act = caller.can_admin and not ui.settings.read_only
        values = {"caller": caller, "can_act": can_act, "current": current, **context}
        response = ui.render(request, template, values)
        # The page's own time (reads and rendering), for browser dev tools and the
        # benchmark: what the round trip adds on top is the network and the client.
        elapsed_ms = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"page;dur={elapsed_ms:.1f}"
        return response

    return handle


async def overview(request: Request, calls: Calls) -> tuple[str, dict[str, object]]:
    stats = await calls.rpc(
        "GetQueueStats", admin_pb.GetQueueStatsRequest(), admin_pb.GetQueueStatsResponse
    )
    history = await calls.rpc(
        "GetThroughput", admin_pb.GetThroughputRequest(minutes=60), admin_pb.GetThroughputResponse
    )
    workers = await calls.rpc(
        "ListWorkers", admin_pb.ListWorkersRequest(), admin_pb.ListWorkersResponse
    )
    by_type: dict[str, int] = {}
    for queue in stats.queues:
        for name, depth in queue.depth_by_type.items():
            by_type[name] = by_type.get(name, 0) + depth
    return "overview.html", {
        "stats": stats,
        "by_type": sorted(by_type.items()),
        "oldest_s": max((q.oldest_job_age_s for q in stats.queues), default=0.0),
        "chart": throughput_chart(list(history.minutes)),
        "workers": len(workers.workers),
    }


async def queues(request: Request, calls: Calls) -> tuple[str, dict[str, object]]:
    stats = await calls.rpc(
        "GetQueueStats", admin_pb.GetQueueStatsRequest(), admin_pb.GetQueueStatsResponse
    )
    return "queues.html", {"stats": stats}


async def jobs(request: Request, calls: Calls) -> tuple[str, dict[str, object]]:
    q = request.query_params
    state_word, state = _choice(request, "state", STATES)
    priority_word, priority = _choice(request, "priority", PRIORITIES)
    found = await calls.rpc(
        "ListJobs",
        jobs_pb.ListJobsRequest(
            state=state,  # type: ignore[arg-type]
            type=q.get("type", ""),
            priority=priority,  # type: ignore[arg-type]
            id_prefix=q.get("id", "").strip(),
            page_size=PAGE_SIZE,
            page_token=q.get("page_token", ""),
        ),
        jobs_pb.ListJobsResponse,
    )
    filters = {
        "state": state_word,
        "type": q.get("type", ""),
        "priority": priority_word,
        "id": q.get("id", "").strip(),
    }
    return "jobs.html", {
        "paged": bool(q.get("page_token")),
        "jobs": found.jobs,
        "next_token": found.next_page_token,
        "searched": _searched(len(found.jobs), found.next_page_token),
        "filters": filters,
        "states": list(STATES),
        "priorities": list(PRIORITIES),
    }


async def job_detail(request: Request, calls: Calls) -> tuple[str, dict[str, object]]:
    job_id = request.path_params["job_id"]
    response = await calls.rpc(
        "GetJob", jobs_pb.GetJobRequest(job_id=job_id), jobs_pb.GetJobResponse
    )
    return "job.html", {"job": response.job}


async def dlq(request: Request, calls: Calls) -> tuple[str, dict[str, object]]:
    q = request.query_params
    filters = {"type": q.get("type", ""), "error": q.get("error", "")}
    found = await calls.rpc(
        "ListDeadJobs",
        admin_pb.ListDeadJobsRequest(
            type=filters["type"],
            error_contains=filters["error"],
            page_size=PAGE_SIZE,
            page_token=q.get("page_token", ""),
        ),
        admin_pb.ListDeadJobsResponse,
    )
    stats = await calls.rpc(
        "GetQueueStats", admin_pb.GetQueueStatsRequest(), admin_pb.GetQueueStatsResponse
    )
    return "dlq.html", {
        "paged": bool(q.get("page_token")),
        "jobs": found.jobs,
        "next_token": found.next_page_token,
        "searched": _searched(len(found.jobs), found.next_page_token),
        "filters": filters,
        "dead_total": stats.dead,
    }


async def scheduled(request: Request, calls: Calls) -> tuple[str, dict[str, object]]:
    which = "retrying" if request.query_params.get("state") == "retrying" else "scheduled"
    found = await calls.rpc(
        "ListJobs",
        jobs_pb.ListJobsRequest(
            state=STATES[which],
            page_size=PAGE_SIZE,
            page_token=request.query_params.get("page_token", ""),
        ),
        jobs_pb.ListJobsResponse,
    )
    return "scheduled.html", {
        "paged": bool(request.query_params.get("page_token")),
        "jobs": found.jobs,
        "next_token": found.next_page_token,
        "which": which,
    }


async def workers(request: Request, calls: Calls) -> tuple[str, dict[str, object]]:
    found = await calls.rpc(
        "ListWorkers", admin_pb.ListWorkersRequest(), admin_pb.ListWorkersResponse
    )
    return "workers.html", {"workers": found.workers}


async def schedules(request: Request, calls: Calls) -> tuple[str, dict[str, object]]:
    found = await calls.rpc(
        "ListSchedules", admin_pb.ListSchedulesRequest(), admin_pb.ListSchedulesResponse
    )
    limits = await calls.rpc(
        "ListRateLimits", admin_pb.ListRateLimitsRequest(), admin_pb.ListRateLimitsResponse
    )
    return "schedules.html", {"schedules": found.schedules, "limits": limits.rate_limits}


async def events(request: Request, calls: Calls) -> tuple[str, dict[str, object]]:
    feed = await calls.rpc(
        "ListEvents", admin_pb.ListEventsRequest(limit=100), admin_pb.ListEventsResponse
    )
    return "events.html", {"events": list(reversed(feed.events))}


def routes(ui: Dashboard) -> list[tuple[str, Handler]]:
    """(path, handler) of every page, in navigation order."""
    pages: list[tuple[str, str, PageBody]] = [
        ("/", "overview", overview),
        ("/queues", "queues", queues),
        ("/jobs", "jobs", jobs),
        ("/jobs/{job_id}", "jobs", job_detail),
        ("/dlq", "dlq", dlq),
        ("/scheduled", "scheduled", scheduled),
        ("/workers", "workers", workers),
        ("/schedules", "schedules", schedules),
        ("/events", "events", events),
    ]
    return [(path, view(ui, current, body)) for path, current, body in pages]
