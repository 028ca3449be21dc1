"""scripts/check_docs.py: the docs name only paths, files and links that exist."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKER = ROOT / "scripts" / "check_docs.py"


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECKER), str(root)], capture_output=True, text=True, timeout=60
    )


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_checker_reports_each_missing_path_file_and_link(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "scripts/run.sh": "",
            "pkg/store/lua/ack.lua": "",
            "pkg/store.py": "",
            "tools/.gitignore": "cache/\n",
            "README.md": (
                "Run `scripts/run.sh` and `scripts/gone.sh`.\n"
                "The script `lua/ack.lua` and `store.py`, not `nack.lua`.\n"
                "See [docs](docs/guide.md#intro), [gone](docs/missing.md), [web](https://x.example).\n"
                "```\n"
                "python pkg/store.py --out tools/cache/x.json\n"
                "python pkg/absent.py\n"
                "```\n"
            ),
            "docs/guide.md": "Back to [the README](../README.md) and [here](#top).\n",
        },
    )
    result = _check(tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "README.md:1: no such path: scripts/gone.sh",
        "README.md:2: no file named nack.lua",
        "README.md:6: no such path: pkg/absent.py",
        "README.md:3: broken link: docs/missing.md",
    ]


def test_checker_passes_a_tree_whose_docs_are_right(tmp_path: Path) -> None:
    _write(tmp_path, {"README.md": "See [guide](docs/a.md).\n", "docs/a.md": "`README.md`\n"})
    result = _check(tmp_path)
    assert (result.returncode, result.stdout) == (0, "")


def test_repository_docs_pass_the_check() -> None:
    result = _check(ROOT)
    assert result.returncode == 0, result.stdout
