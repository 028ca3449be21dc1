"""TriggerSchedule: an operator runs a schedule's job now, from gRPC, REST, gopherctl or
the dashboard, without moving its next tick."""

from __future__ import annotations

import httpx
from gopher.v1 import admin_service_pb2 as apb
from typer.testing import CliRunner

from gopher_cli.app import app
from gopher_client import Client, JobState, NotFound
from tests.support import BrokerThread

JSON = {"content-type": "application/json"}


def _create(client: Client, name: str, paused: bool = False) -> apb.Schedule:
    schedule = apb.Schedule(name=name, cron="0 3 * * *", paused=paused)
    schedule.job.type = "digest"
    schedule.job.payload_json = '{"kind": "nightly"}'
    created = client.call(client.admin.CreateSchedule, apb.CreateScheduleRequest(schedule=schedule))
    return created.schedule


def test_trigger_submits_the_template_now_and_leaves_the_next_tick(broker: BrokerThread) -> None:
    with Client(broker.address) as client:
        before = _create(client, "nightly", paused=True)
        answer = client.call(
            client.admin.TriggerSchedule, apb.TriggerScheduleRequest(name="nightly")
        )
        job = client.get_job(answer.job_id)
        assert (job.type, job.payload, job.state) == (
            "digest",
            {"kind": "nightly"},
            JobState.ENQUEUED,
        )
        # REST, and again: each trigger is a job of its own.
        rest = httpx.post(f"{broker.http_url}/api/schedules/nightly:trigger", headers=JSON)
        assert rest.status_code == 200, rest.text
        second = rest.json()["job_id"]
        assert second != answer.job_id and client.get_job(second).type == "digest"
        listed = client.call(client.admin.ListSchedules, apb.ListSchedulesRequest())
        (after,) = listed.schedules
        assert after.paused and after.next_run_at == before.next_run_at
        try:
            client.call(client.admin.TriggerSchedule, apb.TriggerScheduleRequest(name="nope"))
            raise AssertionError("an unknown schedule was triggered")
        except NotFound:
            pass
        assert len(client.list_jobs(job_type="digest").jobs) == 2


def test_gopherctl_and_the_dashboard_trigger_it(broker: BrokerThread) -> None:
    with Client(broker.address) as client:
        _create(client, "weekly")
        ran = CliRunner().invoke(app, ["schedules", "trigger", "weekly", "-s", broker.address])
        assert ran.exit_code == 0, ran.output
        assert client.get_job(ran.output.strip()).type == "digest"
        page = httpx.get(f"{broker.http_url}/ui/schedules")
        assert 'data-action="trigger-schedule"' in page.text
        posted = httpx.post(
            f"{broker.http_url}/ui/actions/trigger-schedule",
            data={"name": "weekly", "next": "/ui/schedules"},
            headers={"Origin": broker.http_url, "Sec-Fetch-Site": "same-origin"},
        )
        assert posted.status_code in (200, 303), posted.text
        assert len(client.list_jobs(job_type="digest").jobs) == 2
        missing = CliRunner().invoke(app, ["schedules", "trigger", "nope", "-s", broker.address])
        assert missing.exit_code == 3
