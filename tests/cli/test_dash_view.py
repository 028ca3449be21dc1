"""The dashboard is a pure function of snapshots: no terminal, no broker."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from gopher.v1 import admin_service_pb2 as admin_pb
from gopher.v1 import job_pb2
from rich.console import Console

from gopher_cli.dash_view import Snapshot, compute_rates, render, total_jobs

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def text_of(renderable: object) -> str:
    out = io.StringIO()
    Console(file=out, width=160, color_system=None).print(renderable)
    return out.getvalue()


def stats(
    high: int, normal: int, finished: int, dead: int, **rest: int
) -> admin_pb.GetQueueStatsResponse:
    return admin_pb.GetQueueStatsResponse(
        queues=[
            admin_pb.QueueStats(
                priority=job_pb2.PRIORITY_HIGH, depth=high, depth_by_type={"email": high}
            ),
            admin_pb.QueueStats(priority=job_pb2.PRIORITY_NORMAL, depth=normal, paused=True),
            admin_pb.QueueStats(priority=job_pb2.PRIORITY_LOW, depth=0),
        ],
        finished=finished,
        dead=dead,
        **rest,
    )


def snap(at_s: float, value: admin_pb.GetQueueStatsResponse | None, **extra: object) -> Snapshot:
    return Snapshot(at_s, T0 + dt.timedelta(seconds=at_s), value, **extra)  # type: ignore[arg-type]


def test_total_counts_every_set() -> None:
    assert total_jobs(stats(1, 2, 3, 4, scheduled=5, retrying=6, active=7)) == 28


def test_rates_need_two_snapshots_with_stats() -> None:
    assert compute_rates([]) is None
    assert compute_rates([snap(0, stats(0, 0, 0, 0))]) is None
    assert compute_rates([snap(0, stats(0, 0, 0, 0)), snap(1, None, error="down")]) is None
    assert compute_rates([snap(1, stats(0, 0, 0, 0)), snap(1, stats(1, 0, 0, 0))]) is None


def test_rates_over_the_window() -> None:
    rates = compute_rates(
        [
            snap(0, stats(10, 0, finished=100, dead=1)),
            snap(1, None, error="blip"),  # failed refreshes are skipped, not zeroes
            snap(4, stats(2, 4, finished=120, dead=3, active=1)),
        ]
    )
    assert rates is not None
    assert rates.window_s == 4
    # totals 111 -> 130: 19 new jobs in 4 s
    assert rates.submitted_per_s == pytest.approx(19 / 4)
    assert rates.finished_per_s == pytest.approx(5.0)
    assert rates.dead_per_s == pytest.approx(0.5)
    assert rates.depth_per_s[job_pb2.PRIORITY_HIGH] == pytest.approx(-2.0)
    assert rates.depth_per_s[job_pb2.PRIORITY_NORMAL] == pytest.approx(1.0)


def test_retention_never_makes_rates_negative() -> None:
    rates = compute_rates([snap(0, stats(0, 0, 500, 9)), snap(2, stats(0, 0, 100, 2))])
    assert rates is not None
    assert rates.submitted_per_s == 0 and rates.finished_per_s == 0 and rates.dead_per_s == 0


def test_render_full_screen() -> None:
    worker = admin_pb.WorkerInfo(
        worker_id="w-7", hostname="box", job_types=["email"], capacity=2, in_flight=1
    )
    worker.last_heartbeat.FromDatetime(T0)
    dead = job_pb2.Job(id="d-1", type="email", attempt=4)
    dead.finished_at.FromDatetime(T0 - dt.timedelta(minutes=2))
    dead.errors.add(attempt=4, error_type="SMTPError", message="550 mailbox unavailable")
    frame = text_of(
        render(
            [
                snap(0, stats(10, 0, 100, 1)),
                snap(2, stats(6, 0, 110, 1), workers=[worker], failures=[dead]),
            ],
            "127.0.0.1:50051",
        )
    )
    assert "gopher dash  127.0.0.1:50051" in frame and "press q to quit" in frame
    assert "-2.00/s" in frame  # high drained by 4 in 2 s
    assert "PAUSED" in frame and "email=6" in frame
    assert "done 5.0/s" in frame
    assert "w-7" in frame and "50%" in frame
    assert "d-1" in frame and "SMTPError: 550 mailbox unavailable" in frame and "2m 2s ago" in frame


def test_render_first_frame_and_errors() -> None:
    assert "connecting" in text_of(render([], "a:1"))
    first = text_of(render([snap(0, stats(1, 0, 0, 0))], "a:1"))
    assert "measuring" in first and "no workers connected" in first and "no dead jobs" in first
    # A failed refresh keeps the last good data on screen under the error.
    later = text_of(render([snap(0, stats(3, 0, 0, 0)), snap(1, None, error="unreachable")], "a:1"))
    assert "refresh failed" in later and "unreachable" in later and "email=3" in later
    only_error = text_of(render([snap(0, None, error="unreachable")], "a:1"))
    assert "unreachable" in only_error and "Queues" not in only_error
