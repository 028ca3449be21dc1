"""How contract messages are named in REST JSON: the rules, applied generically.

The REST shim is `google.protobuf.json_format` (with `preserving_proto_field_name=True`,
so field names stay snake_case) plus these rules, which hold for every message, every
route, both directions, and the OpenAPI document:

1. **Enums are lowercase words.** A value's name loses its enum's prefix (the enum's name
   in UPPER_SNAKE_CASE plus "_") and is lowercased: `PRIORITY_HIGH` is "high",
   `JOB_STATE_ENQUEUED` is "enqueued", `OUTCOME_CODE_OK` is "ok". Input accepts only these
   words (in bodies, query strings and path segments such as `/api/queues/high:pause`).
   The zero value (`*_UNSPECIFIED`) means "not set": it is never accepted as a word, and on
   output a field holding it is left out.
2. **`X_json` string fields are JSON values named `X`.** `payload_json` is `"payload"`,
   `result_json` is `"result"`; the text is parsed on output (empty text is `null`) and
   serialised on input. The field `payload` must be a JSON object (or null).
3. **Responses name states as words too**, by rule 1: `SubmitJobResponse.status` is
   "enqueued" or "scheduled".
4. **Timestamps are RFC 3339 strings** (json_format's default), e.g. "2025-01-01T00:00:00Z".
5. **64-bit integers are JSON numbers**, not the strings of the proto3 JSON mapping (no
   count in this contract gets near 2**53); input also accepts a decimal string.
6. **Fields without presence are always present in responses** (zeros, `false`, `[]`,
   `{}`), so clients can rely on keys such as `"duplicate"` and `"depth"`; message fields
   that are unset, and enum fields at their zero value, are left out.
7. **Unknown fields are refused**: a body key or query parameter that is not a field (by
   these names; the camelCase and `_json` spellings are not accepted) is a 400 naming it.
8. **Advisory lists appear only when they say something**: an empty `warnings` list is
   left out (an exception to rule 6), so a submit that raises no concern answers the
   documented `{"job_id", "status"}` and a client can test for the key.
"""

from __future__ import annotations

import re
from functools import cache
from typing import cast

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

# Repeated fields left out of responses while empty (rule 8).
OMITTED_WHEN_EMPTY = frozenset({"warnings"})
# Suffix of string fields that carry JSON text (rule 2).
JSON_SUFFIX = "_json"
# REST names of JSON fields that must hold an object on input (rule 2).
OBJECT_JSON_FIELDS = frozenset({"payload"})
# Well-known types keep json_format's own JSON form (rule 4); their fields are not walked.
WELL_KNOWN_PREFIX = "google.protobuf."

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_JSON_SEGMENT = re.compile(r"_json(?=$|[.\[])")


def descriptor_of(message: Message) -> Descriptor:
    """The message's descriptor (typed: the stubs give upb's own class)."""
    return cast(Descriptor, message.DESCRIPTOR)


def message_of(field: FieldDescriptor) -> Descriptor:
    """The message type of a message field."""
    if field.message_type is None:
        raise TypeError(f"{field.full_name} is not a message field")
    return field.message_type


def enum_of(field: FieldDescriptor) -> EnumDescriptor:
    """The enum type of an enum field."""
    if field.enum_type is None:
        raise TypeError(f"{field.full_name} is not an enum field")
    return field.enum_type


def enum_prefix(enum: EnumDescriptor) -> str:
    """Return the value-name prefix of an enum: `JobState` gives "JOB_STATE_"."""
    return _CAMEL_BOUNDARY.sub("_", enum.name).upper() + "_"


@cache  # descriptors are immutable singletons, so caching on them is safe
def _words(enum: EnumDescriptor) -> tuple[dict[str, int], dict[int, str]]:
    prefix = enum_prefix(enum)
    by_word: dict[str, int] = {}
    for value in enum.values:
        if value.number == 0:
            continue  # rule 1: the zero value is "unset", never a word
        name = value.name[len(prefix) :] if value.name.startswith(prefix) else value.name
        by_word[name.lower()] = value.number
    return by_word, {number: word for word, number in by_word.items()}


def enum_words(enum: EnumDescriptor) -> dict[str, int]:
    """Map each accepted word of `enum` to its number (the zero value is excluded)."""
    return _words(enum)[0]


def enum_word(enum: EnumDescriptor, number: int) -> str | None:
    """Return the word for `number`, or None for the zero value or an unknown number."""
    return _words(enum)[1].get(number)


def is_json_field(field: FieldDescriptor) -> bool:
    """True for a singular string field whose name ends in `_json` (rule 2)."""
    return (
        field.name.endswith(JSON_SUFFIX)
        and field.type == FieldDescriptor.TYPE_STRING
        and not field.is_repeated
    )


def rest_name(field: FieldDescriptor) -> str:
    """Return the REST JSON name of a field (`payload_json` gives "payload")."""
    return field.name[: -len(JSON_SUFFIX)] if is_json_field(field) else field.name


@cache
def rest_fields(message: Descriptor) -> dict[str, FieldDescriptor]:
    """Map REST names to the fields of `message`, in declaration order."""
    return {rest_name(field): field for field in message.fields}


def rest_field_path(path: str) -> str:
    """Rename the `X_json` segments of a dotted field path from the broker (rule 2)."""
    return _JSON_SEGMENT.sub("", path)


def is_map(field: FieldDescriptor) -> bool:
    """True when the field is a protobuf map."""
    return (
        field.type == FieldDescriptor.TYPE_MESSAGE
        and field.message_type is not None
        and field.message_type.GetOptions().map_entry
    )


def is_well_known(field: FieldDescriptor) -> bool:
    """True when the field is a google.protobuf message (Timestamp, Duration, ...)."""
    return field.type == FieldDescriptor.TYPE_MESSAGE and message_of(field).full_name.startswith(
        WELL_KNOWN_PREFIX
    )


def words_of(text: str) -> str:
    """Turn a CamelCase RPC name into a sentence: "SubmitJob" gives "Submit job"."""
    parts = _CAMEL_BOUNDARY.sub(" ", text).split(" ")
    return " ".join([parts[0], *(part.lower() for part in parts[1:])])
