"""Each script carries exactly the Lua libraries it calls (store/scripts.py LIBRARIES
and INCLUDES): none it never calls, and every one whose names it uses."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from gopher_server.store import lua_sources as scripts

LUA = resources.files("gopher_server.store") / "lua"
# Top-level definitions: `local function name(` and `local a, b = ...` at column 0.
DEFINITION = re.compile(r"^local (?:function (\w+)|([\w, ]+?) =)", re.MULTILINE)
COMMENT = re.compile(r"--.*$", re.MULTILINE)


def code_of(name: str) -> str:
    """The file's text without its comments (names in comments call nothing)."""
    return COMMENT.sub("", (LUA / f"{name}.lua").read_text())


def defined_in(name: str) -> set[str]:
    names: set[str] = set()
    for function, variables in DEFINITION.findall(code_of(name)):
        names |= {function} if function else {v.strip() for v in variables.split(",")}
    return names


DEFINED = {lib: defined_in(lib) for lib in scripts.LIBRARIES}


def used_by(text: str, but: str = "") -> set[str]:
    """The libraries (other than `but`) whose definitions `text` names."""
    words = set(re.findall(r"\b\w+\b", text))
    return {lib for lib, names in DEFINED.items() if lib != but and names & words}


def test_the_libraries_define_distinct_names() -> None:
    prelude = defined_in(scripts.PRELUDE)
    seen: dict[str, str] = {name: scripts.PRELUDE for name in prelude}
    for lib, names in DEFINED.items():
        assert names, f"{lib} defines nothing"
        for name in names:
            assert name not in seen, f"{name} is defined in {seen[name]} and {lib}"
            seen[name] = lib


@pytest.mark.parametrize("lib", sorted(scripts.LIBRARIES))
def test_a_library_declares_exactly_the_libraries_it_calls(lib: str) -> None:
    assert used_by(code_of(lib), but=lib) == set(scripts.LIBRARIES[lib])


@pytest.mark.parametrize("name", scripts.SCRIPT_NAMES)
def test_a_script_includes_exactly_what_it_calls(name: str) -> None:
    # The libraries its body calls, then, transitively, the ones those call.
    needed = used_by(code_of(name))
    frontier = set(needed)
    while frontier:
        frontier = set().union(*(used_by(code_of(lib), but=lib) for lib in frontier)) - needed
        needed |= frontier
    included = scripts.libraries_of(name)
    assert set(included) == needed
    # Dependencies come first: each library sees the ones it calls already defined.
    for i, lib in enumerate(included):
        assert set(scripts.LIBRARIES[lib]) <= set(included[:i]), (name, lib)
    assert scripts.script_source(name).startswith((LUA / "_prelude.lua").read_text())
