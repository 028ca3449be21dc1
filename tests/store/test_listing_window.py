"""Filtered listings examine a bounded window per call: a filter that matches few jobs
gives short (even empty) pages with a token, and following the tokens finds every
match exactly once, in order."""

from __future__ import annotations

import pytest

from gopher_server.store import listing
from gopher_server.store.records import NackItem
from gopher_server.store.store import Store
from tests.conftest import FakeClock
from tests.store.helpers import lease_one, new_job


async def _kill(store: Store, clock: FakeClock, job_id: str, error: str, priority: str) -> None:
    await store.submit([new_job(job_id, "imp", priority=priority)])
    lease = await lease_one(store, types=("imp",))
    assert await store.nack(
        [NackItem(job_id, lease.token, "OSError", error, non_retryable=True)]
    ) == ["dead"]
    clock.advance(1000)


async def _pages(store: Store, **filters: str) -> list[list[str]]:
    pages: list[list[str]] = []
    token = ""
    while True:
        records, token = await listing.list_jobs(
            store, state="dead", page_size=3, page_token=token, **filters
        )
        pages.append([r.id for r in records])
        if not token:
            return pages


@pytest.mark.one_partition
async def test_a_sparse_error_filter_searches_a_window_per_call_and_finds_every_match(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "MAX_SCAN", 4)
    monkeypatch.setattr(listing, "SCAN_CHUNK", 3)  # script calls of 3 ids, then 1
    # Oldest first: d0 .. d11; the quota errors are d0 (high) and d6 (normal).
    for n in range(12):
        error = "Disk QUOTA exceeded" if n in (0, 6) else f"timed out after {n} s"
        await _kill(store, clock, f"d{n}", error, "high" if n % 2 == 0 else "normal")
    # Newest first, 4 examined per call: d11-d8, d7-d4 (finds d6), d3-d0 (finds d0).
    assert await _pages(store, error_contains="quota") == [[], ["d6"], ["d0"]]
    # The same window bounds a priority filter; "normal" is the value left unstored.
    normal = await _pages(store, priority="normal")
    assert normal == [["d11", "d9"], ["d7", "d5"], ["d3", "d1"]]
    # A page that fills stops there; the next call resumes right after its last match.
    timed_out = await _pages(store, error_contains="timed out")
    assert [j for page in timed_out for j in page] == [
        f"d{n}" for n in range(11, -1, -1) if n not in (0, 6)
    ]
    assert all(len(page) <= 3 for page in timed_out)


async def test_error_text_matches_case_insensitively_ascii_or_not(
    store: Store, clock: FakeClock
) -> None:
    await _kill(store, clock, "a", "Échec: Disk Quota exceeded", "normal")
    await _kill(store, clock, "b", "échec: timed out", "low")
    await _kill(store, clock, "c", "connection refused", "high")
    # An ASCII needle is matched in Redis, a non-ASCII one in the broker: same folding.
    assert await _pages(store, error_contains="disk QUOTA") == [["a"]]
    assert await _pages(store, error_contains="ÉCHEC") == [["b", "a"]]
    assert await _pages(store, error_contains="échec: t", priority="low") == [["b"]]
    assert await _pages(store, error_contains="nowhere") == [[]]
