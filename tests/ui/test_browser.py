"""The dashboard in a real browser (Chromium through Playwright): what an operator sees
and clicks, checked against the broker's real state. Each test saves screenshots under
its tmp dir; every test also asserts (in the `watched` fixture) that the page requested
nothing from any other host and raised no script error or CSP violation."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from gopher.v1 import admin_service_pb2 as admin_pb
from gopher.v1 import job_pb2
from playwright.sync_api import expect

from gopher_client import Client, JobState
from gopher_server.auth import hash_token
from tests.cli.protocol_worker import Fail, ProtocolWorker, Succeed
from tests.support import BrokerThread, wait_until
from tests.ui.conftest import Watched, open_watched

StartWorker = Callable[..., ProtocolWorker]
HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]
JSON = {"content-type": "application/json"}


def _state(client: Client, job_id: str) -> int:
    return client.get_job(job_id).state


def test_a_job_submitted_through_the_api_appears_on_the_overview_within_3s(
    watched: Watched, broker: BrokerThread
) -> None:
    watched.goto("/ui/")
    depth = watched.page.locator('[data-count="depth-normal"]')
    expect(depth).to_have_text("0")
    response = httpx.post(f"{broker.http_url}/api/jobs", json={"type": "email"}, headers=JSON)
    assert response.status_code == 201
    expect(depth).to_have_text("1", timeout=3000)
    watched.shot("overview")


def test_a_dead_job_is_requeued_from_the_dlq_by_clicking_and_runs_again(
    watched: Watched, broker: BrokerThread, start_worker: StartWorker
) -> None:
    attempts = itertools.count()
    start_worker(
        ["thumb"],
        lambda job: Fail("ValueError", "disk full") if next(attempts) == 0 else Succeed({"ok": 1}),
    )
    with Client(broker.address) as client:
        job_id = client.submit_job("thumb", {"image": 7}, retries=0)
        wait_until(lambda: _state(client, job_id) == job_pb2.JOB_STATE_DEAD, 15, "the job to die")
        watched.goto("/ui/dlq?error=disk")
        row = watched.page.locator(f'tr[data-job="{job_id}"]')
        expect(row).to_contain_text("ValueError: disk full")
        watched.shot("dlq")
        row.locator('input[type="checkbox"]').check()
        watched.page.get_by_role("button", name="Requeue selected").click()
        expect(watched.page.locator(".flash")).to_have_text("requeued 1 job(s)")
        wait_until(
            lambda: _state(client, job_id) == job_pb2.JOB_STATE_SUCCEEDED, 15, "the job to run"
        )
    watched.goto(f"/ui/jobs/{job_id}")
    expect(watched.page.locator("[data-state]")).to_have_text("succeeded")


def test_pausing_and_resuming_a_priority_by_clicking_changes_dispatch(
    watched: Watched, broker: BrokerThread, start_worker: StartWorker
) -> None:
    watched.goto("/ui/queues")
    high = watched.page.locator('tr[data-priority="high"]')
    high.get_by_role("button", name="Pause").click()
    expect(high).to_contain_text("paused")
    watched.shot("queues-paused")
    with Client(broker.address) as client:
        held = client.submit_job("report", {}, priority="high")
        start_worker(["report"], lambda job: Succeed(None))
        # A job of another priority runs: the worker is live, and still skips the paused one.
        other = client.submit_job("report", {}, priority="normal")
        wait_until(lambda: _state(client, other) == job_pb2.JOB_STATE_SUCCEEDED, 15, "normal job")
        assert _state(client, held) == job_pb2.JOB_STATE_ENQUEUED
        high = watched.page.locator('tr[data-priority="high"]')
        high.get_by_role("button", name="Resume").click()
        expect(watched.page.locator('tr[data-priority="high"]')).to_contain_text("running")
        wait_until(lambda: _state(client, held) == job_pb2.JOB_STATE_SUCCEEDED, 15, "high job")


def test_a_job_detail_page_shows_its_history_errors_and_result(
    watched: Watched, broker: BrokerThread, start_worker: StartWorker
) -> None:
    attempts = itertools.count()
    start_worker(
        ["invoice"],
        lambda job: (
            Fail("TimeoutError", "upstream slow", non_retryable=False, retry_after_s=0)
            if next(attempts) == 0
            else Succeed({"invoice": "INV-7"})
        ),
    )
    with Client(broker.address) as client:
        job_id = client.submit_job("invoice", {"customer": 42}, retries=2)
        wait_until(lambda: _state(client, job_id) == job_pb2.JOB_STATE_SUCCEEDED, 15, "success")
    watched.goto(f"/ui/jobs/{job_id}")
    page = watched.page
    expect(page.locator("[data-state]")).to_have_text("succeeded")
    history = page.locator("[data-history] li")
    texts = [history.nth(i).inner_text() for i in range(history.count())]
    transitions = [t.split(" · ")[0].split(" UTC ", 1)[1] for t in texts]
    assert transitions == [
        "submitted → enqueued",
        "enqueued → active",
        "active → retrying",
        "retrying → enqueued",
        "enqueued → active",
        "active → succeeded",
    ]
    expect(page.locator("details.error")).to_contain_text("TimeoutError: upstream slow")
    expect(page.locator("details.error pre")).to_contain_text("Traceback")
    expect(page.locator("[data-result]")).to_contain_text('"invoice": "INV-7"')
    expect(page.locator("[data-payload]")).to_contain_text('"customer": 42')
    watched.shot("job-detail")


def test_hostile_payloads_results_and_errors_run_nothing(
    watched: Watched, broker: BrokerThread, start_worker: StartWorker
) -> None:
    start_worker(["hostile"], lambda job: Fail("ValueError", HOSTILE[1] + HOSTILE[0]))
    with Client(broker.address) as client:
        ids = [client.submit_job("hostile", {"html": text}, retries=0) for text in HOSTILE]
        for job_id in ids:

            def dead(j: str = job_id) -> bool:
                return _state(client, j) == job_pb2.JOB_STATE_DEAD

            wait_until(dead, 15, "death")
    for job_id, text in zip(ids, HOSTILE, strict=True):
        watched.goto(f"/ui/jobs/{job_id}")
        expect(watched.page.locator("[data-payload]")).to_contain_text(text)  # shown as text
    for path in ("/ui/dlq", "/ui/jobs?state=dead", "/ui/events", "/ui/"):
        watched.goto(path)
    # Stay long enough for a live refresh to swap new HTML in: it must run nothing either.
    # (Playwright dispatches page events only inside its own calls, so wait through one.)
    with watched.page.expect_request(
        lambda r: r.url.startswith(broker.http_url + "/ui/"), timeout=15_000
    ):
        pass
    watched.page.wait_for_load_state("networkidle")
    watched.goto("/ui/dlq")
    expect(watched.page.locator("td.error-text").first).to_contain_text(HOSTILE[0])
    watched.shot("hostile-dlq")
    assert watched.dialogs == []
    assert watched.page.locator("img").count() == 0


def test_the_view_role_sees_no_action_buttons_and_its_posts_are_refused(
    browser: Any, broker_factory: Callable[..., BrokerThread], tmp_path: Path
) -> None:
    lines = f"eyes view {hash_token('tok-eyes-0123456789')}"
    broker = broker_factory(
        http_port=0, auth_tokens=lines + f";ops admin {hash_token('tok-ops-01234567')}"
    )
    with Client(broker.address, token="tok-ops-01234567") as client:
        later = client.submit_job("email", {}, delay_s=3600)
    context, watched = open_watched(browser, broker.http_url, tmp_path)
    try:
        watched.goto("/ui/queues")
        assert watched.page.url.endswith("/ui/login")
        watched.page.get_by_label("Token").fill("tok-eyes-0123456789")
        watched.page.get_by_role("button", name="Log in").click()
        expect(watched.page.locator("nav .who")).to_contain_text("eyes (view)")
        cookie = next(c for c in context.cookies() if c["name"] == "gopher_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        for path in (
            "/ui/",
            "/ui/queues",
            "/ui/dlq",
            "/ui/scheduled",
            "/ui/schedules",
            f"/ui/jobs/{later}",
        ):
            watched.goto(path)
            assert watched.page.locator("[data-action]").count() == 0, path
            assert watched.page.locator('form[action*="/actions/"]').count() == 0, path
        watched.shot("view-role-scheduled")
        for action, form in (
            ("pause-queue", {"priority": "high"}),
            ("run-now", {"job_id": later}),
            ("cancel", {"job_id": later}),
        ):
            refused = watched.page.request.post(
                f"{broker.http_url}/ui/actions/{action}",
                form=form,
                headers={"Origin": broker.http_url},
                max_redirects=0,
            )
            assert refused.status == 403, action
        with Client(broker.address, token="tok-ops-01234567") as client:
            assert client.get_job(later).state is JobState.SCHEDULED
            assert not client.queue_stats().queues[0].paused
        assert watched.foreign_requests() == [] and watched.violations == []
    finally:
        context.close()


def test_every_page_requests_only_the_broker(watched: Watched, broker: BrokerThread) -> None:
    with Client(broker.address) as client:
        job_id = client.submit_job("email", {"to": "a@b.c"}, delay_s=60)
    for path in (
        "/ui/",
        "/ui/queues",
        "/ui/jobs",
        f"/ui/jobs/{job_id}",
        "/ui/dlq",
        "/ui/scheduled",
        "/ui/workers",
        "/ui/schedules",
        "/ui/events",
    ):
        watched.goto(path)
        watched.page.wait_for_load_state("networkidle")
        watched.shot(path.strip("/").replace("/", "-") or "ui")
    # Through the navigation bar as well: every page is reachable from it.
    watched.goto("/ui/")
    for label in (
        "Queues",
        "Jobs",
        "Dead letters",
        "Scheduled",
        "Workers",
        "Schedules",
        "Events",
        "Overview",
    ):
        watched.page.locator("nav").get_by_role("link", name=label, exact=True).click()
        expect(watched.page.locator("nav a[aria-current=page]")).to_have_text(label)
    assert len(watched.requests) > 20
    assert watched.foreign_requests() == []


def test_quieting_and_resuming_a_worker_by_clicking_changes_its_state(
    watched: Watched, broker: BrokerThread, start_worker: StartWorker
) -> None:
    start_worker(["report"], lambda job: Succeed(None), worker_id="w-click")
    with Client(broker.address) as client:
        wait_until(lambda: client.list_workers(), what="the worker to register")
        watched.goto("/ui/workers")
        row = watched.page.locator('tr[data-worker="w-click"]')
        expect(row.locator("[data-state]")).to_have_text("running")
        row.get_by_role("button", name="Quiet").click()
        expect(watched.page.locator(".flash")).to_have_text("worker w-click is quiet")
        row = watched.page.locator('tr[data-worker="w-click"]')
        expect(row.locator("[data-state]")).to_have_text("quiet")
        watched.shot("workers-quiet")
        assert client.list_workers()[0].state == admin_pb.WORKER_STATE_QUIET
        row.get_by_role("button", name="Resume").click()
        expect(watched.page.locator('tr[data-worker="w-click"] [data-state]')).to_have_text(
            "running"
        )
        assert client.list_workers()[0].state == admin_pb.WORKER_STATE_RUNNING
