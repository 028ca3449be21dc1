"""Fixtures of the cross-language tests: the Node SDK built once per session, and a
worker factory for either SDK that stops its processes after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.interop.sdks import build_node_sdk, node_or_skip, start_worker
from tests.processes import Proc
from tests.security.conftest import pki, tokens_file  # noqa: F401 (shared fixtures)


@pytest.fixture(scope="session")
def node_sdk() -> str:
    """`node`, with the SDK and its test programs compiled (skips without node/npm)."""
    node = node_or_skip()
    build_node_sdk()
    return node


@pytest.fixture
def conformance_log(tmp_path: Path) -> Path:
    """Where the conformance handlers note their events."""
    return tmp_path / "events.jsonl"


@pytest.fixture
def workers(request: pytest.FixtureRequest, conformance_log: Path) -> Iterator[Callable[..., Proc]]:
    """`workers(sdk, server, **options)` starts a conformance worker; all are stopped
    (SIGKILL if they do not exit) after the test."""
    started: list[Proc] = []
    count = [0]

    def make(sdk: str, server: str, **options: Any) -> Proc:
        if sdk == "node":
            request.getfixturevalue("node_sdk")
        count[0] += 1
        options.setdefault("worker_id", f"{sdk}-w{count[0]}")
        proc = start_worker(sdk, server, conformance_log, **options)
        started.append(proc)
        return proc

    yield make
    for proc in started:
        proc.stop(timeout_s=10)
