"""AdminService RPCs that dashboards need: throughput history, who the caller is, bulk
cancel and run-now. Mixed into `AdminService`, which owns the store and settings."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from gopher.v1 import admin_service_pb2 as pb
from gopher.v1 import job_pb2

from gopher_server.auth.tokens import ROLES, TokenTable, bearer_token
from gopher_server.convert import STATE_WORDS, STATES
from gopher_server.errors import InvalidArgument, NotFound, WrongState
from gopher_server.status import unary
from gopher_server.store import listing, throughput
from gopher_server.store.schema import FINAL_STATES
from gopher_server.store.store import Store
from gopher_server.validation import check_name, priority_word

Context = grpc.aio.ServicerContext[Any, Any]

MAX_MINUTES = 60
DEFAULT_CANCEL_LIMIT = 1000
MAX_CANCEL_LIMIT = 10_000
MAX_ID_PREFIX = 64


def _ts(ms: int) -> Timestamp:
    ts = Timestamp()
    ts.FromMilliseconds(ms)
    return ts


def check_id_prefix(value: str) -> str:
    """`value` if it is a usable id prefix (1..64 printable characters, no spaces)."""
    if len(value) > MAX_ID_PREFIX or not value.isprintable() or " " in value:
        raise InvalidArgument(
            f"id_prefix must be at most {MAX_ID_PREFIX} printable characters without spaces",
            "id_prefix",
        )
    return value


class OperatorActions:
    """The RPCs of this module; see each one's contract comment in admin_service.proto."""

    store: Store
    tokens: TokenTable | None

    @unary
    async def GetThroughput(
        self, request: pb.GetThroughputRequest, context: Context
    ) -> pb.GetThroughputResponse:
        minutes = request.minutes or MAX_MINUTES
        if not 1 <= minutes <= MAX_MINUTES:
            raise InvalidArgument(f"minutes must be between 1 and {MAX_MINUTES}", "minutes")
        if request.type:
            check_name(request.type, "type")
        rows = await throughput.history(self.store, minutes, request.type)
        return pb.GetThroughputResponse(
            minutes=[
                pb.ThroughputMinute(
                    start=_ts(row.start_ms),
                    succeeded=row.total("succeeded"),
                    failed=row.total("retrying") + row.total("dead"),
                    dead=row.total("dead"),
                    cancelled=row.total("cancelled"),
                    succeeded_by_type=row.by_state.get("succeeded", {}),
                    failed_by_type=_added(row.by_state.get("retrying"), row.by_state.get("dead")),
                )
                for row in rows
            ]
        )

    @unary
    async def GetCaller(
        self, request: pb.GetCallerRequest, context: Context
    ) -> pb.GetCallerResponse:
        if self.tokens is None:
            return pb.GetCallerResponse(
                name="anonymous", roles=list(ROLES), auth_enabled=False, can_admin=True
            )
        # The interceptor let the call through, so the token is valid.
        token, _ = bearer_token(context.invocation_metadata())
        entry = self.tokens.lookup(token or "")
        if entry is None:
            raise NotFound("the caller's token is not configured")
        return pb.GetCallerResponse(
            name=entry.name,
            roles=sorted(entry.roles),
            auth_enabled=True,
            can_admin=entry.allows("gopher.v1.AdminService", "PauseQueue"),
        )

    @unary
    async def CancelJobs(
        self, request: pb.CancelJobsRequest, context: Context
    ) -> pb.CancelJobsResponse:
        limit = request.limit or DEFAULT_CANCEL_LIMIT
        if not 1 <= limit <= MAX_CANCEL_LIMIT:
            raise InvalidArgument(f"limit must be between 1 and {MAX_CANCEL_LIMIT}", "limit")
        if request.job_ids:
            if len(request.job_ids) > limit:
                raise InvalidArgument(f"at most {limit} job_ids per call", "job_ids")
            ids, more = list(request.job_ids), False
        else:
            ids, more = await self._matching_ids(request, limit)
        cancelled = 0
        for job_id in ids:
            _, done = await self.store.cancel(job_id)
            cancelled += done
        return pb.CancelJobsResponse(cancelled=cancelled, more=more)

    async def _matching_ids(
        self, request: pb.CancelJobsRequest, limit: int
    ) -> tuple[list[str], bool]:
        """Up to `limit` ids of unfinished jobs matching the request's filter, collected
        before any is cancelled (cancelling shifts the queues a listing walks)."""
        state = STATE_WORDS.get(request.state, "")
        if request.state and not state:
            raise InvalidArgument(f"state {request.state} is not a job state", "state")
        if state in FINAL_STATES:
            raise InvalidArgument(f"a {state} job cannot be cancelled", "state")
        if request.type:
            check_name(request.type, "type")
        priority = priority_word(request.priority) if request.priority else ""
        if not (state or request.type or priority or request.all):
            raise InvalidArgument("give job_ids, a filter (state, type, priority), or all", "all")
        ids: list[str] = []
        token = ""
        while len(ids) < limit:
            records, token = await listing.list_jobs(
                self.store,
                state=state,
                job_type=request.type,
                priority=priority,
                page_size=min(1000, limit - len(ids)),
                page_token=token,
            )
            ids += [r.id for r in records if r.state not in FINAL_STATES]
            if not token:
                return ids, False
        return ids, True

    @unary
    async def RunJobNow(
        self, request: pb.RunJobNowRequest, context: Context
    ) -> pb.RunJobNowResponse:
        if not request.job_id:
            raise InvalidArgument("job_id is required", "job_id")
        state, moved = await self.store.run_now(request.job_id)
        if state == "missing":
            raise NotFound(f"job {request.job_id} not found")
        if not moved:
            raise WrongState(
                f"job {request.job_id} is {state}; only scheduled or retrying jobs run now"
            )
        return pb.RunJobNowResponse(state=STATES.get(state, job_pb2.JOB_STATE_UNSPECIFIED))


def _added(*parts: dict[str, int] | None) -> dict[str, int]:
    total: dict[str, int] = {}
    for part in parts:
        for key, value in (part or {}).items():
            total[key] = total.get(key, 0) + value
    return total
