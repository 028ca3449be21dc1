"""The README's Node example, extracted from README.md, compiled and run against a real
broker, so it cannot drift from the SDK."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.interop.sdks import NODE_SDK, ROOT
from tests.support import BrokerThread

pytestmark = pytest.mark.timeout(120)


def readme_example() -> str:
    """The ```ts block of the README's "From another language" section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## From another language", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```ts\n(.*?)```", section, re.S)
    assert match, "the README's 'From another language' section has no ts example"
    return match.group(1)


def test_readme_node_example_runs(node_sdk: str, broker: BrokerThread, tmp_path: Path) -> None:
    """It compiles under strict TypeScript and prints the job's result."""
    # Inside the package directory, so `import "gopher-sdk"` resolves to the SDK itself.
    source = NODE_SDK / "build" / "readme-src" / "example.ts"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(readme_example())
    out_dir = NODE_SDK / "build" / "readme"
    tsc = NODE_SDK / "node_modules" / ".bin" / "tsc"
    flags = "--strict --target es2022 --module node16 --moduleResolution node16 --types node"
    paths = ["--rootDir", str(source.parent), "--outDir", str(out_dir), str(source)]
    compiled = subprocess.run(
        [str(tsc), *flags.split(), "--skipLibCheck", *paths],
        cwd=NODE_SDK,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    ran = subprocess.run(
        [node_sdk, str(out_dir / "example.js")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GOPHER_SERVER": broker.address, "GOPHER_LOG_LEVEL": "warn"},
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "{ delivered: true, to: 'a@b.c' }"
