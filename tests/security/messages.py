"""Hypothesis strategies that build any request message from its descriptor, with
random, extreme and hostile field values (key-name tricks, glob characters, control
characters, huge numbers, NaN), for fuzzing every RPC."""

from __future__ import annotations

from typing import Any

import orjson
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from gopher.v1 import admin_service_pb2, job_service_pb2, worker_service_pb2
from hypothesis import strategies as st

# Strings aimed at key names and queues: another namespace's hash tag, key separators,
# glob patterns, protocol injection, path tricks, the empty string, oversize values.
HOSTILE = [
    "",
    " ",
    "*",
    "?",
    "[a-z]",
    "{gopher}:job:x",
    "}{",
    "{other}",
    "x}:ready:high:email",
    "email:*",
    "ready:high:email",
    "../../etc/passwd",
    "a\r\nFLUSHALL\r\n",
    "\x00",
    "\n",
    "é",
    "😀",
    "%2A",
    "${jndi:ldap://x}",
    "'; DROP TABLE jobs; --",
    "x" * 300,
]
NAME_CHARS = "abcxyz019_.:-"
INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def text() -> st.SearchStrategy[str]:
    """Any text: hostile samples, name-like strings, and arbitrary unicode."""
    return (
        st.sampled_from(HOSTILE)
        | st.text(NAME_CHARS, min_size=1, max_size=12)
        | st.text(max_size=40)
    )


def _json_text() -> st.SearchStrategy[str]:
    return JSON_VALUES.map(lambda v: orjson.dumps(v).decode()) | text()


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind in INT_RANGES:
        low, high = INT_RANGES[kind]
        return st.integers(low, high) | st.sampled_from([low, high, 0, -1, 1])
    if kind == FieldDescriptor.TYPE_DOUBLE:
        return st.floats(allow_nan=True, allow_infinity=True)
    if kind == FieldDescriptor.TYPE_FLOAT:
        return st.floats(width=32, allow_nan=True, allow_infinity=True)
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind == FieldDescriptor.TYPE_ENUM:
        return st.integers(-3, 12)  # open enums: unknown numbers go over the wire too
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=40)
    return _json_text() if field.name.endswith("_json") else text()


def _value(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    entry = field.message_type
    if entry is not None and entry.GetOptions().map_entry:
        key, value = entry.fields_by_name["key"], entry.fields_by_name["value"]
        return st.dictionaries(_scalar(key), _value(value, depth + 1), max_size=3)
    one = fields_of(entry, depth + 1) if entry is not None else _scalar(field)
    if field.is_repeated:
        return st.lists(one, max_size=3)
    return one


def fields_of(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """A dict of field name -> value for some of the message's fields."""
    if depth > 3:
        return st.just({})
    values = {f.name: _value(f, depth) for f in descriptor.fields}
    return st.fixed_dictionaries({}, optional=values)


def fill(message: Message, values: dict[str, Any]) -> Message:
    """Set `values` (from `fields_of`) on `message`; returns it."""
    for name, value in values.items():
        field = message.DESCRIPTOR.fields_by_name[name]
        target = getattr(message, name)
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            nested = entry.fields_by_name["value"].message_type is not None
            for key, item in value.items():
                if nested:
                    fill(target[key], item)
                else:
                    target[key] = item
        elif field.is_repeated:
            for item in value:
                fill(target.add(), item) if entry is not None else target.append(item)
        elif entry is not None:
            target.SetInParent()
            fill(target, value)
        else:
            setattr(message, name, value)
    return message


def request_of(method: MethodDescriptor) -> st.SearchStrategy[Message]:
    """Random requests for `method`."""
    cls = GetMessageClass(method.input_type)
    return fields_of(method.input_type).map(lambda values: fill(cls(), values))


def all_methods() -> list[MethodDescriptor]:
    """Every RPC of the Gopher contract."""
    return [
        method
        for module in (job_service_pb2, worker_service_pb2, admin_service_pb2)
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    ]


def path_of(method: MethodDescriptor) -> str:
    """The gRPC path, e.g. /gopher.v1.JobService/SubmitJob."""
    return f"/{method.containing_service.full_name}/{method.name}"
