"""Type defaults inside validation: follow-ups of any depth take their own type's."""

from __future__ import annotations

from gopher.v1 import job_service_pb2 as jpb

from gopher_server.config import ServerConfig
from gopher_server.store.job_types import TypeDefaults
from gopher_server.validation import submit_to_group, submit_to_job

DEFAULTS = {"email": TypeDefaults(retries=5, timeout_ms=12_000, priority="high")}


def test_follow_ups_take_their_types_defaults_and_explicit_values_win() -> None:
    request = jpb.SubmitJobRequest(
        type="resize",
        on_success=[
            jpb.SubmitJobRequest(type="email", on_failure=[jpb.SubmitJobRequest(type="email")])
        ],
        on_failure=[jpb.SubmitJobRequest(type="email", retries=1, timeout_s=0)],
    )
    job = submit_to_job(request, ServerConfig(), 0, defaults=DEFAULTS)
    assert (job.retries, job.timeout_ms, job.priority) == (3, 0, "normal")
    (ok,) = job.on_success
    assert (ok.retries, ok.timeout_ms, ok.priority) == (5, 12_000, "high")
    assert ok.on_failure[0].retries == 5
    assert (job.on_failure[0].retries, job.on_failure[0].timeout_ms) == (1, 0)


def test_group_members_and_follow_ups_take_defaults() -> None:
    request = jpb.SubmitGroupRequest(
        jobs=[jpb.SubmitJobRequest(type="email")],
        on_complete=[jpb.SubmitJobRequest(type="email")],
    )
    group = submit_to_group(request, ServerConfig(), 0, defaults=DEFAULTS)
    assert group.members[0].retries == 5 and group.on_complete[0].retries == 5
