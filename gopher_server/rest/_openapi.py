"""The OpenAPI 3.1 document of the REST surface, generated from the same bindings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from gopher_server.rest._decode import resolve
from gopher_server.rest._naming import (
    is_map,
    is_well_known,
    message_of,
    rest_fields,
    words_of,
)
from gopher_server.rest._routes import Binding
from gopher_server.rest._schemas import ERROR_SCHEMA, SchemaBook

OPENAPI_VERSION = "3.1.0"
JSON = "application/json"
# Error answers documented on every operation (the full table is in the description).
_ERRORS = {
    "400": "Bad input; `field` names the field at fault. Nothing was written.",
    "401": "Missing or invalid credentials.",
    "403": "The credentials' role does not allow this call.",
    "404": "No such resource (or no such route).",
    "409": "The resource is not in a state that allows this call.",
    "429": "A rate or batch limit was exceeded.",
    "503": "The broker is unavailable.",
    "504": "The broker did not answer in time.",
}
_BODY_ERRORS = {
    "413": "The body (or the job payload) is over the size limit.",
    "415": "The body is not application/json.",
}
_DESCRIPTION = """\
REST face of the gopher.v1 gRPC contract; every operation is one RPC.

Naming: enums are lowercase words ("high", "enqueued"); `payload_json` and `result_json`
appear as the JSON values `payload` and `result`; timestamps are RFC 3339 strings;
unknown fields are refused with 400.

Errors answer `{"error": {"code", "message", "field"}}`. gRPC status to HTTP:
INVALID_ARGUMENT 400, NOT_FOUND 404, FAILED_PRECONDITION 409, RESOURCE_EXHAUSTED 429 (413 for
payload size), UNAUTHENTICATED 401, PERMISSION_DENIED 403, UNAVAILABLE 503,
DEADLINE_EXCEEDED 504, others 500. An `Authorization` header is passed on to the broker.
"""


def _query_names(message: Descriptor, skip: frozenset[str], prefix: str = "") -> list[str]:
    """Dotted REST names of the leaf fields that can be sent in a query string."""
    names: list[str] = []
    for name, field in rest_fields(message).items():
        dotted = f"{prefix}{name}"
        if dotted in skip:
            continue
        if field.type == FieldDescriptor.TYPE_MESSAGE and not is_well_known(field):
            if not (field.is_repeated or is_map(field)) and dotted.count(".") < 3:
                names.extend(_query_names(message_of(field), skip, f"{dotted}."))
            continue
        names.append(dotted)
    return names


def _leaf(binding: Binding, dotted: str) -> FieldDescriptor:
    fields = resolve(binding.request_type, dotted)
    if fields is None:
        raise ValueError(f"{binding.method.full_name}: {dotted!r} names no leaf field")
    return fields[-1]


def _parameters(binding: Binding, book: SchemaBook) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []
    for name in binding.template.variables:
        schema = book.value_schema(_leaf(binding, name))
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    if binding.body == "*":
        return parameters  # every other field travels in the body
    skip = frozenset(binding.template.variables) | {binding.body}
    for name in _query_names(binding.request_type, skip):
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": False,
                "schema": book.field_schema(_leaf(binding, name)),
            }
        )
    return parameters


def _request_body(binding: Binding, book: SchemaBook) -> dict[str, Any] | None:
    if not binding.body:
        return None
    if binding.body == "*":
        path_fields = frozenset(v for v in binding.template.variables if "." not in v)
        if path_fields:
            schema = book.message_schema(binding.request_type, omit=path_fields)
        else:
            schema = book.ref(binding.request_type)
    else:
        schema = book.field_schema(rest_fields(binding.request_type)[binding.body])
    # Not required: an empty body is the empty message (defaults everywhere).
    return {"required": False, "content": {JSON: {"schema": schema}}}


def _response_schema(binding: Binding, book: SchemaBook) -> dict[str, Any]:
    output = binding.method.output_type
    if binding.response_body:
        field = output.fields_by_name[binding.response_body]
        return book.field_schema(field)
    return book.ref(output)


def _operation(binding: Binding, book: SchemaBook) -> dict[str, Any]:
    method = binding.method
    errors = {**_ERRORS, **(_BODY_ERRORS if binding.body else {})}
    responses: dict[str, Any] = {
        str(binding.success_status): {
            "description": "OK" if binding.success_status == 200 else "Created",
            "content": {JSON: {"schema": _response_schema(binding, book)}},
        }
    }
    for status in sorted(errors):
        responses[status] = {"$ref": f"#/components/responses/E{status}"}
    responses["default"] = {"$ref": "#/components/responses/Error"}
    operation: dict[str, Any] = {
        "operationId": method.name,
        "summary": words_of(method.name),
        "description": f"gRPC: `{method.full_name}`.",
        "tags": [method.containing_service.name],
        "parameters": _parameters(binding, book),
        "responses": responses,
    }
    body = _request_body(binding, book)
    if body is not None:
        operation["requestBody"] = body
    return operation


def build_openapi(bindings: Sequence[Binding], title: str = "Gopher REST API") -> dict[str, Any]:
    """Return the OpenAPI 3.1 document describing `bindings`."""
    book = SchemaBook()
    paths: dict[str, dict[str, Any]] = {}
    for binding in bindings:
        path_item = paths.setdefault(binding.template.openapi_path, {})
        path_item[binding.http_method.lower()] = _operation(binding, book)
    error_content = {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}
    responses = {
        f"E{status}": {"description": text, "content": error_content}
        for status, text in {**_ERRORS, **_BODY_ERRORS}.items()
    }
    responses["Error"] = {"description": "Any other error.", "content": error_content}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": "v1", "description": _DESCRIPTION},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {**dict(sorted(book.components.items())), "Error": ERROR_SCHEMA},
            "responses": responses,
        },
    }
