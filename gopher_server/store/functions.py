"""The scripts as one Redis Functions library (Redis 7+, Valkey): loaded once per node,
called with FCALL.

Why: an EVALSHA runs its whole text on every call, so every call first re-creates the
closures of every library it includes (30-50 of them, each capturing up to dozens of
upvalues). Measured on one node, that is 6-11 µs of Redis CPU per call before the
script does any work, against about 4 µs for an empty script with the same arguments.
A library runs its definitions once, at FUNCTION LOAD; a call only runs its body.

The library is built from the same files as the scripts (store/lua_sources.py), so both
forms stay one source. What must be fresh on every call (the prelude's names bound to
KEYS and ARGV, and each library's per-call state such as its deferred writes) is every
top-level `local name = expr` line of a file: the library declares the names once and
each function re-assigns them, in file order, before its body, as an EVAL would. Any
other top-level statement in a library file is refused here, so the two forms cannot
drift apart.

Function names are global on a Redis node, so the library and its functions carry a
hash of the library's text: brokers of different versions sharing a Redis each call
their own code.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis.exceptions

from gopher_server.store.lua_sources import (
    INCLUDES,
    PRELUDE,
    PUBLISH_LINE,
    SCRIPT_NAMES,
    SHARDED_PUBLISH_LINE,
    libraries_of,
)

# A top-level binding re-run on every call: `local a = ...` or `local a, b = ...`.
_BINDING = re.compile(r"^local ((?:[A-Za-z_]\w*)(?:, *[A-Za-z_]\w*)*) = (.+)$")
_FUNCTION_START = re.compile(r"^local function (\w+)\(")


@dataclass(frozen=True)
class FunctionLibrary:
    """One library's source and the FCALL name of each script in it."""

    name: str
    source: str
    functions: dict[str, str]

    def function_of(self, script: str) -> str:
        return self.functions[script]


@dataclass
class _File:
    """A library file split into what runs once (definitions) and on every call."""

    name: str
    definitions: list[str]
    bindings: list[tuple[str, str]]  # (names, expression), in file order

    @property
    def begin(self) -> str:
        return f"__begin{self.name}"


def _split(name: str, text: str) -> _File:
    """Separate a library file's per-call bindings from its function definitions."""
    definitions: list[str] = []
    bindings: list[tuple[str, str]] = []
    in_function = False
    for line in text.splitlines():
        if in_function:
            definitions.append(line)
            in_function = line != "end"
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("--"):
            continue
        if _FUNCTION_START.match(line):
            definitions.append(line)
            in_function = not line.rstrip().endswith(" end")
            continue
        binding = _BINDING.match(line)
        if binding is None:
            raise ValueError(f"{name}.lua: a top-level statement a library cannot hold: {line!r}")
        bindings.append((binding.group(1), _strip_comment(binding.group(2))))
    return _File(name, definitions, bindings)


def _strip_comment(expression: str) -> str:
    """The expression without a trailing `-- comment` (none of ours holds '--' in a string)."""
    return expression.split(" --", 1)[0].rstrip()


def _declarations(files: list[_File]) -> list[str]:
    lines = ["local KEYS, ARGV"]
    for f in files:
        names = [n.strip() for names, _ in f.bindings for n in names.split(",")]
        if names:
            lines.append("local " + ", ".join(names))
    return lines


def _begin_function(f: _File) -> list[str]:
    body = [f"  {names} = {expression}" for names, expression in f.bindings]
    return [f"local function {f.begin}()", *body, "end"]


def _read(name: str) -> str:
    return (resources.files("gopher_server.store") / "lua" / f"{name}.lua").read_text()


def build_library(cluster: bool = False) -> FunctionLibrary:
    """The library holding every script of SCRIPT_NAMES; `cluster` announces with
    SPUBLISH on the partition's own channel, like the scripts' `#!lua` form."""
    prelude = _read(PRELUDE)
    if cluster:
        prelude = prelude.replace(PUBLISH_LINE, SHARDED_PUBLISH_LINE, 1)
    order: list[str] = []
    for script in SCRIPT_NAMES:
        order += [lib for lib in libraries_of(script) if lib not in order]
    files = [_split(PRELUDE, prelude), *(_split(lib, _read(lib)) for lib in order)]
    by_name = {f.name: f for f in files}

    chunk = _declarations(files)
    for f in files:
        if f.bindings:
            chunk += _begin_function(f)
        chunk += f.definitions
    text = "\n".join(chunk)
    code = "\n".join([text, *(_read(script) for script in SCRIPT_NAMES)])
    tag = hashlib.sha1(code.encode()).hexdigest()[:12]
    name = f"gopher_{tag}"
    functions = {script: f"{name}_{script}" for script in SCRIPT_NAMES}
    registrations = []
    for script in SCRIPT_NAMES:
        begins = [
            f"  {by_name[part].begin}()"
            for part in (PRELUDE, *libraries_of(script))
            if by_name[part].bindings
        ]
        registrations += [
            f"redis.register_function('{functions[script]}', function(keys, argv)",
            "  KEYS, ARGV = keys, argv",
            *begins,
            _read(script),
            "end)",
        ]
    source = "\n".join([f"#!lua name={name}", text, *registrations]) + "\n"
    assert set(functions) == set(INCLUDES)
    return FunctionLibrary(name=name, source=source, functions=functions)


# FCALL of a function the node does not hold (a new node, a FUNCTION FLUSH): nothing ran.
_NOT_FOUND = re.compile(r"function not found", re.IGNORECASE)
# A server before Redis 7 has no FCALL: the caller falls back to EVALSHA.
_NO_FCALL = re.compile(r"unknown command .?fcall", re.IGNORECASE)
_ALREADY_LOADED = re.compile(r"already exists", re.IGNORECASE)


class FunctionsUnsupported(Exception):
    """The server has no Redis Functions (before Redis 7): use the scripts."""


Send = Callable[[tuple[Any, ...]], Awaitable[Any]]


async def fcall(
    send: Send, library: FunctionLibrary, script: str, keys: list[str], args: list[Any]
) -> Any:
    """Run `script` of `library` with FCALL through `send`, loading the library first on
    a node that does not hold it (FCALL then failed before running anything, so the
    second call is the only run)."""
    command = ("FCALL", library.function_of(script), len(keys), *keys, *args)
    try:
        return await send(command)
    except redis.exceptions.ResponseError as exc:
        if _NO_FCALL.search(str(exc)):
            raise FunctionsUnsupported(str(exc)) from None
        if not _NOT_FOUND.search(str(exc)):
            raise
    try:
        await send(("FUNCTION", "LOAD", library.source))
    except redis.exceptions.ResponseError as exc:
        if not _ALREADY_LOADED.search(str(exc)):  # another broker loaded it meanwhile
            raise
    return await send(command)
