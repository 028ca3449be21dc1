"""Health follows Redis: gRPC health NOT_SERVING and /readyz 503 while Redis is down."""

from __future__ import annotations

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gopher_server.embedded_redis import EmbeddedRedis, find_redis_binary
from tests.conftest import broker_config
from tests.support import BrokerThread, wait_until


def status(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = stub.Check(health_pb2.HealthCheckRequest(service="gopher.v1.JobService"), timeout=5)
        return int(reply.status)


def test_health_flips_when_redis_stops_and_recovers() -> None:
    redis = EmbeddedRedis(binary=find_redis_binary(prefer_path=True))
    redis.start()
    broker = BrokerThread(broker_config(redis.url, http_port=0)).start()
    try:
        serving, not_serving = (
            health_pb2.HealthCheckResponse.SERVING,
            health_pb2.HealthCheckResponse.NOT_SERVING,
        )
        assert status(broker.address) == serving
        assert httpx.get(f"{broker.http_url}/readyz").status_code == 200
        redis.stop()
        wait_until(lambda: status(broker.address) == not_serving, 10, "NOT_SERVING")
        assert httpx.get(f"{broker.http_url}/readyz").status_code == 503
        assert httpx.get(f"{broker.http_url}/healthz").status_code == 200  # alive, not ready
        restarted = EmbeddedRedis(port=redis.port, data_dir=redis.data_dir, binary=redis.binary)
        restarted.start()
        redis = restarted
        wait_until(lambda: status(broker.address) == serving, 15, "SERVING again")
    finally:
        broker.stop()
        redis.cleanup()
