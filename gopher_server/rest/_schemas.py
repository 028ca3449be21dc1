"""JSON Schemas (OpenAPI 3.1 dialect) of contract messages, under the REST naming rules."""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from gopher_server.rest._naming import (
    OBJECT_JSON_FIELDS,
    enum_of,
    enum_words,
    is_json_field,
    is_map,
    message_of,
    rest_fields,
    rest_name,
)

_T = FieldDescriptor
_INT32 = {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1}
_UINT32 = {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
# 64-bit integers are numbers on output; input also takes decimal text (naming rule 5).
_INT64 = {
    "type": ["integer", "string"],
    "format": "int64",
    "pattern": "^-?[0-9]{1,20}$",
    "minimum": -(2**63),
    "maximum": 2**63 - 1,
}
_UINT64 = {**_INT64, "format": "uint64", "minimum": 0, "maximum": 2**64 - 1}
_INTEGERS: dict[int, dict[str, Any]] = {
    _T.TYPE_INT32: _INT32,
    _T.TYPE_SINT32: _INT32,
    _T.TYPE_SFIXED32: _INT32,
    _T.TYPE_INT64: _INT64,
    _T.TYPE_SINT64: _INT64,
    _T.TYPE_SFIXED64: _INT64,
    _T.TYPE_UINT32: _UINT32,
    _T.TYPE_FIXED32: _UINT32,
    _T.TYPE_UINT64: _UINT64,
    _T.TYPE_FIXED64: _UINT64,
}
_SCALARS: dict[int, dict[str, Any]] = {
    **_INTEGERS,
    _T.TYPE_STRING: {"type": "string"},
    _T.TYPE_BOOL: {"type": "boolean"},
    _T.TYPE_DOUBLE: {"type": "number", "format": "double"},
    _T.TYPE_FLOAT: {"type": "number", "format": "float"},
    _T.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
}
# json_format's JSON forms of the well-known types this contract may use.
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?s$"},
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Empty": {"type": "object", "additionalProperties": False},
}


def component_name(message: Descriptor) -> str:
    """Name of a message's schema under #/components/schemas."""
    return message.full_name


class SchemaBook:
    """Builds message schemas once each, into `components` (a components/schemas map)."""

    def __init__(self) -> None:
        self.components: dict[str, dict[str, Any]] = {}

    def ref(self, message: Descriptor) -> dict[str, Any]:
        """A $ref to the message's schema, building it (and what it uses) on first use."""
        name = component_name(message)
        if name not in self.components:
            self.components[name] = {}  # placeholder first: messages may refer to themselves
            self.components[name] = self.message_schema(message)
        return {"$ref": f"#/components/schemas/{name}"}

    def message_schema(
        self, message: Descriptor, omit: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        """The object schema of `message`, leaving out the REST fields named in `omit`."""
        properties = {
            name: self.field_schema(field)
            for name, field in rest_fields(message).items()
            if name not in omit
        }
        return {
            "type": "object",
            "title": message.name,
            "properties": properties,
            "additionalProperties": False,  # rule 7: unknown fields are refused
        }

    def field_schema(self, field: FieldDescriptor) -> dict[str, Any]:
        """The schema of one field's REST value (null means "not set" on input)."""
        if is_map(field):
            value = message_of(field).fields_by_name["value"]
            return {"type": "object", "additionalProperties": self.value_schema(value)}
        if field.is_repeated:
            return {"type": "array", "items": self.value_schema(field)}
        if is_json_field(field):
            if rest_name(field) in OBJECT_JSON_FIELDS:
                return {"type": ["object", "null"], "description": "A JSON object."}
            return {"description": "Any JSON value."}
        return self.value_schema(field)

    def value_schema(self, field: FieldDescriptor) -> dict[str, Any]:
        """The schema of one value of the field (one item, for a repeated field)."""
        if field.type == _T.TYPE_ENUM:
            return {"type": "string", "enum": list(enum_words(enum_of(field)))}
        if field.type == _T.TYPE_MESSAGE:
            known = _WELL_KNOWN.get(message_of(field).full_name)
            if known is not None:
                return dict(known)
            if message_of(field).full_name.startswith("google.protobuf."):
                return {}  # other well-known types: any JSON json_format accepts
            return self.ref(message_of(field))
        return dict(_SCALARS[field.type])


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Error",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "field"],
            "properties": {
                "code": {
                    "type": "string",
                    "description": 'Lowercase gRPC status name, e.g. "invalid_argument", or an '
                    'HTTP reason such as "method_not_allowed".',
                },
                "message": {"type": "string"},
                "field": {
                    "type": ["string", "null"],
                    "description": "REST name of the field at fault, if any.",
                },
            },
        }
    },
}
