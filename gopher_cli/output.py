"""Stable JSON for scripts, and the small formatting helpers tables share.

JSON follows protobuf's JSON mapping (json_format, proto field names) with the same
changes the REST API makes, so a script can read either:

- enum values are lowercase words without their prefix: "high", "enqueued", "succeeded";
  a zero (`*_UNSPECIFIED`) enum means "not set" and is left out;
- 64-bit integers are JSON numbers, not strings;
- `*_json` text fields (payload_json, result_json) appear parsed, as `payload` / `result`
  (empty text is null);
- fields without presence are always present (0, false, "", [], {}); unset message fields
  (timestamps not reached yet) and unset optional fields are left out.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from collections.abc import Iterable
from typing import Any

import typer
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from rich.console import Console

from gopher_cli.durations import format_duration

_INT64_TYPES = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED64,
}
# Wide enough for a UUID plus a few columns when piped; a terminal uses its own width.
_PIPE_WIDTH = 200


def enum_word(enum_type: EnumDescriptor, name: str) -> str:
    """Turn "JOB_STATE_SUCCEEDED" of enum JobState into "succeeded"."""
    prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum_type.name).upper() + "_"
    return name.removeprefix(prefix).lower()


def _convert_value(field: FieldDescriptor, value: Any) -> Any:
    if field.enum_type is not None and isinstance(value, str):
        return enum_word(field.enum_type, value)
    if field.type in _INT64_TYPES and isinstance(value, str):
        return int(value)
    if field.message_type is not None and isinstance(value, dict):
        return _convert(field.message_type, value)
    return value


def _convert(descriptor: Descriptor, data: dict[str, Any]) -> dict[str, Any]:
    if descriptor.full_name.startswith("google.protobuf."):
        return data  # well-known types (Timestamp) already have their JSON form
    out: dict[str, Any] = {}
    for field in descriptor.fields:  # field-number order, so output order is stable
        key = field.name
        if key not in data:
            continue  # an unset message or optional field: left out, as the REST API does
        value = data[key]
        if key.endswith("_json") and field.type == FieldDescriptor.TYPE_STRING:
            out[key.removesuffix("_json")] = parse_json_text(value)
        elif field.enum_type is not None and value == field.enum_type.values[0].name:
            continue  # *_UNSPECIFIED means "not set"
        elif field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            out[key] = {k: _convert_value(value_field, v) for k, v in value.items()}
        elif isinstance(value, list):
            if value or key != "warnings":  # left out while empty, as the REST API does
                out[key] = [_convert_value(field, item) for item in value]
        else:
            out[key] = _convert_value(field, value)
    return out


def parse_json_text(text: str) -> Any:
    """Parse a `*_json` field for display: empty is null, and text that is not JSON is
    kept as a string rather than hidden."""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def to_json(message: Message) -> dict[str, Any]:
    """Convert a contract message to the CLI's stable JSON form (see module docstring).

    Fields without presence are included at their default value, so a script always
    finds keys such as "depth" and "duplicate".
    """
    data = json_format.MessageToDict(
        message,
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )
    descriptor: Descriptor = message.DESCRIPTOR  # type: ignore[assignment]  # upb or python
    return _convert(descriptor, data)


def print_json(data: Any) -> None:
    """Print JSON indented, with non-ASCII text kept readable."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def print_json_line(data: Any) -> None:
    """Print one compact JSON document per line (for streams such as `job watch`)."""
    typer.echo(json.dumps(data, ensure_ascii=False, separators=(",", ":")))


def print_messages(messages: Iterable[Message]) -> None:
    """Print messages as a JSON array."""
    print_json([to_json(message) for message in messages])


def console() -> Console:
    """A console on the current stdout (created per call so test runners can capture it)."""
    width = None if sys.stdout.isatty() else _PIPE_WIDTH
    return Console(file=sys.stdout, width=width, highlight=False, soft_wrap=False)


def timestamp(message: Any) -> dt.datetime | None:
    """A google.protobuf.Timestamp as an aware datetime, or None when unset (zero)."""
    if message.seconds == 0 and message.nanos == 0:
        return None
    value: dt.datetime = message.ToDatetime(tzinfo=dt.UTC)
    return value


def format_time(message: Any) -> str:
    """A Timestamp as "2025-01-31 09:00:00Z", or "-" when unset."""
    value = timestamp(message)
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%SZ")


def format_age(message: Any, now: dt.datetime) -> str:
    """How long before `now` a Timestamp was, as "42s ago"; "-" when unset."""
    value = timestamp(message)
    if value is None:
        return "-"
    delta_s = (now - value).total_seconds()
    if delta_s < 0:
        return "in " + format_duration(-delta_s)
    return format_duration(delta_s) + " ago"


def compact_json(text: str, limit: int = 60) -> str:
    """A `*_json` field on one line, shortened to `limit` characters for table cells."""
    value = parse_json_text(text)
    flat = text if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
