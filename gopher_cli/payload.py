"""Reading a job payload from the command line, a file or stdin, and checking it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

# JSON type names for the "must be an object" message.
_KINDS: dict[type, str] = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


class PayloadError(ValueError):
    """The payload could not be read or is not a JSON object; the message says why."""


def read_payload(spec: str | None, stdin: TextIO | None = None) -> str:
    """Return the payload as compact JSON text from an option value.

    `spec` is inline JSON, `@path` to read a file, or `-` to read `stdin` (None: the
    process's stdin). None or empty means an empty object. The result is checked to be a
    JSON object, because handlers receive keyword-like input. Raises PayloadError.
    """
    if spec is None or spec == "":
        return "{}"
    source = "--payload"
    if spec == "-":
        text = (stdin or sys.stdin).read()
        source = "--payload from stdin"
    elif spec.startswith("@"):
        path = Path(spec[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else error
            raise PayloadError(f"--payload: cannot read {path}: {reason}") from None
        source = f"--payload file {path}"
    else:
        text = spec
    try:
        value = json.loads(text)
    except ValueError as error:
        raise PayloadError(f"{source} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        kind = _KINDS.get(type(value), type(value).__name__)
        raise PayloadError(f"{source} must be a JSON object, not {kind}")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
