"""The Python examples of README.md and docs/workflows.md, extracted and run against a
real broker and a real `gopher-worker` process: each handler block becomes the worker's
module, and every `# prints: ...` comment of a client block is checked against what the
block printed, so the docs cannot drift from the SDK."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import _spawn
from tests.support import BrokerThread

ROOT = Path(__file__).resolve().parents[2]
DOCS_ADDRESS = "127.0.0.1:50051"
pytestmark = pytest.mark.timeout(120)


def python_blocks(doc: str, section: str) -> list[str]:
    """The ```python blocks of one section (a `## ` heading) of a Markdown file."""
    text = (ROOT / doc).read_text()
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, re.S)


def expected_lines(block: str) -> list[str]:
    """What the block says it prints: the text after each `# prints:`."""
    return [m.strip() for m in re.findall(r"# prints: (.*)$", block, re.M)]


def example(doc: str, section: str) -> tuple[str, str]:
    """The section's handler block (it makes a `Registry()`) and its client block."""
    blocks = python_blocks(doc, section)
    (handlers,) = [b for b in blocks if "Registry()" in b]
    (client,) = [b for b in blocks if "Client(" in b]
    return handlers, client


def run_example(broker: BrokerThread, tmp_path: Path, handlers: str, client: str) -> list[str]:
    """Serve `handlers` with a gopher-worker process, run `client`; its printed lines."""
    (tmp_path / "example_tasks.py").write_text(handlers)
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    argv = [sys.executable, "-m", "gopher_worker.main", "example_tasks:registry"]
    argv += ["--server", broker.address, "--log-level", "WARNING"]
    worker = _spawn("docs-worker", argv, "gopher-worker", env)
    try:
        worker.wait_ready()
        script = tmp_path / "client_example.py"
        script.write_text(client.replace(DOCS_ADDRESS, broker.address))
        ran = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=90
        )
    finally:
        worker.stop()
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.splitlines()


@pytest.mark.parametrize(
    ("doc", "section"),
    [
        ("README.md", "Writing handlers"),
        ("docs/workflows.md", "A complete example: process the video, then notify the user"),
    ],
)
def test_documented_examples_print_what_they_say(
    doc: str, section: str, broker: BrokerThread, tmp_path: Path
) -> None:
    handlers, client = example(doc, section)
    expected = expected_lines(client)
    assert len(expected) >= 3, f"the example in {doc} documents what it prints"
    assert run_example(broker, tmp_path, handlers, client) == expected
