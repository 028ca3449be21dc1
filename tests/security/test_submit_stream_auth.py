"""SubmitJobStream is authorised like SubmitJob: the same refusals for a missing or
wrong token and a role without JobService, and each message counts against the
per-token submit rate limit. Real broker, real Redis."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gopher_client import Client, LimitExceeded, PermissionDenied, Unauthenticated
from tests.security.conftest import token
from tests.support import BrokerThread

Factory = Callable[..., BrokerThread]


def test_auth_is_refused_like_unary(broker_factory: Factory, tokens_file: Path) -> None:
    broker = broker_factory(auth_tokens_file=str(tokens_file))
    refusals: list[tuple[dict[str, str], type[Exception]]] = [
        ({}, Unauthenticated),
        ({"token": "not-a-configured-token"}, Unauthenticated),
        ({"token": token("viewer")}, PermissionDenied),
        ({"token": token("worker")}, PermissionDenied),
    ]
    for config, expected in refusals:
        for stream in (True, False):
            client = Client(broker.address, submit_stream=stream, **config)
            with client, pytest.raises(expected):
                client.submit_job("email")
    with Client(broker.address, token=token("submitter")) as client:
        assert client.submit_job("email")


def test_each_stream_message_counts_against_the_rate_limit(
    broker_factory: Factory, tokens_file: Path
) -> None:
    broker = broker_factory(
        auth_tokens_file=str(tokens_file), submit_rate_per_s=0.01, submit_burst=2
    )
    with Client(broker.address, token=token("submitter")) as client:
        client.submit_job("email")
        client.submit_job("email")
        with pytest.raises(LimitExceeded) as caught:
            client.submit_job("email")
        assert caught.value.retry_after_s and caught.value.retry_after_s > 0
    with Client(broker.address, token=token("pipeline")) as other:
        assert other.submit_job("email")  # another token has its own bucket
