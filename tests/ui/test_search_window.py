"""A filter that matches few of many jobs: each page searches a bounded window (so it
answers at once with a million jobs), says how far it searched, and its next link
searches on until the matches are found."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx
import pytest

from gopher_client import Client, JobState
from gopher_server.store import listing
from tests.cli.protocol_worker import Fail, ProtocolWorker
from tests.support import BrokerThread, wait_until

NEXT = re.compile(r'rel="next" href="([^"]*)"')


def _dead(client: Client, ids: list[str]) -> bool:
    return all(client.get_job(j).state == JobState.DEAD for j in ids)


def _next(page: str) -> str:
    found = NEXT.search(page)
    assert found, "no next link"
    return found.group(1).replace("&amp;", "&")


def test_a_sparse_dlq_filter_says_how_far_it_searched_and_its_link_finds_the_match(
    broker: BrokerThread,
    start_worker: Callable[..., ProtocolWorker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(listing, "MAX_SCAN", 5)
    start_worker(["imp"], lambda job: Fail("OSError", json.loads(job.payload_json)["error"]))
    with Client(broker.address) as client:
        # The oldest dead job is the only one with a quota error; 14 newer ones timed out.
        rare = client.submit_job("imp", {"error": "disk quota exceeded"}, retries=0)
        wait_until(lambda: _dead(client, [rare]), 15, "the quota job to die")
        others = [
            client.submit_job("imp", {"error": f"timed out {n}"}, retries=0) for n in range(14)
        ]
        wait_until(lambda: _dead(client, others), 15, "the other jobs to die")
    with httpx.Client(base_url=broker.http_url, timeout=15) as http:
        first = http.get("/ui/dlq", params={"error": "QUOTA"}).text
        assert "Searched 5 dead jobs from the newest, newest first, of 15: 0 match." in first
        assert "No dead jobs match." not in first and "Search the next 5 →" in first
        second = http.get(_next(first)).text
        assert "Searched 5 dead jobs from here" in second and rare not in second
        third = http.get(_next(second)).text
        assert f'data-job="{rare}"' in third and "disk quota exceeded" in third
        assert "Searched" not in third and 'rel="next"' not in third  # the end: nothing more
        # Without a filter every job read is shown: no window, no note.
        everything = http.get("/ui/dlq").text
        assert "Searched" not in everything and everything.count("data-job=") == 15


def test_a_sparse_jobs_filter_says_how_far_it_searched(
    broker: BrokerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "MAX_SCAN", 5)
    with Client(broker.address) as client:
        for n in range(8):  # scheduled jobs are searched before the DLQ and finished ones
            client.submit_job("later", {"n": n}, delay_s=600)
        wanted = client.submit_job("wanted", {}, delay_s=600)
    with httpx.Client(base_url=broker.http_url, timeout=15) as http:
        first = http.get("/ui/jobs", params={"type": "wanted", "state": "scheduled"}).text
        assert "Searched 5 jobs from the start: 0 match." in first
        assert "No jobs match." not in first and wanted not in first
        second = http.get(_next(first)).text
        assert f'data-job="{wanted}"' in second and "Searched" not in second
