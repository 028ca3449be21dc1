"""Docs check: every repo path, file name and relative link in README.md and docs/ exists.

    python scripts/check_docs.py [ROOT]     (ROOT: the repository, default this one)

Checked, in inline code and fenced blocks:
- a path whose first part is a top-level entry of the repo (`scripts/smoke.sh`,
  `sdk/typescript/src/gen`) must exist from the repo root;
- any other path or bare name ending in a source extension (`lua/ack.lua`, `store.py`)
  must be the end of some file's path in the repo.
And every relative Markdown link must resolve from the file it is in (anchors aside).
Prints one line per problem, `file:line: ...`, and exits 1 if there is any.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

# Names with these endings are taken as files of the repo wherever they appear in code.
SOURCE_SUFFIXES = (".py", ".lua", ".proto", ".sh", ".ts", ".md", ".toml", ".yaml", ".json")
# Never part of the repo's own files: tool caches, installs, build output.
SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache", "dist"}
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
INLINE_CODE = re.compile(r"`([^`\n]+)`")
# A token that may name a file: path characters only, no globs, placeholders or URLs.
TOKEN = re.compile(r"^\.?/?[A-Za-z0-9_][A-Za-z0-9_./-]*$")


def repo_files(root: Path) -> list[str]:
    """Every file under root, as a POSIX path relative to it (skipping SKIP_DIRS)."""
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [d for d in subdirs if d not in SKIP_DIRS]
        rel = Path(directory).relative_to(root)
        found += [(rel / name).as_posix() for name in files]
    return found


def ignored_patterns(root: Path, files: list[str]) -> list[tuple[str, str]]:
    """(directory, pattern) of every .gitignore line: such paths are made by tools (a
    virtualenv, benchmark logs), so the docs may name them before they exist."""
    patterns = []
    for name in files:
        if name == ".gitignore" or name.endswith("/.gitignore"):
            base = name.removesuffix(".gitignore").rstrip("/")
            for line in (root / name).read_text(encoding="utf-8").splitlines():
                if line.strip() and not line.startswith(("#", "!")):
                    patterns.append((base, line.strip().strip("/")))
    return patterns


def is_ignored(path: str, patterns: list[tuple[str, str]]) -> bool:
    """Whether a .gitignore pattern covers `path` or one of its parent directories."""
    for base, pattern in patterns:
        rel = (
            path
            if not base
            else path.removeprefix(base + "/")
            if path.startswith(base + "/")
            else None
        )
        if rel is None:
            continue
        parts = rel.rstrip("/").split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(p, pattern) for p in prefixes):
            return True
    return False


def doc_files(root: Path) -> list[Path]:
    """README.md and every Markdown file under docs/."""
    docs = sorted((root / "docs").rglob("*.md")) if (root / "docs").is_dir() else []
    return [p for p in [root / "README.md", *docs] if p.is_file()]


def code_tokens(text: str) -> Iterator[tuple[int, str]]:
    """(line number, word) for each word in inline code spans and fenced code blocks."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        spans = [line] if fenced else INLINE_CODE.findall(line)
        for span in spans:
            for word in re.split(r"[\s'\"(),;=\[\]]+", span):
                word = word.rstrip(".:")
                if word and TOKEN.match(word) and "//" not in word:
                    yield number, word


def path_problem(
    word: str, root: Path, files: list[str], ignored: list[tuple[str, str]]
) -> str | None:
    """Why `word` names nothing in the repo, or None if it is fine or not a path."""
    stripped = word.removeprefix("./")
    first = stripped.split("/", 1)[0]
    top_level = {f.split("/", 1)[0] for f in files}
    if "/" in stripped and first in top_level:
        if (root / stripped).exists() or is_ignored(stripped, ignored):
            return None
        return f"no such path: {word}"
    if stripped.endswith(SOURCE_SUFFIXES) and not word.startswith("."):
        if any(f == stripped or f.endswith("/" + stripped) for f in files):
            return None
        return f"no file named {word}"
    return None


def link_problem(target: str, doc: Path) -> str | None:
    """Why a Markdown link target does not resolve, or None (external links pass)."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
        return None
    path = target.split("#", 1)[0]
    return None if (doc.parent / path).exists() else f"broken link: {target}"


def check(root: Path) -> list[str]:
    """Every problem found under root, as `file:line: message`."""
    files = repo_files(root)
    ignored = ignored_patterns(root, files)
    problems = []
    for doc in doc_files(root):
        text = doc.read_text(encoding="utf-8")
        name = doc.relative_to(root).as_posix()
        for number, word in code_tokens(text):
            if problem := path_problem(word, root, files, ignored):
                problems.append(f"{name}:{number}: {problem}")
        for number, line in enumerate(text.splitlines(), 1):
            for target in LINK.findall(line):
                if problem := link_problem(target, doc):
                    problems.append(f"{name}:{number}: {problem}")
    return problems


def main(argv: list[str]) -> int:
    """Check the repo (argv[0], default the parent of scripts/); 1 if anything is wrong."""
    root = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent
    problems = check(root.resolve())
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
