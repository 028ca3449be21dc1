"""Form posts of the dashboard: login, logout and the operator actions.

Every post passes the same-origin check first (`Dashboard.form`), then the read-only
switch, then the broker's own role check (the call carries the user's token). After an
action the browser is sent back (303) to the page it came from, with a message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from google.protobuf.message import Message
from gopher.v1 import admin_service_pb2 as admin_pb
from gopher.v1 import job_pb2
from gopher.v1 import worker_service_pb2 as worker_pb
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gopher_client import GopherError
from gopher_server.rest._errors import RestError
from gopher_server.store import schema
from gopher_server.ui._app import SESSION_COOKIE, Dashboard
from gopher_server.ui._calls import Calls

Handler = Callable[[Request], Awaitable[Response]]
Form = dict[str, list[str]]
PRIORITIES = schema.PRIORITIES


def _one(form: Form, name: str) -> str:
    values = form.get(name) or [""]
    return values[0].strip()


def _priority(form: Form) -> job_pb2.Priority:
    word = _one(form, "priority")
    if word not in PRIORITIES:
        raise RestError(400, "invalid_argument", "priority must be high, normal or low")
    return PRIORITIES[word]


def _number(form: Form, name: str) -> float:
    try:
        return float(_one(form, name) or "0")
    except ValueError:
        raise RestError(400, "invalid_argument", f"{name} must be a number") from None


async def _pause(calls: Calls, form: Form) -> str:
    await calls.rpc(
        "PauseQueue",
        admin_pb.PauseQueueRequest(priority=_priority(form)),
        admin_pb.PauseQueueResponse,
    )
    return f"paused {_one(form, 'priority')}"


async def _resume(calls: Calls, form: Form) -> str:
    await calls.rpc(
        "ResumeQueue",
        admin_pb.ResumeQueueRequest(priority=_priority(form)),
        admin_pb.ResumeQueueResponse,
    )
    return f"resumed {_one(form, 'priority')}"


async def _cancel(calls: Calls, form: Form) -> str:
    ids = form.get("job_id", [])
    response = await calls.rpc(
        "CancelJobs", admin_pb.CancelJobsRequest(job_ids=ids), admin_pb.CancelJobsResponse
    )
    return f"cancelled {response.cancelled} job(s)"


async def _run_now(calls: Calls, form: Form) -> str:
    job_id = _one(form, "job_id")
    await calls.rpc(
        "RunJobNow", admin_pb.RunJobNowRequest(job_id=job_id), admin_pb.RunJobNowResponse
    )
    return f"job {job_id} is enqueued"


def _dlq_selection(form: Form) -> tuple[list[str], str, str]:
    """(ids, type, error text): the checked ids, or the filter when "all matching"."""
    if _one(form, "scope") == "matching":
        return [], _one(form, "type"), _one(form, "error")
    ids = form.get("job_id", [])
    if not ids:
        raise RestError(400, "invalid_argument", "select at least one dead job")
    return ids, "", ""


async def _requeue(calls: Calls, form: Form) -> str:
    ids, job_type, error = _dlq_selection(form)
    request = admin_pb.RequeueDeadJobsRequest(
        job_ids=ids, type=job_type, error_contains=error, all=not (ids or job_type or error)
    )
    response = await calls.rpc("RequeueDeadJobs", request, admin_pb.RequeueDeadJobsResponse)
    return f"requeued {response.requeued} job(s)"


async def _purge(calls: Calls, form: Form) -> str:
    ids, job_type, error = _dlq_selection(form)
    request = admin_pb.PurgeDeadJobsRequest(job_ids=ids, type=job_type, error_contains=error)
    response = await calls.rpc("PurgeDeadJobs", request, admin_pb.PurgeDeadJobsResponse)
    return f"purged {response.purged} dead job(s)"


async def _schedule(
    calls: Calls, form: Form, rpc: str, request: Message, response: type[Message]
) -> str:
    await calls.rpc(rpc, request, response)
    return f"{rpc.removesuffix('Schedule').lower()}d schedule {_one(form, 'name')}"


async def _pause_schedule(calls: Calls, form: Form) -> str:
    request = admin_pb.PauseScheduleRequest(name=_one(form, "name"))
    return await _schedule(calls, form, "PauseSchedule", request, admin_pb.PauseScheduleResponse)


async def _resume_schedule(calls: Calls, form: Form) -> str:
    request = admin_pb.ResumeScheduleRequest(name=_one(form, "name"))
    return await _schedule(calls, form, "ResumeSchedule", request, admin_pb.ResumeScheduleResponse)


async def _trigger_schedule(calls: Calls, form: Form) -> str:
    request = admin_pb.TriggerScheduleRequest(name=_one(form, "name"))
    response = await calls.rpc("TriggerSchedule", request, admin_pb.TriggerScheduleResponse)
    return f"triggered schedule {_one(form, 'name')}: job {response.job_id}"


async def _set_limit(calls: Calls, form: Form) -> str:
    request = admin_pb.SetRateLimitRequest(
        type=_one(form, "type"),
        rate_per_s=_number(form, "rate_per_s"),
        burst=int(_number(form, "burst")),
        max_concurrency=int(_number(form, "max_concurrency")),
    )
    await calls.rpc("SetRateLimit", request, admin_pb.SetRateLimitResponse)
    return f"set the limits of {request.type}"


async def _delete_limit(calls: Calls, form: Form) -> str:
    request = admin_pb.DeleteRateLimitRequest(type=_one(form, "type"))
    await calls.rpc("DeleteRateLimit", request, admin_pb.DeleteRateLimitResponse)
    return f"deleted the limits of {request.type}"


async def _control_worker(calls: Calls, form: Form, action: int) -> str:
    worker_id = _one(form, "worker_id")
    request = admin_pb.ControlWorkerRequest(worker_id=worker_id, action=action)  # type: ignore[arg-type]
    response = await calls.rpc("ControlWorker", request, admin_pb.ControlWorkerResponse)
    state = admin_pb.WorkerState.Name(response.state).removeprefix("WORKER_STATE_").lower()
    later = "" if response.connected else " (it is told when it connects)"
    return f"worker {worker_id} is {state}{later}"


async def _quiet_worker(calls: Calls, form: Form) -> str:
    return await _control_worker(calls, form, worker_pb.WORKER_CONTROL_ACTION_QUIET)


async def _stop_worker(calls: Calls, form: Form) -> str:
    return await _control_worker(calls, form, worker_pb.WORKER_CONTROL_ACTION_STOP)


async def _resume_worker(calls: Calls, form: Form) -> str:
    return await _control_worker(calls, form, worker_pb.WORKER_CONTROL_ACTION_RESUME)


ACTIONS: dict[str, Callable[[Calls, Form], Awaitable[str]]] = {
    "pause-queue": _pause,
    "resume-queue": _resume,
    "cancel": _cancel,
    "run-now": _run_now,
    "requeue": _requeue,
    "purge": _purge,
    "pause-schedule": _pause_schedule,
    "resume-schedule": _resume_schedule,
    "trigger-schedule": _trigger_schedule,
    "set-rate-limit": _set_limit,
    "delete-rate-limit": _delete_limit,
    "quiet-worker": _quiet_worker,
    "stop-worker": _stop_worker,
    "resume-worker": _resume_worker,
}
# Actions that destroy data or end a process ask for a confirmation page first (works
# without script).
CONFIRM = frozenset({"purge", "stop-worker"})


def _safe_next(ui: Dashboard, request: Request, form: Form) -> str:
    """The form's `next` if it is a path of the dashboard itself (never an open
    redirect, never a `javascript:` link), else the overview."""
    base = ui.base(request)
    target = _one(form, "next")
    if not target.startswith(base + "/") or "//" in target[len(base) :] or "\\" in target:
        return base + "/"
    return target


def _back(ui: Dashboard, request: Request, form: Form, message: str) -> Response:
    target = _safe_next(ui, request, form)
    joiner = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{joiner}msg={quote(message)}", status_code=303)


def act(ui: Dashboard) -> Handler:
    """POST /ui/actions/{action}."""

    async def handle(request: Request) -> Response:
        try:
            form = await ui.form(request)
            if ui.settings.read_only:
                raise RestError(403, "read_only", "the dashboard is read-only (--ui-read-only)")
            action = ACTIONS.get(request.path_params["action"])
            if action is None:
                raise RestError(404, "not_found", "no such action")
            name = request.path_params["action"]
            if name in CONFIRM and _one(form, "confirmed") != "yes":
                back = _safe_next(ui, request, form)
                values = {"action": name, "form": form, "back": back}
                return ui.render(request, "confirm.html", values)
            message = await action(ui.calls(request), form)
        except (GopherError, RestError) as error:
            return ui.error(request, error)
        return _back(ui, request, form, message)

    return handle


def login_form(ui: Dashboard) -> Handler:
    """GET /ui/login."""

    async def handle(request: Request) -> Response:
        return ui.render(request, "login.html", {"current": "login", "error": ""})

    return handle


def login(ui: Dashboard) -> Handler:
    """POST /ui/login: check the token with the broker, then keep it in a cookie that
    script cannot read (HttpOnly) and no other site's request carries (SameSite=Strict)."""

    async def handle(request: Request) -> Response:
        try:
            form = await ui.form(request)
        except RestError as error:
            return ui.error(request, error)
        token = _one(form, "token")
        calls = Calls(ui.invoker, f"Bearer {token}")
        try:
            await calls.rpc("GetCaller", admin_pb.GetCallerRequest(), admin_pb.GetCallerResponse)
        except (GopherError, RestError):
            values = {"current": "login", "error": "that token is not valid"}
            return ui.render(request, "login.html", values, 401)
        response = RedirectResponse(f"{ui.base(request)}/", status_code=303)
        secure = (
            request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
        )
        response.set_cookie(
            SESSION_COOKIE,
            token,
            path=f"{ui.base(request)}/",
            httponly=True,
            samesite="strict",
            secure=secure,
        )
        return response

    return handle


def logout(ui: Dashboard) -> Handler:
    """POST /ui/logout: forget the session cookie."""

    async def handle(request: Request) -> Response:
        try:
            await ui.form(request)
        except RestError as error:
            return ui.error(request, error)
        response = RedirectResponse(f"{ui.base(request)}/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=f"{ui.base(request)}/")
        return response

    return handle
