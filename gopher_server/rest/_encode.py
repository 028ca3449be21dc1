"""Contract messages to REST JSON: json_format's output renamed by the rules in `_naming`."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from gopher_server.rest._naming import (
    OMITTED_WHEN_EMPTY,
    descriptor_of,
    enum_of,
    enum_word,
    is_json_field,
    is_map,
    is_well_known,
    message_of,
    rest_name,
)

_T = FieldDescriptor
_INT64_TYPES = frozenset(
    {_T.TYPE_INT64, _T.TYPE_UINT64, _T.TYPE_SINT64, _T.TYPE_FIXED64, _T.TYPE_SFIXED64}
)


def encode(message: Message) -> dict[str, Any]:
    """Render `message` as REST JSON (a dict ready for json.dumps)."""
    raw = json_format.MessageToDict(
        message,
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,  # rule 6
        unquote_int64_if_possible=True,  # rule 5
    )
    return _message(raw, descriptor_of(message))


def _message(raw: dict[str, Any], descriptor: Descriptor) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in raw.items():
        field = descriptor.fields_by_name[name]
        if field.type == FieldDescriptor.TYPE_ENUM and not field.is_repeated:
            word = _enum(field, value)
            if word is not None:  # rule 1: the zero value is left out
                out[name] = word
        elif is_json_field(field):
            out[rest_name(field)] = _parse_json(value)
        elif is_map(field):
            value_field = message_of(field).fields_by_name["value"]
            out[name] = {key: _value(value_field, item) for key, item in value.items()}
        elif field.is_repeated:
            if value or name not in OMITTED_WHEN_EMPTY:  # rule 8
                out[name] = [_value(field, item) for item in value]
        else:
            out[name] = _value(field, value)
    return out


def _value(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_ENUM:
        return _enum(field, value)
    if field.type == FieldDescriptor.TYPE_MESSAGE and not is_well_known(field):
        return _message(value, message_of(field))
    if field.type in _INT64_TYPES and isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)  # a uint64 beyond int64 is left quoted by json_format; unquote it
    return value


def _enum(field: FieldDescriptor, value: Any) -> Any:
    if isinstance(value, int):
        # json_format writes a number for a value this build of the contract does not
        # know (from a newer broker); pass it on rather than failing the whole answer.
        return enum_word(enum_of(field), value) or (value or None)
    number = enum_of(field).values_by_name[value].number
    return enum_word(enum_of(field), number)


def _parse_json(text: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text, parse_constant=_refuse)
    except ValueError:
        return text  # not JSON after all: show the text rather than hide it


def _refuse(name: str) -> None:
    # NaN and Infinity are not JSON; treating them as "not JSON" keeps the answer valid.
    raise ValueError(name)
