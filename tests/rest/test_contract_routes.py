"""Routes and the OpenAPI document come from the contract's http annotations alone."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2, descriptor_pool

from gopher_server.rest._errors import RestError
from gopher_server.rest._openapi import build_openapi
from gopher_server.rest._routes import Router, contract_modules, discover_bindings

# The http option, untyped: the stubs cannot name an extension's value type.
HTTP: Any = annotations_pb2.http

SURFACE = {
    ("POST", "/api/jobs"),
    ("POST", "/api/jobs:batch"),
    ("GET", "/api/jobs/{job_id}"),
    ("GET", "/api/jobs"),
    ("DELETE", "/api/jobs/{job_id}"),
    ("GET", "/api/queues"),
    ("POST", "/api/queues/{priority}:pause"),
    ("POST", "/api/queues/{priority}:resume"),
    ("GET", "/api/dlq"),
    ("POST", "/api/dlq/{job_id}:requeue"),
    ("POST", "/api/dlq:requeue"),
    ("DELETE", "/api/dlq"),
    ("GET", "/api/workers"),
    ("POST", "/api/schedules"),
    ("GET", "/api/schedules"),
    ("GET", "/api/schedules/{name}"),
    ("DELETE", "/api/schedules/{name}"),
    ("POST", "/api/schedules/{name}:pause"),
    ("POST", "/api/schedules/{name}:resume"),
    ("PUT", "/api/rate-limits/{type}"),
    ("GET", "/api/rate-limits"),
    ("DELETE", "/api/rate-limits/{type}"),
}


def test_every_annotated_unary_rpc_has_a_route_and_nothing_else_does() -> None:
    bindings = discover_bindings()
    # The surface is all there (the contract may have grown since).
    assert {(b.http_method, b.template.template) for b in bindings} >= SURFACE
    names = {b.method.name for b in bindings}
    assert not names & {"WatchJob", "StreamJobs", "AckJob", "NackJobs", "ExtendLease"}
    for module in contract_modules():
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                annotated = method.GetOptions().HasExtension(HTTP)
                streaming = method.client_streaming or method.server_streaming
                assert (method.name in names) == (annotated and not streaming), method.name


def test_creating_posts_answer_201() -> None:
    created = {b.method.name for b in discover_bindings() if b.success_status == 201}
    assert created == {"SubmitJob", "SubmitJobs", "SubmitGroup", "CreateSchedule"}


@pytest.mark.parametrize(
    ("method", "path", "rpc", "variables"),
    [
        ("POST", "/api/jobs", "SubmitJob", {}),
        ("POST", "/api/jobs:batch", "SubmitJobs", {}),
        ("GET", "/api/jobs/abc", "GetJob", {"job_id": "abc"}),
        ("POST", "/api/dlq/abc:requeue", "RequeueDeadJob", {"job_id": "abc"}),
        ("POST", "/api/dlq:requeue", "RequeueDeadJobs", {}),
        ("POST", "/api/schedules/n:pause", "PauseSchedule", {"name": "n"}),
        ("GET", "/api/schedules/n:pause", "GetSchedule", {"name": "n:pause"}),
        ("PUT", "/api/rate-limits/email", "SetRateLimit", {"type": "email"}),
    ],
)
def test_router_matches(method: str, path: str, rpc: str, variables: dict[str, str]) -> None:
    binding, found = Router(discover_bindings()).match(method, path)
    assert (binding.method.name, found) == (rpc, variables)


def test_router_refuses_wrong_methods_and_unknown_paths() -> None:
    router = Router(discover_bindings())
    with pytest.raises(RestError) as caught:
        router.match("PATCH", "/api/jobs/abc")
    assert caught.value.status == 405 and caught.value.headers == {"Allow": "GET, DELETE"}
    with pytest.raises(RestError) as caught:
        router.match("GET", "/api/nothing")
    assert caught.value.status == 404


def _dynamic_module() -> Any:
    """A contract file built at run time: one annotated RPC, one streaming, one bare."""
    proto = descriptor_pb2.FileDescriptorProto(
        name="resttest/v1/things.proto",
        package="resttest.v1",
        syntax="proto3",
        dependency=["google/api/annotations.proto"],
    )
    message = proto.message_type.add(name="Thing")
    message.field.add(name="name", number=1, type=9, label=1)
    message.field.add(name="detail_json", number=2, type=9, label=1)
    service = proto.service.add(name="ThingService")
    get = service.method.add(name="GetThing", input_type=".resttest.v1.Thing")
    get.output_type = ".resttest.v1.Thing"
    get.options.Extensions[HTTP].get = "/api/things/{name}:peek"
    service.method.add(
        name="WatchThing",
        input_type=".resttest.v1.Thing",
        output_type=".resttest.v1.Thing",
        server_streaming=True,
    ).options.Extensions[HTTP].get = "/api/things:watch"
    service.method.add(
        name="Bare", input_type=".resttest.v1.Thing", output_type=".resttest.v1.Thing"
    )
    pool = descriptor_pool.Default()
    try:
        file = pool.FindFileByName(proto.name)
    except KeyError:  # first use in this process
        pool.Add(proto)
        file = pool.FindFileByName(proto.name)
    return SimpleNamespace(DESCRIPTOR=file)


def test_a_new_annotated_rpc_becomes_a_route_with_no_handler() -> None:
    bindings = discover_bindings([_dynamic_module()])
    assert [(b.http_method, b.template.template) for b in bindings] == [
        ("GET", "/api/things/{name}:peek")
    ]
    doc = build_openapi(bindings)
    operation = doc["paths"]["/api/things/{name}:peek"]["get"]
    assert operation["operationId"] == "GetThing"
    assert [p["name"] for p in operation["parameters"]] == ["name", "detail"]


def test_openapi_document_describes_the_contract() -> None:
    doc = build_openapi(discover_bindings())
    assert doc["openapi"].startswith("3.1")
    schemas = doc["components"]["schemas"]
    submit = schemas["gopher.v1.SubmitJobRequest"]["properties"]
    assert submit["priority"] == {"type": "string", "enum": ["high", "normal", "low"]}
    assert submit["payload"]["type"] == ["object", "null"]
    assert "payload_json" not in submit
    assert schemas["gopher.v1.Job"]["properties"]["result"] == {"description": "Any JSON value."}
    assert schemas["gopher.v1.Job"]["properties"]["created_at"]["format"] == "date-time"
    assert set(schemas["Error"]["properties"]["error"]["required"]) == {"code", "message", "field"}
    pause = doc["paths"]["/api/queues/{priority}:pause"]["post"]
    assert pause["parameters"] == [
        {
            "name": "priority",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "enum": ["high", "normal", "low"]},
        }
    ]
    listing = doc["paths"]["/api/jobs"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {
        "state",
        "type",
        "priority",
        "page_size",
        "page_token",
        "id_prefix",
    }
    rate = doc["paths"]["/api/rate-limits/{type}"]["put"]["requestBody"]
    assert "type" not in rate["content"]["application/json"]["schema"]["properties"]
    assert "201" in doc["paths"]["/api/jobs"]["post"]["responses"]
