"""Path templates of `google.api.http` rules, compiled to regular expressions.

Grammar (from google/api/http.proto):

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    Verb     = ":" LITERAL ;

Starlette's path converters cannot express custom verbs (`/api/jobs:batch`,
`/api/queues/{priority}:pause`), so templates are matched here, against the raw
(still percent-encoded) path, and each captured value is decoded afterwards; that way an
encoded "/" or ":" inside a value cannot be mistaken for structure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

_SEGMENT = "[^/]+"
_SEGMENTS = ".+"


class TemplateError(ValueError):
    """The http rule's path is not a valid template."""


@dataclass(frozen=True)
class PathTemplate:
    """One compiled path template.

    `variables` holds the field paths in order of appearance; `openapi_path` is the
    template in OpenAPI form (`{field}` with any `=pattern` removed).
    """

    template: str
    regex: re.Pattern[str]
    variables: tuple[str, ...]
    openapi_path: str
    specificity: int

    def match(self, raw_path: str) -> dict[str, str] | None:
        """Return the decoded variable values if `raw_path` matches, else None."""
        found = self.regex.fullmatch(raw_path)
        if found is None:
            return None
        return {name: unquote(found.group(f"v{i}")) for i, name in enumerate(self.variables)}


def _split_top(text: str, separator: str) -> list[str]:
    """Split on `separator` outside braces."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                raise TemplateError(f"unbalanced '}}' in {text!r}")
        elif char == separator and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    if depth != 0:
        raise TemplateError(f"unbalanced '{{' in {text!r}")
    parts.append(text[start:])
    return parts


def _segments_regex(segments: list[str]) -> str:
    pieces = []
    for segment in segments:
        if segment == "*":
            pieces.append(_SEGMENT)
        elif segment == "**":
            pieces.append(_SEGMENTS)
        elif not segment or "{" in segment or "}" in segment:
            raise TemplateError(f"bad segment {segment!r}")
        else:
            pieces.append(re.escape(segment))
    return "/".join(pieces)


def parse_template(template: str) -> PathTemplate:
    """Compile an http rule path such as "/api/queues/{priority}:pause"."""
    if not template.startswith("/"):
        raise TemplateError(f"template {template!r} must start with '/'")
    body, verb = template[1:], ""
    tail = _split_top(body, "/")[-1]
    verb_parts = _split_top(tail, ":")
    if len(verb_parts) > 1:
        verb = verb_parts[-1]
        body = body[: len(body) - len(verb) - 1]
    regex, openapi, literal_chars = [""], [""], 0
    variables: list[str] = []
    for segment in _split_top(body, "/"):
        if segment.startswith("{") and segment.endswith("}"):
            name, _, pattern = segment[1:-1].partition("=")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", name):
                raise TemplateError(f"bad variable {segment!r} in {template!r}")
            inner = _segments_regex(pattern.split("/")) if pattern else _SEGMENT
            regex.append(f"(?P<v{len(variables)}>{inner})")
            openapi.append(f"{{{name}}}")
            variables.append(name)
        else:
            regex.append(_segments_regex([segment]))
            openapi.append(segment)
            literal_chars += len(segment) if segment not in ("*", "**") else 0
    suffix = f":{verb}" if verb else ""
    return PathTemplate(
        template=template,
        regex=re.compile("/".join(regex) + re.escape(suffix)),
        variables=tuple(variables),
        openapi_path="/".join(openapi) + suffix,
        # Literal text (the verb included) ranks overlapping templates: the more a template
        # spells out, the more specific it is.
        specificity=literal_chars + len(suffix),
    )
