"""Regenerate generated/ from protos/ (the one way to produce generated code).

Usage: python scripts/gen_protos.py [--check]

--check regenerates into a temporary directory and exits 1 if generated/ differs,
which is how CI proves the checked-in code matches the contract.
"""

from __future__ import annotations

import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
THIRD_PARTY = ROOT / "third_party" / "googleapis"
OUT = ROOT / "generated"


def _generate(out_dir: Path) -> None:
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    builtin = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{THIRD_PARTY}",
        f"-I{builtin}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    # Make every generated directory a regular package so setuptools and mypy find it.
    for directory in [
        out_dir / "gopher",
        *(p for p in (out_dir / "gopher").rglob("*") if p.is_dir()),
    ]:
        (directory / "__init__.py").touch()


def _diff(a: Path, b: Path) -> list[str]:
    cmp = filecmp.dircmp(a, b, ignore=["__pycache__"])
    problems = [f"only in {cmp.left}: {n}" for n in cmp.left_only]
    problems += [f"only in {cmp.right}: {n}" for n in cmp.right_only]
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    problems += [f"differs: {a / n}" for n in mismatch + errors]
    for sub in cmp.common_dirs:
        problems += _diff(a / sub, b / sub)
    return problems


def main() -> int:
    if "--check" in sys.argv[1:]:
        with tempfile.TemporaryDirectory() as tmp:
            _generate(Path(tmp))
            problems = _diff(Path(tmp) / "gopher", OUT / "gopher")
        if problems:
            print("generated/ is stale; run python scripts/gen_protos.py", *problems, sep="\n")
            return 1
        print("generated/ is up to date")
        return 0
    shutil.rmtree(OUT / "gopher", ignore_errors=True)
    OUT.mkdir(exist_ok=True)
    _generate(OUT)
    print(f"generated code written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
