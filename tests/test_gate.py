"""`./run check` is the one gate; `.ci/run` calls it rather than repeating its steps."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What the gate must run, as fragments of its commands.
GATE_STEPS = (
    'ruff" format --check',
    'ruff" check',
    'mypy" --strict',
    "scripts/gen_protos.py --check",
    "scripts/buf.sh lint",
    "gen:check",
    "scripts/check_docs.py",
)


def _commands(path: Path) -> list[str]:
    """The script's non-comment lines, stripped."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _check_section() -> list[str]:
    commands = _commands(ROOT / "run")
    start = commands.index("check)")
    return commands[start : commands.index(";;", start)]


def _readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^(\./run \w+)\s+# the whole test suite", readme, re.M)
    assert match, "the README's Quickstart names no test command"
    return match.group(1)


def test_run_check_runs_every_step_and_ends_with_the_readme_test_command() -> None:
    section = "\n".join(_check_section())
    for step in GATE_STEPS:
        assert step in section, step
    assert _readme_test_command() == "./run test"
    assert section.splitlines()[-1].startswith('exec "$0" test')  # i.e. ./run test


def test_ci_calls_the_gate_and_repeats_none_of_its_steps() -> None:
    ci = _commands(ROOT / ".ci" / "run")
    assert "./run check" in ci
    text = "\n".join(ci)
    for fragment in ("ruff", "mypy", "gen_protos.py", "buf.sh lint", "gen:check", "pytest"):
        assert fragment not in text, f".ci/run repeats {fragment!r}"
    assert "./run test" not in ci  # the gate runs it, once
    # Its own extras come after the gate.
    gate = ci.index("./run check")
    assert any("buf.sh breaking" in line for line in ci[gate:])
    assert "scripts/smoke.sh" in ci[gate:]
