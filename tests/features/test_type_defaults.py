"""Handler-side defaults: a worker registers its types' defaults on its stream, and the
broker fills them into jobs whose submitter left the field unset, from any client,
while a worker of the type is live."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import httpx
import pytest
from gopher.v1 import admin_service_pb2 as apb
from gopher.v1 import job_pb2, job_service_pb2_grpc, worker_service_pb2_grpc
from gopher.v1 import job_service_pb2 as jpb
from gopher.v1 import worker_service_pb2 as wpb

from gopher_client import Client
from gopher_server.components.cron import CronScheduler
from gopher_server.components.type_catalog import TypeCatalog
from gopher_server.store import schedules
from gopher_server.store.job_types import TypeDefaults
from gopher_server.store.store import Store
from gopher_worker import Backoff, Job, Registry, Worker
from tests.conftest import FakeClock
from tests.support import BrokerThread, until, wait_until, worker_stream

EMAIL_DEFAULTS = wpb.JobTypeDefaults(
    type="email",
    priority=job_pb2.PRIORITY_HIGH,
    retries=5,
    timeout_s=12,
    lease_ttl_s=45,
    retry_policy=job_pb2.RetryPolicy(base_delay_s=2, factor=3, max_delay_s=60),
)


def raw_submit(address: str, request: jpb.SubmitJobRequest) -> job_pb2.Job:
    """Submit over a bare gRPC stub (no SDK) and read the stored job back."""
    with grpc.insecure_channel(address) as channel:
        stub = job_service_pb2_grpc.JobServiceStub(channel)
        answer = stub.SubmitJob(request)
        return stub.GetJob(jpb.GetJobRequest(job_id=answer.job_id)).job


def assert_email_defaults(job: job_pb2.Job) -> None:
    assert job.priority == job_pb2.PRIORITY_HIGH
    assert (job.retries, job.timeout_s, job.lease_ttl_s) == (5, 12, 45)
    policy = job.retry_policy
    assert (policy.base_delay_s, policy.factor, policy.max_delay_s) == (2, 3, 60)


def assert_broker_defaults(job: job_pb2.Job) -> None:
    assert job.priority == job_pb2.PRIORITY_NORMAL
    assert (job.retries, job.timeout_s, job.lease_ttl_s) == (3, 0, 0)
    assert not job.HasField("retry_policy")


def test_defaults_apply_to_raw_grpc_and_rest_submits(broker: BrokerThread) -> None:
    with worker_stream(broker.address, "w1", [EMAIL_DEFAULTS]):
        assert_email_defaults(raw_submit(broker.address, jpb.SubmitJobRequest(type="email")))
        answer = httpx.post(f"{broker.http_url}/api/jobs", json={"type": "email"})
        assert answer.status_code == 201, answer.text
        with Client(broker.address) as client:
            assert_email_defaults(client.get_job(answer.json()["job_id"]).proto)
        # Another type of the same worker, without defaults, keeps the broker's.
        other = raw_submit(broker.address, jpb.SubmitJobRequest(type="sms"))
        assert_broker_defaults(other)


def test_explicit_submitter_values_win_even_zero(broker: BrokerThread) -> None:
    with worker_stream(broker.address, "w1", [EMAIL_DEFAULTS]):
        request = jpb.SubmitJobRequest(
            type="email",
            priority=job_pb2.PRIORITY_LOW,
            retries=0,
            timeout_s=0,
            lease_ttl_s=10,
            retry_policy=job_pb2.RetryPolicy(factor=1),
        )
        job = raw_submit(broker.address, request)
        assert job.priority == job_pb2.PRIORITY_LOW
        assert (job.retries, job.timeout_s, job.lease_ttl_s) == (0, 0, 10)
        # The policy's unset fields still take the type's defaults.
        policy = job.retry_policy
        assert (policy.base_delay_s, policy.factor, policy.max_delay_s) == (2, 1, 60)
        rest = httpx.post(f"{broker.http_url}/api/jobs", json={"type": "email", "retries": 0})
        with Client(broker.address) as client:
            assert client.get_job(rest.json()["job_id"]).proto.retries == 0


def test_batches_groups_and_schedules_take_defaults(broker: BrokerThread) -> None:
    with worker_stream(broker.address, "w1", [EMAIL_DEFAULTS]), Client(broker.address) as client:
        batch = client.call(
            client.jobs.SubmitJobs,
            jpb.SubmitJobsRequest(
                jobs=[
                    jpb.SubmitJobRequest(type="email"),
                    jpb.SubmitJobRequest(type="email", retries=1),
                ]
            ),
        )
        first, second = (client.get_job(r.job_id).proto for r in batch.results)
        assert_email_defaults(first)
        assert second.retries == 1
        group = client.call(
            client.jobs.SubmitGroup,
            jpb.SubmitGroupRequest(jobs=[jpb.SubmitJobRequest(type="email")]),
        )
        assert_email_defaults(client.get_job(group.members[0].job_id).proto)
        schedule = apb.Schedule(name="nightly", cron="0 3 * * *", paused=True)
        schedule.job.type = "email"
        client.call(client.admin.CreateSchedule, apb.CreateScheduleRequest(schedule=schedule))
        fired = client.call(
            client.admin.TriggerSchedule, apb.TriggerScheduleRequest(name="nightly")
        )
        assert_email_defaults(client.get_job(fired.job_id).proto)
        schedule.job.retries = 1
        schedule.job.priority = job_pb2.PRIORITY_LOW
        client.call(client.admin.CreateSchedule, apb.CreateScheduleRequest(schedule=schedule))
        fired = client.call(
            client.admin.TriggerSchedule, apb.TriggerScheduleRequest(name="nightly")
        )
        job = client.get_job(fired.job_id).proto
        assert (job.retries, job.priority, job.timeout_s) == (1, job_pb2.PRIORITY_LOW, 12)


def _email_defaults_gone(broker: BrokerThread) -> Callable[[], bool]:
    def gone() -> bool:
        assert broker.broker is not None
        return "email" not in broker.broker.catalog.view.defaults

    return gone


def test_defaults_stop_when_the_last_worker_of_the_type_leaves(
    broker_factory: Callable[..., BrokerThread],
) -> None:
    broker = broker_factory(type_refresh_s=0.05)
    with worker_stream(broker.address, "w1", [EMAIL_DEFAULTS]):
        assert_email_defaults(raw_submit(broker.address, jpb.SubmitJobRequest(type="email")))
    wait_until(_email_defaults_gone(broker), 10, "defaults dropped after the stream closed")
    assert_broker_defaults(raw_submit(broker.address, jpb.SubmitJobRequest(type="email")))


def test_other_brokers_apply_new_defaults_without_waiting_for_their_refresh(
    broker_factory: Callable[..., BrokerThread],
) -> None:
    # The other broker's periodic refresh is an hour away: once its first one is done
    # (it has seen the first worker), only the announcement of a registration can
    # bring the second worker's type and defaults there in time.
    broker = broker_factory(type_refresh_s=3600)
    other = broker_factory(type_refresh_s=3600)
    sms = wpb.JobTypeDefaults(type="sms", retries=9)

    def other_knows(job_type: str) -> Callable[[], bool]:
        def known() -> bool:
            assert other.broker is not None
            return job_type in other.broker.catalog.view.defaults

        return known

    with worker_stream(broker.address, "w1", [EMAIL_DEFAULTS]):
        wait_until(other_knows("email"), 10, "the other broker's picture of the first worker")
        with worker_stream(broker.address, "w2", [sms]):
            wait_until(other_knows("sms"), 10, "the other broker hears of the registration")
            with grpc.insecure_channel(other.address) as channel:
                stub = job_service_pb2_grpc.JobServiceStub(channel)
                answer = stub.SubmitJob(jpb.SubmitJobRequest(type="sms"))
                job = stub.GetJob(jpb.GetJobRequest(job_id=answer.job_id)).job
            assert list(answer.warnings) == []  # the type is known there too
            assert job.retries == 9


def test_defaults_expire_with_worker_liveness(
    broker_factory: Callable[..., BrokerThread], clock: FakeClock
) -> None:
    # A worker whose streams stopped beating (its broker died without closing them):
    # the broker's liveness window, on the injected clock, ends its defaults.
    broker = broker_factory(
        clock=clock, type_refresh_s=0.05, worker_alive_s=30, heartbeat_interval_s=3600
    )
    other = broker_factory(clock=clock, type_refresh_s=0.05, worker_alive_s=30)
    with worker_stream(broker.address, "w1", [EMAIL_DEFAULTS]):

        def seen_by_other() -> bool:
            assert other.broker is not None
            return "email" in other.broker.catalog.view.defaults

        wait_until(seen_by_other, 10, "the other broker picks the defaults up from Redis")
        assert_email_defaults(raw_submit(other.address, jpb.SubmitJobRequest(type="email")))
        clock.advance(31_000)
        wait_until(_email_defaults_gone(other), 10, "defaults expired with the heartbeat")
        wait_until(_email_defaults_gone(broker), 10, "even on the stream's own broker")
        assert_broker_defaults(raw_submit(other.address, jpb.SubmitJobRequest(type="email")))


def test_latest_stream_wins_when_live_workers_disagree(
    broker_factory: Callable[..., BrokerThread], clock: FakeClock
) -> None:
    broker = broker_factory(clock=clock, type_refresh_s=0.05)
    newer = wpb.JobTypeDefaults(type="email", retries=7)
    with worker_stream(broker.address, "old", [EMAIL_DEFAULTS]):
        clock.advance(1000)
        with worker_stream(broker.address, "new", [newer]):
            job = raw_submit(broker.address, jpb.SubmitJobRequest(type="email"))
            assert (job.retries, job.timeout_s) == (7, 0)  # whole entries, not merged
        assert broker.broker is not None

        def old_again() -> bool:
            assert broker.broker is not None
            return broker.broker.catalog.view.defaults.get("email") is not None and (
                broker.broker.catalog.view.defaults["email"].retries == 5
            )

        wait_until(old_again, 10, "the remaining worker's defaults")
        assert_email_defaults(raw_submit(broker.address, jpb.SubmitJobRequest(type="email")))


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        (wpb.JobTypeDefaults(type="email", retries=101), "type_defaults[0].retries"),
        (wpb.JobTypeDefaults(type="email", lease_ttl_s=0.5), "type_defaults[0].lease_ttl_s"),
        (
            wpb.JobTypeDefaults(type="email", retry_policy=job_pb2.RetryPolicy(factor=0.5)),
            "type_defaults[0].retry_policy.factor",
        ),
        (wpb.JobTypeDefaults(type="sms", retries=1), "type_defaults[0].type"),
    ],
)
def test_broker_refuses_bad_defaults(
    broker: BrokerThread, entry: wpb.JobTypeDefaults, field: str
) -> None:
    with grpc.insecure_channel(broker.address) as channel:
        request = wpb.StreamJobsRequest(
            worker_id="w1", job_types=["email"], capacity=1, type_defaults=[entry]
        )
        call = worker_service_pb2_grpc.WorkerServiceStub(channel).StreamJobs(request)
        with pytest.raises(grpc.RpcError) as caught:
            next(call)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in (caught.value.details() or "")
    with Client(broker.address) as client:  # nothing registered
        assert client.list_workers() == []
        job = client.get_job(client.submit_job("email", {})).proto
        assert job.retries == 3


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"retries": -1}, ValueError, "retries must be between 0 and 100"),
        ({"retries": "3"}, TypeError, "retries must be an int"),
        ({"priority": "urgent"}, ValueError, "priority must be one of high, normal, low"),
        ({"lease_ttl_s": 0}, ValueError, "lease_ttl_s must be between 1"),
        ({"timeout_s": -5}, ValueError, "timeout_s must be positive"),
        ({"backoff": {"base_s": 1}}, TypeError, "backoff must be a gopher_worker.Backoff"),
    ],
)
def test_bad_handler_defaults_fail_at_decoration(
    kwargs: dict[str, object], error: type[Exception], text: str
) -> None:
    registry = Registry()
    with pytest.raises(error, match=text) as caught:
        registry.handler("email", **kwargs)(lambda job: None)  # type: ignore[arg-type]
    assert "'email'" in str(caught.value)
    assert registry.job_types == []
    with pytest.raises(ValueError, match="factor must be between 1 and 100"):
        Backoff(factor=0.5)


async def test_sdk_worker_registers_its_handler_defaults(broker: BrokerThread) -> None:
    registry = Registry()

    @registry.handler(
        "email",
        retries=5,
        backoff=Backoff(base_s=2, factor=3, max_s=60),
        timeout_s=12,
        lease_ttl_s=45,
        priority="high",
    )
    async def email(job: Job) -> None:
        return None

    worker = Worker(registry, broker.address, concurrency=1, worker_id="w-sdk")
    await worker.start()
    try:

        async def registered() -> bool:
            assert broker.broker is not None
            return "email" in broker.broker.catalog.view.defaults

        await until(registered, 10, "the worker's stream registered its defaults")
        with grpc.insecure_channel(broker.address) as channel:
            stub = job_service_pb2_grpc.JobServiceStub(channel)
            answer = stub.SubmitJob(jpb.SubmitJobRequest(type="email"))
            job = stub.GetJob(jpb.GetJobRequest(job_id=answer.job_id)).job
        assert_email_defaults(job)
    finally:
        await worker.drain(1)


def test_grpc_submits_warn_about_types_no_worker_ever_registered(broker: BrokerThread) -> None:
    with grpc.insecure_channel(broker.address) as channel:
        stub = job_service_pb2_grpc.JobServiceStub(channel)
        unknown = stub.SubmitJob(jpb.SubmitJobRequest(type="emial"))
        (warning,) = unknown.warnings
        assert "'emial'" in warning and "no worker" in warning
        assert stub.GetJob(jpb.GetJobRequest(job_id=unknown.job_id)).job.state == (
            job_pb2.JOB_STATE_ENQUEUED
        )  # accepted all the same: a worker may come later
        chained = stub.SubmitJob(
            jpb.SubmitJobRequest(type="emial", on_success=[jpb.SubmitJobRequest(type="sms")])
        )
        assert len(chained.warnings) == 2  # follow-ups' types are checked too
        with worker_stream(broker.address, "w1", [], types=("emial", "sms")):
            assert list(stub.SubmitJob(jpb.SubmitJobRequest(type="emial")).warnings) == []
        # Known once registered, even with no worker live any more.
        batch = stub.SubmitJobs(
            jpb.SubmitJobsRequest(
                jobs=[jpb.SubmitJobRequest(type="sms"), jpb.SubmitJobRequest(type="x")]
            )
        )
        assert [len(r.warnings) for r in batch.results] == [0, 1]
        group = stub.SubmitGroup(
            jpb.SubmitGroupRequest(
                jobs=[jpb.SubmitJobRequest(type="emial")],
                on_complete=[jpb.SubmitJobRequest(type="report")],
            )
        )
        assert [len(m.warnings) for m in group.members] == [0]
        (group_warning,) = group.warnings
        assert "'report'" in group_warning


def test_list_job_types_over_grpc_and_rest(broker: BrokerThread) -> None:
    with Client(broker.address) as client:
        client.pause_queue("normal")  # keep submitted jobs ready: depth is what we check
        with worker_stream(broker.address, "w1", [wpb.JobTypeDefaults(type="email", retries=5)]):
            for job_type in ("email", "email", "orphan"):
                client.submit_job(job_type, {})
            by_type = {t.type: t for t in client.list_job_types()}
            rest = httpx.get(f"{broker.http_url}/api/types")
        assert set(by_type) == {"email", "orphan"}
        email, orphan = by_type["email"], by_type["orphan"]
        assert (email.defaults.retries, list(email.worker_ids), email.depth, email.known) == (
            5,
            ["w1"],
            2,
            True,
        )
        assert (orphan.HasField("defaults"), list(orphan.worker_ids), orphan.depth) == (
            False,
            [],
            1,
        )
        assert not orphan.known
        assert rest.status_code == 200, rest.text
        assert rest.json()["types"][0] == {
            "type": "email",
            "defaults": {"type": "email", "retries": 5},
            "worker_ids": ["w1"],
            "depth": 2,
            "known": True,
        }

        # The worker left (the broker notices its closed stream soon after): still
        # known, no live worker, no defaults.
        def email_once_left() -> apb.JobTypeInfo | None:
            email = next(t for t in client.list_job_types() if t.type == "email")
            return None if email.worker_ids else email

        email = wait_until(email_once_left, 10, "the broker to see the worker's stream closed")
        assert (email.known, list(email.worker_ids), email.HasField("defaults")) == (
            True,
            [],
            False,
        )


async def test_cron_ticks_take_defaults_for_template_fields_left_unset(
    store: Store, clock: FakeClock
) -> None:
    catalog = TypeCatalog(store, alive_within_ms=30_000)
    catalog.stream_opened("w1", ["report"], {"report": TypeDefaults(retries=9, timeout_ms=5000)})
    clock.ms = (clock.ms // 60_000 + 1) * 60_000 - 30_000
    unset = {"cron": "* * * * *", "tz": "", "paused": False, "type": "report", "payload": "{}"}
    # As stored by CreateSchedule: "unset" names the template fields the operator left out.
    await schedules.put(
        store, "a", {**unset, "priority": "normal", "retries": 3, "unset": ["retries"]}
    )
    await schedules.put(store, "b", {**unset, "priority": "normal", "retries": 1, "unset": []})
    cron = CronScheduler(store, catalog=catalog)
    await cron._tick()
    clock.ms += 30_000
    await cron._tick()
    ids = await store.redis.lrange(store.keys.ready("normal", "report"), 0, -1)
    jobs = [await store.get_job(str(i)) for i in ids]
    got = sorted((j.retries, j.timeout_ms) for j in jobs if j)
    assert got == [(1, 5000), (9, 5000)]
