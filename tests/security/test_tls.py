"""TLS and mTLS on the gRPC and HTTP ports, with certificates made at test time."""

from __future__ import annotations

import ssl
from collections.abc import Callable

import httpx
import pytest
from gopher.v1 import job_pb2

from gopher_client import Client, ConnectionFailed, Job, is_final
from tests.cli.conftest import Run
from tests.processes import start_worker
from tests.security.certs import Pem
from tests.security.conftest import Pki
from tests.support import BrokerThread, wait_until

Factory = Callable[..., BrokerThread]


def _tls(pki: Pki, mutual: bool = False, prefix: str = "") -> dict[str, object]:
    settings: dict[str, object] = {
        f"{prefix}tls_cert_file": str(pki.server.cert_file),
        f"{prefix}tls_key_file": str(pki.server.key_file),
    }
    if mutual:
        settings[f"{prefix}tls_client_ca_file"] = str(pki.ca.cert_file)
    return settings


def _stats(address: str, ca: Pem | None, client: Pem | None = None) -> object:
    settings: dict[str, object] = {"timeout_s": 5}
    if ca is not None:
        settings["root_cert"] = ca.cert
    if client is not None:
        settings |= {"cert": client.cert, "key": client.key}
    with Client(address, **settings) as sdk:
        return sdk.queue_stats()


def test_grpc_tls_serves_verified_clients_only(broker_factory: Factory, pki: Pki) -> None:
    broker = broker_factory(**_tls(pki))
    _stats(broker.address, pki.ca)  # 127.0.0.1 is in the certificate's names
    assert broker.broker is not None
    _stats(f"localhost:{broker.broker.port}", pki.ca)
    with pytest.raises(ConnectionFailed):
        _stats(broker.address, None)  # plaintext against a TLS port
    with pytest.raises(ConnectionFailed):
        _stats(broker.address, pki.stranger)  # trusting only a root that did not sign it


def test_grpc_mtls_requires_a_certificate_from_the_client_ca(
    broker_factory: Factory, pki: Pki
) -> None:
    broker = broker_factory(**_tls(pki, mutual=True))
    _stats(broker.address, pki.ca, pki.client)
    with pytest.raises(ConnectionFailed):
        _stats(broker.address, pki.ca)  # no client certificate
    with pytest.raises(ConnectionFailed):
        _stats(broker.address, pki.ca, pki.stranger)  # signed by another CA


def test_gopherctl_uses_tls_from_the_environment(
    broker_factory: Factory, pki: Pki, gopherctl: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = broker_factory(**_tls(pki, mutual=True))
    monkeypatch.setenv("GOPHER_TLS_CA", str(pki.ca.cert_file))
    result = gopherctl("queues", "--server", broker.address, "-o", "json")
    assert result.exit_code == 1 and "cannot reach broker" in result.stderr  # no client cert
    monkeypatch.setenv("GOPHER_TLS_CLIENT_CERT", str(pki.client.cert_file))
    result = gopherctl("queues", "--server", broker.address, "-o", "json")
    assert result.exit_code == 2 and "go together" in result.stderr
    monkeypatch.setenv("GOPHER_TLS_CLIENT_KEY", str(pki.client.key_file))
    result = gopherctl("queues", "--server", broker.address, "-o", "json")
    assert result.exit_code == 0, result.stderr


def _https(pki: Pki, client: Pem | None = None) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(pki.ca.cert_file))
    if client is not None:
        context.load_cert_chain(str(client.cert_file), str(client.key_file))
    return httpx.Client(verify=context, timeout=10)


def test_https_serves_health_metrics_and_rest(broker_factory: Factory, pki: Pki) -> None:
    broker = broker_factory(http_port=0, **_tls(pki, prefix="http_"))
    assert broker.broker is not None
    base = f"https://localhost:{broker.broker.http_port}"
    with _https(pki) as http:
        assert http.get(f"{base}/healthz").status_code == 200
        assert http.get(f"{base}/metrics").status_code == 200
        created = http.post(f"{base}/api/jobs", json={"type": "email", "payload": {}})
        assert created.status_code == 201, created.text
    with pytest.raises(httpx.ConnectError), httpx.Client(timeout=5) as plain:
        plain.get(f"{base}/healthz")  # the CA is not trusted by default
    with pytest.raises(httpx.HTTPError), httpx.Client(timeout=5) as plain:
        plain.get(f"http://localhost:{broker.broker.http_port}/healthz")  # plaintext


def test_https_with_client_ca_requires_client_certificates(
    broker_factory: Factory, pki: Pki
) -> None:
    broker = broker_factory(http_port=0, **_tls(pki, mutual=True, prefix="http_"))
    assert broker.broker is not None
    url = f"https://localhost:{broker.broker.http_port}/healthz"
    with _https(pki, pki.client) as http:
        assert http.get(url).status_code == 200
    with pytest.raises(httpx.HTTPError), _https(pki) as http:
        http.get(url)
    with pytest.raises(httpx.HTTPError), _https(pki, pki.stranger) as http:
        http.get(url)


def test_rest_shim_reaches_a_tls_only_grpc_port(broker_factory: Factory, pki: Pki) -> None:
    broker = broker_factory(http_port=0, **_tls(pki, mutual=True))
    with httpx.Client(timeout=10) as http:
        response = http.post(f"{broker.http_url}/api/jobs", json={"type": "email"})
    assert response.status_code == 201, response.text


def test_bad_tls_settings_refuse_to_start(broker_factory: Factory, pki: Pki) -> None:
    from gopher_server.config import ConfigError

    with pytest.raises(ConfigError, match="both a certificate and a private key"):
        broker_factory(tls_cert_file=str(pki.server.cert_file))
    with pytest.raises(ConfigError, match="client CA needs TLS"):
        broker_factory(http_tls_client_ca_file=str(pki.ca.cert_file))
    with pytest.raises(ConfigError, match="cannot read the gRPC TLS private key"):
        broker_factory(tls_cert_file=str(pki.server.cert_file), tls_key_file="/nonexistent")


def _final(client: Client, job_id: str) -> Job | None:
    job = client.get_job(job_id)
    return job if is_final(job) else None


def test_a_worker_process_runs_jobs_over_mtls(
    broker_factory: Factory, pki: Pki, redis_url: str
) -> None:
    broker = broker_factory(**_tls(pki, mutual=True))
    worker = start_worker(
        broker.address,
        redis_url,
        "--tls-ca",
        str(pki.ca.cert_file),
        "--tls-client-cert",
        str(pki.client.cert_file),
        "--tls-client-key",
        str(pki.client.key_file),
    )
    try:
        with Client(
            broker.address, root_cert=pki.ca.cert, cert=pki.client.cert, key=pki.client.key
        ) as client:
            job_id = client.submit_job("record", {})
            job = wait_until(lambda: _final(client, job_id), 20, "the job final")
            assert job.state == job_pb2.JOB_STATE_SUCCEEDED
    finally:
        worker.stop()
