"""REST input to contract messages: JSON bodies, query strings and path values.

Everything is checked against the message descriptor here, before any call is made, so a
bad request is refused with a 400 naming the field and nothing is written. The naming
rules are in `_naming`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Iterable
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from gopher_server.rest._errors import invalid
from gopher_server.rest._naming import (
    OBJECT_JSON_FIELDS,
    descriptor_of,
    enum_of,
    enum_words,
    is_json_field,
    is_map,
    is_well_known,
    message_of,
    rest_fields,
)

_T = FieldDescriptor
# Inclusive ranges of the integer field types, so an out-of-range number is a 400 naming
# the field instead of a ValueError from protobuf.
_INT_RANGES: dict[int, tuple[int, int]] = {
    **dict.fromkeys((_T.TYPE_INT32, _T.TYPE_SINT32, _T.TYPE_SFIXED32), (-(2**31), 2**31 - 1)),
    **dict.fromkeys((_T.TYPE_INT64, _T.TYPE_SINT64, _T.TYPE_SFIXED64), (-(2**63), 2**63 - 1)),
    **dict.fromkeys((_T.TYPE_UINT32, _T.TYPE_FIXED32), (0, 2**32 - 1)),
    **dict.fromkeys((_T.TYPE_UINT64, _T.TYPE_FIXED64), (0, 2**64 - 1)),
}
_INT64_TYPES = frozenset(
    {_T.TYPE_INT64, _T.TYPE_SINT64, _T.TYPE_SFIXED64, _T.TYPE_UINT64, _T.TYPE_FIXED64}
)
_FLOAT_TYPES = frozenset({_T.TYPE_DOUBLE, _T.TYPE_FLOAT})
_FLOAT32_MAX = 3.4028234663852886e38
_INTEGER_TEXT = re.compile(r"-?[0-9]{1,20}")


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def parse_json_body(body: bytes) -> Any:
    """Parse a request body as strict JSON (no NaN or Infinity); raise a 400 if malformed."""
    if not body.strip():
        return {}  # an empty body is an empty message, e.g. POST /api/dlq:requeue
    try:
        return json.loads(body, parse_constant=_refuse_constant, parse_float=_finite)
    except (ValueError, RecursionError) as error:
        raise invalid(None, f"request body is not valid JSON: {error}") from None


def join(path: str, key: str) -> str:
    """Extend a dotted field path with one key."""
    return f"{path}.{key}" if path else key


def decode(data: Any, message: Message, path: str = "") -> None:
    """Fill `message` from a JSON object using the REST names; raise RestError on bad input."""
    if not isinstance(data, dict):
        raise invalid(path or None, f"{path or 'request body'} must be a JSON object")
    fields = rest_fields(descriptor_of(message))
    for key, value in data.items():
        where = join(path, key)
        field = fields.get(key)
        if field is None:
            raise invalid(where, f"unknown field {where!r}")
        if value is None:
            if is_json_field(field):
                continue  # a JSON field may be null: "no value", so left unset
            # Elsewhere the schema promises a value; taking null as "unset" would accept
            # bodies the OpenAPI document calls invalid.
            raise invalid(where, f"{where} must not be null")
        _set(message, field, key, value, where)


def _set(message: Message, field: FieldDescriptor, key: str, value: Any, where: str) -> None:
    target = getattr(message, field.name)
    if is_map(field):
        if not isinstance(value, dict):
            raise invalid(where, f"{where} must be a JSON object")
        key_field = message_of(field).fields_by_name["key"]
        value_field = message_of(field).fields_by_name["value"]
        for item_key, item in value.items():
            item_where = f"{where}[{item_key}]"
            map_key = _scalar(key_field, item_key, item_where, map_key=True)
            if value_field.type == _T.TYPE_MESSAGE:
                _message(target[map_key], value_field, item, item_where)
            else:
                target[map_key] = _scalar(value_field, item, item_where)
    elif field.is_repeated:
        if not isinstance(value, list):
            raise invalid(where, f"{where} must be a JSON array")
        for index, item in enumerate(value):
            item_where = f"{where}[{index}]"
            if field.type == _T.TYPE_MESSAGE:
                _message(target.add(), field, item, item_where)
            else:
                target.append(_scalar(field, item, item_where))
    elif field.type == _T.TYPE_MESSAGE:
        _message(target, field, value, where)
    elif is_json_field(field):
        if key in OBJECT_JSON_FIELDS and not isinstance(value, dict):
            raise invalid(where, f"{where} must be a JSON object")
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        _assign(message, field, text, where)
    else:
        _assign(message, field, _scalar(field, value, where), where)


def _assign(message: Message, field: FieldDescriptor, value: Any, where: str) -> None:
    try:
        setattr(message, field.name, value)
    except (ValueError, TypeError) as error:  # e.g. a string that is not valid UTF-8
        raise invalid(where, f"{where} is not valid: {error}") from None


def _message(target: Message, field: FieldDescriptor, value: Any, where: str) -> None:
    if is_well_known(field):
        try:
            json_format.ParseDict(value, target)
        except (json_format.ParseError, ValueError, TypeError) as error:
            raise invalid(where, f"{where} is not valid: {error}") from None
        return
    decode(value, target, where)
    target.SetInParent()  # `{}` still marks the message as present


def _scalar(field: FieldDescriptor, value: Any, where: str, map_key: bool = False) -> Any:
    kind = field.type
    if kind == _T.TYPE_ENUM:
        words = enum_words(enum_of(field))
        if isinstance(value, str) and value in words:
            return words[value]
        raise invalid(where, f"{where} must be one of: {', '.join(words)}")
    if kind == _T.TYPE_STRING:
        if isinstance(value, str):
            return value
        raise invalid(where, f"{where} must be a string")
    if kind == _T.TYPE_BOOL:
        if map_key and value in ("true", "false"):
            return value == "true"
        if isinstance(value, bool):
            return value
        raise invalid(where, f"{where} must be true or false")
    if kind == _T.TYPE_BYTES:
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise invalid(where, f"{where} must be base64 text") from None
    if kind in _FLOAT_TYPES:
        return _float(field, value, where)
    return _integer(field, value, where)


def _float(field: FieldDescriptor, value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(where, f"{where} must be a number")
    if field.type == _T.TYPE_FLOAT and abs(value) > _FLOAT32_MAX:
        raise invalid(where, f"{where} is out of range")
    return float(value)


def _integer(field: FieldDescriptor, value: Any, where: str) -> int:
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and field.type in _INT64_TYPES and _INTEGER_TEXT.fullmatch(value):
        number = int(value)  # rule 5: proto3 JSON clients send 64-bit integers as text
    if number is None:
        raise invalid(where, f"{where} must be an integer")
    low, high = _INT_RANGES[field.type]
    if not low <= number <= high:
        raise invalid(where, f"{where} must be between {low} and {high}")
    return number


def resolve(message: Descriptor, dotted: str) -> list[FieldDescriptor] | None:
    """Resolve a dotted REST field path to its fields, or None if it names no leaf field.

    Only singular, non-well-known message fields can be stepped through.
    """
    fields: list[FieldDescriptor] = []
    current: Descriptor | None = message
    for part in dotted.split("."):
        if current is None:
            return None
        field = rest_fields(current).get(part)
        if field is None:
            return None
        fields.append(field)
        plain_message = field.type == _T.TYPE_MESSAGE and not is_well_known(field)
        if plain_message and (field.is_repeated or is_map(field)):
            return None  # lists of messages and maps have no query-string form
        current = message_of(field) if plain_message else None
    if current is not None:
        return None  # a message is not a leaf
    return fields


def text_value(field: FieldDescriptor, text: str, where: str) -> Any:
    """Turn one query-string or path value into the JSON value `decode` expects."""
    kind = field.type
    if is_json_field(field):
        return parse_json_body(text.encode())
    if kind == _T.TYPE_BOOL:
        if text in ("true", "false"):
            return text == "true"
        raise invalid(where, f"{where} must be true or false")
    if kind in _FLOAT_TYPES:
        try:
            return _finite(text)
        except ValueError:
            raise invalid(where, f"{where} must be a number") from None
    if kind in _INT_RANGES:
        if _INTEGER_TEXT.fullmatch(text):
            return int(text)  # range-checked by _integer
        raise invalid(where, f"{where} must be an integer")
    return text


def params_to_json(
    message: Descriptor, params: Iterable[tuple[str, str]], source: str = "query parameter"
) -> dict[str, Any]:
    """Nest (dotted name, text) pairs into a JSON object for `decode`; 400 on unknown names."""
    data: dict[str, Any] = {}
    for name, text in params:
        fields = resolve(message, name)
        if fields is None:
            raise invalid(name, f"unknown {source} {name!r}")
        leaf = fields[-1]
        node = data
        for part in name.split(".")[:-1]:
            node = node.setdefault(part, {})
        key = name.split(".")[-1]
        value = text_value(leaf, text, name)
        if leaf.is_repeated:
            node.setdefault(key, []).append(value)
        elif key in node:
            raise invalid(name, f"{source} {name!r} is given more than once")
        else:
            node[key] = value
    return data
