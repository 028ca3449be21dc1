"""ListEvents: the global feed of recent job transitions, for dashboards and audit."""

from __future__ import annotations

import re

from gopher.v1 import admin_service_pb2 as pb
from gopher.v1 import job_pb2

from gopher_server.convert import STATES
from gopher_server.errors import InvalidArgument
from gopher_server.store import events
from gopher_server.store.store import Store

# An entry id; a partitioned namespace's entries also name their partition.
_FEED_ID = re.compile(r"^\d{1,20}(-\d{1,20}(-\d{1,3})?)?$")
# A partitioned feed's token: the last id read in each partition (store/events.py).
_MERGED_TOKEN = re.compile(r"^v2:\d{1,20}-\d{1,20}(,\d{1,20}-\d{1,20}){0,255}$")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


async def list_events(store: Store, request: pb.ListEventsRequest) -> pb.ListEventsResponse:
    """Validate a ListEvents request and read one page of the feed."""
    token = request.after_id
    if token and not (_FEED_ID.match(token) or _MERGED_TOKEN.match(token)):
        raise InvalidArgument(
            f"after_id must be a feed id like '1700000000000-0'; got {request.after_id[:40]!r}",
            "after_id",
        )
    limit = request.limit or DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidArgument(f"limit must be between 1 and {MAX_LIMIT}", "limit")
    try:
        page = await events.read_events(store, token, limit)
    except ValueError as exc:  # a token from a namespace with another partition count
        raise InvalidArgument(str(exc), "after_id") from None
    response = pb.ListEventsResponse(last_id=page.last_id, truncated=page.truncated)
    for e in page.entries:
        event = response.events.add(
            id=e.id,
            job_id=e.job_id,
            type=e.type,
            from_state=STATES.get(e.from_state, job_pb2.JOB_STATE_UNSPECIFIED),
            to_state=STATES.get(e.to_state, job_pb2.JOB_STATE_UNSPECIFIED),
            attempt=e.attempt,
            worker_id=e.worker_id,
            error_type=e.error_type,
        )
        event.time.FromMilliseconds(e.time_ms)
    return response
