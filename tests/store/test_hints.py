"""A broker's hints of where work may be (store/hints.py): which partitions a
stream's dispatch looks in, and in what order."""

from __future__ import annotations

from collections import Counter

from gopher_server.store.hints import Hints


def test_dispatches_in_cycles_still_start_at_every_partition() -> None:
    # Three callers taking turns (a worker's refills and wake-ups, other workers)
    # must each start at all six partitions about equally often, not at the two a
    # counter stepping by three reaches: those would drain twice as fast as the rest.
    hints = Hints(6)
    starts = [Counter[int]() for _ in range(3)]
    for _ in range(3000):
        for seen in starts:
            seen[hints.candidates(["email"])[0]] += 1
    for seen in starts:
        assert set(seen) == set(range(6))
        assert min(seen.values()) >= 3000 / 6 * 0.7, seen  # 500 expected, sd about 20
    # All callers together: every partition started exactly as often (whole laps).
    assert sum(starts, Counter[int]()) == dict.fromkeys(range(6), 1500)


def test_candidates_skip_partitions_known_to_be_empty() -> None:
    hints = Hints(3)
    for k in range(3):
        hints.drained(k, ["email"])
    hints.mark(1, "email")
    assert hints.candidates(["email"]) == [1]
    assert sorted(hints.candidates(["sms"])) == [0, 1, 2]  # never looked for: unknown
    hints.unknown(2)
    assert sorted(hints.candidates(["email"])) == [1, 2]
