"""Admin calls refuse out-of-range numbers with INVALID_ARGUMENT naming the field."""

from __future__ import annotations

import math

import pytest

from gopher_client import Client, InvalidArgument
from tests.support import BrokerThread


@pytest.mark.parametrize("age", [-1.0, math.nan, math.inf, 1.7976931348623157e305])
def test_purge_refuses_an_age_out_of_range(broker: BrokerThread, age: float) -> None:
    with Client(broker.address) as client:
        with pytest.raises(InvalidArgument, match="older_than_s must be between") as caught:
            client.purge_dead_jobs(older_than_s=age)
        assert caught.value.field == "older_than_s"
        assert client.purge_dead_jobs(older_than_s=3600) == 0
