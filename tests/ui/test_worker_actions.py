"""The workers page: each worker's state (running, quiet, stopping) and, for roles that
may change things, Quiet / Stop / Resume buttons that reach the worker's broker; the
view role sees the state but no button, and its posts are refused."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from gopher.v1 import admin_service_pb2 as admin_pb
from gopher.v1 import worker_service_pb2 as worker_pb

from gopher_client import Client
from gopher_server.auth import hash_token
from tests.cli.protocol_worker import ProtocolWorker, Succeed
from tests.support import BrokerThread, wait_until

StartWorker = Callable[..., ProtocolWorker]
OPS, EYES = "tok-ops-0123456789", "tok-eyes-0123456789"


def _same_origin(broker: BrokerThread) -> dict[str, str]:
    return {"Origin": broker.http_url, "Sec-Fetch-Site": "same-origin"}


def _state(broker: BrokerThread, worker_id: str, token: str | None = None) -> int:
    with Client(broker.address, token=token) as client:
        (worker,) = [w for w in client.list_workers() if w.worker_id == worker_id]
        return int(worker.state)


def test_buttons_quiet_resume_and_stop_a_worker(
    broker: BrokerThread, start_worker: StartWorker
) -> None:
    start_worker(["email"], lambda job: Succeed(), worker_id="w-ui")
    with Client(broker.address) as client:
        wait_until(lambda: client.list_workers(), what="the worker to register")
    with httpx.Client(base_url=broker.http_url, timeout=15) as http:
        page = http.get("/ui/workers").text
        assert 'data-state="running"' in page
        assert 'data-action="quiet-worker"' in page and 'data-action="stop-worker"' in page
        assert 'data-action="resume-worker"' not in page

        form = {"worker_id": "w-ui", "next": "/ui/workers"}
        cross = http.post(
            "/ui/actions/quiet-worker", data=form, headers={"Sec-Fetch-Site": "cross-site"}
        )
        assert cross.status_code == 403
        assert _state(broker, "w-ui") == admin_pb.WORKER_STATE_RUNNING

        done = http.post("/ui/actions/quiet-worker", data=form, headers=_same_origin(broker))
        assert done.status_code == 303 and done.headers["location"].startswith("/ui/workers?msg=")
        assert _state(broker, "w-ui") == admin_pb.WORKER_STATE_QUIET
        page = http.get(done.headers["location"]).text
        assert "worker w-ui is quiet" in page and 'data-state="quiet"' in page
        assert 'data-action="resume-worker"' in page and 'data-action="quiet-worker"' not in page

        http.post("/ui/actions/resume-worker", data=form, headers=_same_origin(broker))
        assert _state(broker, "w-ui") == admin_pb.WORKER_STATE_RUNNING
        # A stop ends the worker's process: the dashboard asks first.
        asked = http.post("/ui/actions/stop-worker", data=form, headers=_same_origin(broker))
        assert asked.status_code == 200 and "Stop worker w-ui?" in asked.text
        assert _state(broker, "w-ui") == admin_pb.WORKER_STATE_RUNNING
        confirmed = {**form, "confirmed": "yes"}
        http.post("/ui/actions/stop-worker", data=confirmed, headers=_same_origin(broker))
        assert _state(broker, "w-ui") == admin_pb.WORKER_STATE_STOPPING
        page = http.get("/ui/workers").text
        assert 'data-state="stopping"' in page and '-worker"' not in page  # no more buttons


def test_an_unknown_worker_is_a_404_page(broker: BrokerThread) -> None:
    with httpx.Client(base_url=broker.http_url, timeout=15) as http:
        response = http.post(
            "/ui/actions/stop-worker",
            data={"worker_id": "nobody", "next": "/ui/workers", "confirmed": "yes"},
            headers=_same_origin(broker),
        )
    assert response.status_code == 404
    assert "worker nobody is not known" in response.text


def test_the_view_role_sees_the_state_but_no_buttons_and_is_refused(
    broker_factory: Callable[..., BrokerThread],
) -> None:
    lines = f"ops admin {hash_token(OPS)};eyes view {hash_token(EYES)}"
    broker = broker_factory(http_port=0, auth_tokens=lines)
    worker = ProtocolWorker(
        broker.address, ["email"], lambda job: Succeed(), worker_id="w-eyes", token=OPS
    ).start()
    try:
        wait_until(lambda: _state(broker, "w-eyes", OPS), what="the worker to register")
        with Client(broker.address, token=OPS) as ops:
            request = admin_pb.ControlWorkerRequest(
                worker_id="w-eyes", action=worker_pb.WORKER_CONTROL_ACTION_QUIET
            )
            ops.call(ops.admin.ControlWorker, request)
        with httpx.Client(base_url=broker.http_url, timeout=15) as http:
            http.post("/ui/login", data={"token": EYES}, headers=_same_origin(broker))
            page = http.get("/ui/workers").text
            assert "eyes (view)" in page and 'data-state="quiet"' in page
            assert "data-action" not in page and "/actions/" not in page
            for action in ("quiet-worker", "stop-worker", "resume-worker"):
                refused = http.post(
                    f"/ui/actions/{action}",
                    data={"worker_id": "w-eyes", "next": "/ui/workers", "confirmed": "yes"},
                    headers=_same_origin(broker),
                )
                assert refused.status_code == 403, action
        assert _state(broker, "w-eyes", OPS) == admin_pb.WORKER_STATE_QUIET
    finally:
        worker.stop()
